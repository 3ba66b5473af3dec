"""Benchmark: a full readiness recompute for every partner against one hand-written SQL
aggregate computing the same coverage numbers, in the same run.

The requirement (issue 6): "builds 5,000 partners, 200,000 people and 2,000,000 completion
and certificate rows in PostgreSQL, and times a full readiness recompute for all partners
against a single hand-written SQL aggregate computing the same coverage numbers, in the
same run. Target: no more than 2x the hand-written aggregate."

1. Drops and recreates a scratch database (default `lms_bench_readiness`), migrates it and
   syncs the shipped content (programs, tracks, journeys, the rubric and tier rules).
2. Builds the data (the base of the shared dataset, benchmarks/dataset.py) in the server
   with INSERT ... SELECT over generate_series (no rows travel from Python): partners on the
   four tiers, staff with job roles (3% deactivated), the three required tracks assigned
   to everyone, track completions over three versions of each track, certificate chains
   (earlier cycles superseded; the last one active, expiring, expired or revoked), and
   onboarding: every partner's own journey plus the journeys of the quarter of the staff
   who joined in the last year. Then VACUUM ANALYZE.
3. Times, alternately and best of --runs each:
   - the app: `lms.readiness.service.recompute()` for all partners and the commit, as the
     periodic job runs it (gather, score, gaps, the fall date and its sentence, the
     forecast's horizons and the people the readiness page names, upsert of every score);
   - the aggregate: one SQL statement giving, per partner, certification coverage
     (holders per certification rule of its tier, min(1, holders / required), averaged),
     certification currency (live certificates not expiring within the rubric's window /
     live certificates) and required-track completion (completed / assigned).
4. Checks that the three values agree for every partner (to 1e-9), prints both timings,
   the ratio and the data build time, and exits 1 if the ratio is over --target (2.0).
5. Times, apart from the ratio, what the readiness page does when it is opened
   (`service.explained`: the stored row with its explanation, the staff behind each gap
   and the 30/60/90-day forecast, which the recompute now stores) for a sample of partners.

    .venv/bin/python benchmarks/readiness_recompute.py                  # full size
    .venv/bin/python benchmarks/readiness_recompute.py --scale 0.1      # a tenth, quicker
    .venv/bin/python benchmarks/readiness_recompute.py --reuse --keep   # time again only

PostgreSQL must accept `postgres` without a password. The database name must contain
"bench"; it is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from benchmarks import dataset  # noqa: E402
from benchmarks.dataset import CONTENT, log, recreate  # noqa: E402
from lms import create_app  # noqa: E402
from lms.core import clock  # noqa: E402
from lms.core.jobs import commit  # noqa: E402
from lms.extensions import db  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/lms_bench_readiness"
TARGET = 2.0


def build(app, scale: float, now: datetime) -> float:
    # The shared dataset's base, without what only the page benchmarks need: the same data
    # this benchmark has always timed.
    return dataset.build_base(app, scale, now)


def sizes() -> dict[str, int]:
    counts = {}
    for table in ("organisation", "user_account", "assignment", "track_completion",
                  "certificate", "journey", "journey_milestone"):
        counts[table] = db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    return counts


# --- the two things timed ----------------------------------------------------------------------

def aggregate_sql(tiers, window_days: int) -> str:
    """One statement: the coverage numbers per partner, straight from the tables."""
    rules = []
    for code, rule in tiers.rules.items():
        for number, requirement in enumerate(rule.certifications):
            roles = "ARRAY[" + ", ".join(f"'{r}'" for r in requirement.job_roles) + "]::text[]" \
                if requirement.job_roles else "NULL::text[]"
            rules.append(f"('{code}', {number}, '{requirement.program}', {requirement.count}, "
                         f"{roles})")
    return f"""
    WITH staff AS (
        SELECT id, organisation_id, job_role FROM user_account
        WHERE active AND role IN ('learner', 'partner_admin') AND organisation_id IS NOT NULL),
    live AS (
        SELECT s.organisation_id, s.id AS user_id, s.job_role, p.code, c.expires_at
        FROM certificate c JOIN staff s ON s.id = c.user_id
        JOIN certification_program p ON p.id = c.program_id
        WHERE c.revoked_at IS NULL AND c.superseded_at IS NULL AND c.expires_at > :now
          AND c.issued_at <= :now),
    rules (tier, number, program, required, roles) AS (VALUES {", ".join(rules)}),
    holders AS (
        SELECT o.id AS organisation_id, r.number, r.required,
               count(DISTINCT l.user_id) AS held
        FROM organisation o JOIN rules r ON r.tier = o.tier
        LEFT JOIN live l ON l.organisation_id = o.id AND l.code = r.program
             AND (r.roles IS NULL OR l.job_role = ANY (r.roles))
        GROUP BY o.id, r.number, r.required),
    coverage AS (
        SELECT organisation_id, avg(least(1.0, held::numeric / required)) AS value
        FROM holders GROUP BY organisation_id),
    currency AS (
        SELECT organisation_id, count(*) FILTER (
            WHERE expires_at > :now + make_interval(days => {window_days}))::numeric
            / count(*) AS value
        FROM live GROUP BY organisation_id),
    required AS (
        SELECT a.user_id, a.track_id, s.organisation_id
        FROM assignment a JOIN staff s ON s.id = a.user_id
        JOIN track t ON t.id = a.track_id AND t.required AND t.archived_at IS NULL),
    assigned AS (SELECT organisation_id, count(*) AS n FROM required GROUP BY organisation_id),
    completed AS (
        SELECT organisation_id, count(*) AS n FROM required r
        WHERE EXISTS (SELECT 1 FROM track_completion d
                      WHERE d.user_id = r.user_id AND d.track_id = r.track_id)
        GROUP BY organisation_id),
    tracks AS (
        SELECT a.organisation_id, coalesce(c.n, 0)::numeric / a.n AS value
        FROM assigned a LEFT JOIN completed c ON c.organisation_id = a.organisation_id)
    SELECT o.id, coalesce(cv.value, 1), coalesce(cu.value, 1), coalesce(tr.value, 1)
    FROM organisation o LEFT JOIN coverage cv ON cv.organisation_id = o.id
    LEFT JOIN currency cu ON cu.organisation_id = o.id
    LEFT JOIN tracks tr ON tr.organisation_id = o.id ORDER BY o.id"""


def time_app(now: datetime) -> tuple[float, int, dict[str, float]]:
    """One recompute of every partner and its commit, with where the time went: SQL (every
    statement's execution and fetch, on the database's side and the wire), the rest of
    the gather (rows into facts), scoring (score, gaps, fall date and sentence, the rows to
    store, freeing the facts, the commit) and
    the store (building and sending the upsert)."""
    from lms.readiness import gather, service

    phases = {"gather": 0.0, "store": 0.0, "gather sql": 0.0, "store sql": 0.0, "sql": 0.0}
    current = ["sql"]

    def timed(name, function):
        def wrapper(*args, **kwargs):
            current[0] = f"{name} sql"
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                phases[name] += time.perf_counter() - started
                current[0] = "sql"
        return wrapper

    def before(connection, *_):
        connection.info["bench_started"] = time.perf_counter()

    def after(connection, *_):
        phases[current[0]] += time.perf_counter() - connection.info.pop("bench_started")

    real_gather, real_upsert = gather.gather, service._upsert
    gather.gather, service._upsert = timed("gather", real_gather), timed("store", real_upsert)
    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    clock.set_now(now)
    try:
        started = time.perf_counter()
        count = service.recompute()
        commit()
        seconds = time.perf_counter() - started
    finally:
        gather.gather, service._upsert = real_gather, real_upsert
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
    return seconds, count, phases


def time_aggregate(statement: str, now: datetime) -> tuple[float, list]:
    # The same session settings as the app's gather gives its own transaction (no JIT,
    # work_mem to sort and hash without spilling): the two differ only in what they run.
    from lms.readiness.gather import WORK_MEM

    db.session.execute(text("SET LOCAL jit = off"))
    db.session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    started = time.perf_counter()
    rows = db.session.execute(text(statement), {"now": now}).all()
    db.session.rollback()
    return time.perf_counter() - started, rows


def time_pages(count: int = 25) -> list[float]:
    """What the readiness page reads when opened, for `count` partners spread over the ids:
    the stored score with its explanation (the gaps with their staff, the 30/60/90-day
    forecast in both scenarios) and the display names (`service.explained`). Warm: the
    first call, which compiles the statements, is not counted."""
    from lms.readiness import service

    ids = db.session.execute(text("SELECT id FROM organisation ORDER BY id")).scalars().all()
    sample = ids[::max(1, len(ids) // count)][:count]
    service.explained(sample[0])
    db.session.rollback()
    seconds = []
    for organisation_id in sample:
        started = time.perf_counter()
        found = service.explained(organisation_id)
        seconds.append(time.perf_counter() - started)
        assert found is not None and len(found["forecast"]["horizons"]) == 3
        db.session.rollback()
    return seconds


def check(rows: list) -> int:
    """Partners whose stored components differ from the aggregate's numbers."""
    from lms.readiness.models import ReadinessScore

    stored = {organisation_id: {c["key"]: c["value"] for c in components}
              for organisation_id, components in db.session.execute(
                  db.select(ReadinessScore.organisation_id, ReadinessScore.components))}
    wrong = 0
    for organisation_id, coverage, currency, tracks in rows:
        mine = stored.get(organisation_id, {})
        expected = {"certification_coverage": coverage, "certification_currency": currency,
                    "track_completion": tracks}
        if any(abs(mine.get(key, -1) - float(value)) > 1e-9 for key, value in expected.items()):
            wrong += 1
            if wrong <= 3:
                log(f"  partner {organisation_id}: app {mine}, aggregate {expected}")
    return wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size")
    parser.add_argument("--runs", type=int, default=3, help="timings of each, best kept")
    parser.add_argument("--target", type=float, default=TARGET)
    parser.add_argument("--reuse", action="store_true", help="time an already built database")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--profile", action="store_true", help="cProfile one app recompute")
    args = parser.parse_args(argv)
    if "bench" not in (make_url(args.database_url).database or ""):
        sys.exit("refusing a database whose name does not contain 'bench'")
    now = datetime.now(UTC).replace(microsecond=0)
    instance = Path(tempfile.mkdtemp(prefix="lms-bench-readiness-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "SECRET_KEY": "bench",
                      "INSTANCE_PATH": str(instance), "CONTENT_PATH": str(CONTENT)})
    built = None
    if not args.reuse:
        recreate(args.database_url)
        log("building the data:")
        built = build(app, args.scale, now)
    try:
        with app.app_context():
            counts = sizes()
            from lms.readiness import service

            _, rubric, tiers = service.rules()
            statement = aggregate_sql(tiers, rubric.expiring_within_days)
            apps, aggregates = [], []
            breakdowns = []
            for _ in range(args.runs):  # alternate, so load on the machine weighs on both
                seconds, scored, phases = time_app(now)
                apps.append(seconds)
                breakdowns.append(phases)
                log(f"  app recompute: {seconds:.2f} s ({scored:,} partners)")
                seconds, rows = time_aggregate(statement, now)
                aggregates.append(seconds)
                log(f"  hand-written aggregate: {seconds:.2f} s ({len(rows):,} rows)")
            wrong = check(rows)
            pages = sorted(time_pages())
            if args.profile:
                profile = cProfile.Profile()
                profile.runcall(time_app, now)
                pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    finally:
        if not args.keep:
            recreate(args.database_url, drop_only=True)
    ratio = min(apps) / min(aggregates)
    # Each round runs both back to back, so a busy moment on the machine weighs on both:
    # the median of the rounds' ratios moves less than the ratio of the best times.
    rounds = sorted(app / aggregate for app, aggregate in zip(apps, aggregates, strict=True))
    median = rounds[len(rounds) // 2] if len(rounds) % 2 else \
        (rounds[len(rounds) // 2 - 1] + rounds[len(rounds) // 2]) / 2
    print(f"data: {counts['organisation']:,} partners, {counts['user_account']:,} people, "
          f"{counts['track_completion']:,} track completions + {counts['certificate']:,} "
          f"certificates = {counts['track_completion'] + counts['certificate']:,} rows; "
          f"{counts['assignment']:,} assignments, {counts['journey']:,} journeys, "
          f"{counts['journey_milestone']:,} milestones")
    if built is not None:
        print(f"data build (migrate, sync, INSERT ... SELECT, VACUUM ANALYZE): {built:.1f} s")
    print(f"app recompute (gather + score + gaps + fall date + store + commit), best of "
          f"{args.runs}: {min(apps):.2f} s (all: {', '.join(f'{s:.2f}' for s in apps)})")
    best = breakdowns[apps.index(min(apps))]
    print(f"  of which: gather {best['gather']:.2f} s (SQL {best['gather sql']:.2f} s, rows "
          f"into facts {best['gather'] - best['gather sql']:.2f} s); scoring, gaps and "
          f"fall dates {min(apps) - best['gather'] - best['store'] - best['sql']:.2f} s; "
          f"store {best['store']:.2f} s (SQL {best['store sql']:.2f} s); other SQL and the "
          f"commit {best['sql']:.2f} s")
    print(f"hand-written aggregate, best of {args.runs}: {min(aggregates):.2f} s "
          f"(all: {', '.join(f'{s:.2f}' for s in aggregates)})")
    print(f"ratio: {ratio:.2f}x best to best, {median:.2f}x median of the rounds' ratios "
          f"(target <= {args.target:g}x); partners whose numbers differ: {wrong}")
    print(f"readiness page's own work when opened (service.explained, not in the ratio), "
          f"{len(pages)} partners: median {1000 * pages[len(pages) // 2]:.0f} ms, slowest "
          f"{1000 * pages[-1]:.0f} ms")
    return 0 if ratio <= args.target and wrong == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
