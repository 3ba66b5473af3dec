"""Benchmark: a full readiness recompute for every partner against one hand-written SQL
aggregate computing the same coverage numbers, in the same run.

The requirement (issue 6): "builds 5,000 partners, 200,000 people and 2,000,000 completion
and certificate rows in PostgreSQL, and times a full readiness recompute for all partners
against a single hand-written SQL aggregate computing the same coverage numbers, in the
same run. Target: no more than 2x the hand-written aggregate."

1. Drops and recreates a scratch database (default `lms_bench_readiness`), migrates it and
   syncs the shipped content (programs, tracks, journeys, the rubric and tier rules).
2. Builds the data in the server with INSERT ... SELECT over generate_series (no rows
   travel from Python): partners on the four tiers, staff with job roles (3% deactivated),
   the three required tracks assigned to everyone, track completions over three versions
   of each track, certificate chains (earlier cycles superseded; the last one active,
   expiring, expired or revoked), and onboarding: every partner's own journey plus the
   journeys of the quarter of the staff who joined in the last year. Then VACUUM ANALYZE.
3. Times, alternately and best of --runs each:
   - the app: `lms.readiness.service.recompute()` for all partners and the commit, as the
     periodic job runs it (gather, score, gaps, the fall date and its sentence, upsert of
     every score);
   - the aggregate: one SQL statement giving, per partner, certification coverage
     (holders per certification rule of its tier, min(1, holders / required), averaged),
     certification currency (live certificates not expiring within the rubric's window /
     live certificates) and required-track completion (completed / assigned).
4. Checks that the three values agree for every partner (to 1e-9), prints both timings,
   the ratio and the data build time, and exits 1 if the ratio is over --target (2.0).
5. Times, apart from the ratio, what the readiness page now works out when it is opened
   (`service.explained`: the staff behind each gap and the 30/60/90-day forecast, from
   one partner's facts) for a sample of partners.

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

import flask_migrate  # noqa: E402
from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from lms import create_app  # noqa: E402
from lms.core import clock  # noqa: E402
from lms.core.jobs import commit  # noqa: E402
from lms.extensions import db  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/lms_bench_readiness"
CONTENT = PROJECT_ROOT / "content"
TARGET = 2.0
PARTNERS, PEOPLE = 5_000, 200_000
# Tiers by share of partners, lowest first (the shipped program.yml's four tiers).
TIER_SHARES = (("registered", 40), ("silver", 30), ("gold", 20), ("platinum", 10))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def admin(url: str):
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def recreate(url: str, *, drop_only: bool = False) -> None:
    name = make_url(url).database
    engine = admin(url)
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()


# --- building the data ------------------------------------------------------------------------

def tier_case(column: str) -> str:
    """A CASE giving a tier from a number 0-99, by TIER_SHARES."""
    parts, upto = [], 0
    for code, share in TIER_SHARES:
        upto += share
        parts.append(f"WHEN {column} < {upto} THEN '{code}'")
    return "CASE " + " ".join(parts) + " END"


# Deterministic pseudo-random 0-99 from integers (no random(): runs must build the same data).
def h(*terms: str) -> str:
    mixed = " + ".join(f"({term})::bigint * {prime}" for term, prime in
                       zip(terms, (2654435761, 40503, 2246822519, 3266489917), strict=False))
    return f"(abs(hashint8({mixed})) % 100)"


BUILD = [
    ("organisations", """
        INSERT INTO organisation (id, name, name_key, partner_type, tier, region, status,
                                  created_at, updated_at)
        SELECT g, 'Bench Partner ' || lpad(g::text, 5, '0'),
               'bench partner ' || lpad(g::text, 5, '0'),
               (ARRAY['reseller', 'si', 'isv', 'msp'])[1 + g % 4], {tier},
               (ARRAY['emea', 'amer', 'apac'])[1 + g % 3], 'active', :now, :now
        FROM generate_series(1, :partners) g"""),
    # Staff: partner sizes vary from about 5 to 75 (hashing people onto partners); the
    # first person of each partner is its admin.
    ("people", """
        INSERT INTO user_account (id, email, full_name, role, organisation_id, job_role,
                                  locale, active, created_at)
        SELECT g, 'person' || g || '@bench.example', 'Person ' || g,
               CASE WHEN g <= :partners THEN 'partner_admin' ELSE 'learner' END,
               CASE WHEN g <= :partners THEN g
                    ELSE 1 + (abs(hashint8(g::bigint * 2654435761)) % :partners) END,
               (ARRAY['sales', 'presales', 'technical', 'support'])[1 + g % 4], 'en',
               {active}, :now - make_interval(days => (g % 1000))
        FROM generate_series(1, :people) g"""),
    ("assignments (required tracks)", """
        INSERT INTO assignment (user_id, track_id, by_rule, manual, assigned_at)
        SELECT u.id, t.id, true, false, u.created_at
        FROM user_account u CROSS JOIN track t
        WHERE t.required AND u.organisation_id IS NOT NULL"""),
    # Two older versions of every track, so completions spread over three versions.
    ("older track versions", """
        INSERT INTO track_version (track_id, number, title, summary, estimated_minutes,
                                   content_hash, published_at)
        SELECT v.track_id, v.number + n, v.title, v.summary, v.estimated_minutes,
               left(v.content_hash, 60) || '-' || n, :now - make_interval(days => 400 * n)
        FROM track_version v CROSS JOIN generate_series(1, 2) n"""),
    ("track completions", """
        INSERT INTO track_completion (user_id, track_id, track_version_id, completed_at,
                                      carried_forward)
        SELECT u.id, v.track_id, v.id, :now - make_interval(days => (u.id + v.id) % 700),
               false
        FROM user_account u CROSS JOIN track_version v
        JOIN track t ON t.id = v.track_id
        WHERE u.organisation_id IS NOT NULL
          AND {chance} < CASE WHEN v.id = t.current_version_id THEN {current_p}
                              ELSE {older_p} END"""),
    # Certificate chains: for each person and program, 0 to 4 cycles; every cycle but the
    # last superseded by the next, the last one issued 0 to validity + 4 months ago
    # (so some have expired), 3% of them revoked.
    ("certificates", """
        INSERT INTO certificate (public_id, user_id, organisation_id, program_id,
            program_version_id, cycle, holder_name, organisation_name, program_code,
            program_name, program_level, program_version_number, issuer, issued_at,
            expires_at, renewal_opens_at, grace_ends_at, evidence, superseded_at,
            revoked_at, revoked_reason)
        SELECT 'BENCH-' || c.user_id || '-' || c.program_id || '-' || c.cycle,
               c.user_id, c.organisation_id, c.program_id, c.version_id, c.cycle,
               'Person ' || c.user_id, '', c.code, c.name, c.level, 1, 'Bench',
               c.issued_at, c.issued_at + c.validity,
               c.issued_at + c.validity - make_interval(days => c.window_days),
               c.issued_at + c.validity + make_interval(days => c.grace_days), '[]',
               CASE WHEN c.cycle < c.cycles THEN c.issued_at + c.validity
                    - make_interval(days => c.window_days / 2) END,
               CASE WHEN c.cycle = c.cycles AND c.revoke THEN c.issued_at + interval '10 days'
                    END,
               CASE WHEN c.cycle = c.cycles AND c.revoke THEN 'Benchmark' END
        FROM (
            SELECT u.id AS user_id, u.organisation_id, p.id AS program_id,
                   v.id AS version_id, p.code, v.name, v.level,
                   make_interval(months => v.validity_months) AS validity,
                   v.renewal_window_days AS window_days, v.grace_days, s.cycle, k.cycles,
                   {revoke} AS revoke,
                   :now - make_interval(days => ({age} * (v.validity_months * 30 + 120)) / 100)
                        - make_interval(months => v.validity_months * (k.cycles - s.cycle))
                        + make_interval(days => (k.cycles - s.cycle) * v.renewal_window_days / 2)
                     AS issued_at
            FROM user_account u
            CROSS JOIN certification_program p
            JOIN certification_program_version v ON v.id = p.current_version_id
            CROSS JOIN LATERAL (SELECT CASE WHEN {held} >= {hold_p} THEN 0
                                            WHEN {length} < 55 THEN 1 WHEN {length} < 85 THEN 2
                                            WHEN {length} < 95 THEN 3 ELSE 4 END AS cycles) k
            CROSS JOIN LATERAL generate_series(1, k.cycles) s(cycle)
            WHERE u.organisation_id IS NOT NULL) c
        WHERE c.issued_at <= :now"""),
    ("organisation journeys", """
        INSERT INTO journey (template_id, template_version_id, scope, subject_key,
            organisation_id, started_at, current_stage, stage_count, last_progress_at,
            stalls_at)
        SELECT t.id, t.current_version_id, 'organisation', 'organisation:' || o.id, o.id,
               :now - make_interval(days => 20 + o.id % 400), 0, 1, :now, :now
        FROM organisation o CROSS JOIN journey_template t
        JOIN journey_template_version v ON v.id = t.current_version_id
        WHERE v.scope = 'organisation'"""),
    # People who joined in the last 250 days (a quarter of them) are on their journey.
    ("person journeys", """
        INSERT INTO journey (template_id, template_version_id, scope, subject_key,
            organisation_id, user_id, started_at, current_stage, stage_count,
            last_progress_at, stalls_at)
        SELECT t.id, t.current_version_id, 'person', 'person:' || u.id, u.organisation_id,
               u.id, u.created_at, 0, 1, :now, :now
        FROM user_account u
        JOIN journey_template_version v ON v.scope = 'person'
             AND v.audience -> 'job_roles' ->> 0 = u.job_role
        JOIN journey_template t ON t.current_version_id = v.id
        WHERE u.organisation_id IS NOT NULL AND u.created_at > :now - interval '250 days'"""),
    # Milestones from the template's stages; those due are mostly done, a fifth of them late.
    ("journey milestones", """
        INSERT INTO journey_milestone (journey_id, key, stage_index, stage_name, position,
            title, kind, owner, evidence, instructions, due_at, done_at)
        SELECT j.id, m.value ->> 'key', s.ordinality - 1, s.value ->> 'name',
               m.ordinality - 1, m.value ->> 'title', 'manual', 'partner_admin', 'none', '',
               j.started_at + make_interval(days => (m.value ->> 'due_days')::int),
               CASE WHEN {done} < 75 THEN j.started_at + make_interval(
                   days => (m.value ->> 'due_days')::int + CASE WHEN {done} < 15 THEN 5
                                                                ELSE -1 END) END
        FROM journey j
        JOIN journey_template_version v ON v.id = j.template_version_id
        CROSS JOIN LATERAL jsonb_array_elements(v.stages::jsonb) WITH ORDINALITY s
        CROSS JOIN LATERAL jsonb_array_elements(s.value -> 'milestones') WITH ORDINALITY m"""),
    ("done milestones in the past only", """
        UPDATE journey_milestone SET done_at = NULL WHERE done_at > :now"""),
]

FILLS = {
    "tier": tier_case(h("g")), "active": f"{h('g', '7')} >= 3",
    "chance": h("u.id", "v.id"), "current_p": "61", "older_p": "40",
    "held": h("u.id", "p.id", "11"), "hold_p": "60", "length": h("u.id", "p.id", "13"),
    "age": h("u.id", "p.id", "17"), "revoke": f"{h('u.id', 'p.id', '19')} < 3",
    "done": h("j.id", "m.ordinality", "s.ordinality"),
}


def build(app, scale: float, now: datetime) -> float:
    started = time.perf_counter()
    with app.app_context():
        flask_migrate.upgrade()
        from lms.content import sync_all

        sync_all(str(CONTENT))
        commit()
        parameters = {"now": now, "partners": max(4, int(PARTNERS * scale)),
                      "people": max(40, int(PEOPLE * scale))}
        # The planner overestimates these generated rows and would spend seconds compiling
        # (JIT) what runs in milliseconds.
        db.session.execute(text("SET jit = off"))
        for label, statement in BUILD:
            step = time.perf_counter()
            result = db.session.execute(text(statement.format(**FILLS)), parameters)
            db.session.commit()
            log(f"  {label}: {result.rowcount:,} rows in {time.perf_counter() - step:.1f} s")
        for table in ("organisation", "user_account"):
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT max(id) FROM {table}))"))
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    return time.perf_counter() - started


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
    """What the readiness page works out when opened, for `count` partners spread over the
    ids: the stored score, one partner's facts with detail, the gaps with their staff and
    the 30/60/90-day forecast in both scenarios (`service.explained`). Warm: the first
    call, which compiles the statements, is not counted."""
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
