"""The benchmark dataset "L", shared by the benchmarks: 5,000 partners, 200,000 people and
about 2,000,000 track completion and certificate rows on PostgreSQL, built in the server with
INSERT ... SELECT over generate_series (no rows travel from Python).

Two layers:

- **The base** (`build_base`, what `readiness_recompute.py` times): partners on the four
  tiers, staff with job roles (3% deactivated), the required tracks assigned to everyone,
  track completions over three versions of each track, certificate chains and onboarding
  journeys. Every choice comes from a hash of ids, so every build is the same.
- **What pages need on top** (`build`, for the page and learner benchmarks): one more
  partner with 3,000 staff (built with the base, so it gets the same assignments,
  completions, certificates and journeys), lesson and course completions consistent with
  the track completions, vendor staff, a known password for a few named logins and for
  1,000 learners (`learnerN@bench.example`), readiness scores and scorecard states from the
  app's own recomputes, a year of scorecard metric imports through the app's import service,
  two closed review periods, a webhook endpoint and outbox messages.

    .venv/bin/python benchmarks/dataset.py                # build L into lms_bench_dataset
    .venv/bin/python benchmarks/dataset.py --scale 0.05 --database-url ...lms_bench_mine
    .venv/bin/python benchmarks/dataset.py --reuse        # print what an existing build holds

Other benchmarks call `build(url, scale=..., now=...)` or `ensure(url, ..., reuse=...)`;
both return a dict of what a benchmark needs (logins, the big and a typical partner, track
slugs, sizes). The database name must contain "bench": it is dropped and recreated.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import flask_migrate  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from lms import create_app  # noqa: E402
from lms.core.jobs import commit  # noqa: E402
from lms.extensions import db  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/lms_bench_dataset"
CONTENT = PROJECT_ROOT / "content"
PARTNERS, PEOPLE = 5_000, 200_000
BIG_PARTNER_STAFF = 3_000
NAMED_LEARNERS = 1_000
# The one password of every named login (hashed once, see `passwords`).
PASSWORD = "bench-password"
# Where `ensure` finds what a build returned, in the app's own settings table.
INFO_SETTING = "bench.dataset"
# Tiers by share of partners, lowest first (the shipped program.yml's four tiers).
TIER_SHARES = (("registered", 40), ("silver", 30), ("gold", 20), ("platinum", 10))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def check_url(url: str) -> None:
    """Refuse any database whose name does not say it is a scratch benchmark database."""
    if "bench" not in (make_url(url).database or ""):
        sys.exit("refusing a database whose name does not contain 'bench'")


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


def exists(url: str) -> bool:
    engine = admin(url)
    with engine.connect() as connection:
        found = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                   {"name": make_url(url).database}).first()
    engine.dispose()
    return found is not None


def make_app(url: str):
    instance = Path(tempfile.mkdtemp(prefix="lms-bench-dataset-"))
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                       "INSTANCE_PATH": str(instance), "CONTENT_PATH": str(CONTENT)})


# --- the base ---------------------------------------------------------------------------------

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
            revoked_at, revoked_reason, holder_organisation_id, holder_active, latest)
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
               CASE WHEN c.cycle = c.cycles AND c.revoke THEN 'Benchmark' END,
               c.organisation_id, c.active, c.cycle = c.cycles
        FROM (
            SELECT u.id AS user_id, u.organisation_id, u.active, p.id AS program_id,
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

# One partner of BIG_PARTNER_STAFF people, on the top tier, added after the people so the
# rest of BUILD gives its staff assignments, completions, certificates and journeys too.
BIG_PARTNER = [
    ("the big partner", """
        INSERT INTO organisation (id, name, name_key, partner_type, tier, region, status,
                                  created_at, updated_at)
        VALUES (:partners + 1, 'Bench Partner Large', 'bench partner large', 'si', 'platinum',
                'emea', 'active', :now, :now)"""),
    ("the big partner's staff", """
        INSERT INTO user_account (id, email, full_name, role, organisation_id, job_role,
                                  locale, active, created_at)
        SELECT g, 'person' || g || '@bench.example', 'Person ' || g,
               CASE WHEN g = :people + 1 THEN 'partner_admin' ELSE 'learner' END,
               :partners + 1,
               (ARRAY['sales', 'presales', 'technical', 'support'])[1 + g % 4], 'en',
               g = :people + 1 OR {active}, :now - make_interval(days => (g % 1000))
        FROM generate_series(:people + 1, :people + :big) g"""),
]

FILLS = {
    "tier": tier_case(h("g")), "active": f"{h('g', '7')} >= 3",
    "chance": h("u.id", "v.id"), "current_p": "61", "older_p": "40",
    "held": h("u.id", "p.id", "11"), "hold_p": "60", "length": h("u.id", "p.id", "13"),
    "age": h("u.id", "p.id", "17"), "revoke": f"{h('u.id', 'p.id', '19')} < 3",
    "done": h("j.id", "m.ordinality", "s.ordinality"),
}


def run_statements(statements, parameters: dict) -> None:
    # The planner overestimates generated rows and would spend seconds compiling (JIT)
    # what runs in milliseconds.
    db.session.execute(text("SET jit = off"))
    for label, statement in statements:
        step = time.perf_counter()
        result = db.session.execute(text(statement.format(**FILLS)), parameters)
        db.session.commit()
        log(f"  {label}: {result.rowcount:,} rows in {time.perf_counter() - step:.1f} s")


def rebuild_tallies() -> None:
    """The bulk INSERT ... SELECTs bypass the services that keep the tallies (people,
    assignments, certificates by status and day, the outbox's messages by kind and status):
    recount them, as `lms tallies rebuild` does (the scorecard's summaries, which it also
    rebuilds, come from the recomputes and period closings the build runs)."""
    from lms.core import tallies

    step = time.perf_counter()
    # Statistics first: the tables were just filled in bulk, and without them PostgreSQL
    # plans the recounts for a few dozen rows (nested loops over 600,000 assignments, which
    # ran for hours).
    db.session.execute(text("ANALYZE"))
    tallies.rebuild()
    db.session.commit()
    log(f"  tallies rebuilt in {time.perf_counter() - step:.1f} s")


def reset_sequences(*tables: str) -> None:
    for table in tables:
        db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT max(id) FROM {table}))"))
    db.session.commit()


def vacuum() -> None:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")


def sizing(scale: float) -> dict:
    return {"partners": max(4, int(PARTNERS * scale)), "people": max(40, int(PEOPLE * scale)),
            # Whatever the scale: quick runs time the big partner's pages at full size too.
            "big": BIG_PARTNER_STAFF}


def build_base(app, scale: float, now: datetime, *, big_partner: bool = False) -> float:
    """Migrate, sync the shipped content and build the base (plus, if asked, the big
    partner) into an empty database; return the seconds it took."""
    started = time.perf_counter()
    with app.app_context():
        flask_migrate.upgrade()
        from lms.content import sync_all

        sync_all(str(CONTENT))
        commit()
        parameters = {"now": now, **sizing(scale)}
        statements = BUILD[:2] + (BIG_PARTNER if big_partner else []) + BUILD[2:]
        run_statements(statements, parameters)
        rebuild_tallies()
        reset_sequences("organisation", "user_account")
        vacuum()
    return time.perf_counter() - started


# --- what pages need on top -------------------------------------------------------------------

PAGE_DATA = [
    # Someone who completed a track's current version completed each of its lessons
    # (an hour apart, the last at the track's completion) and each of its courses.
    ("lesson completions (completed tracks)", """
        INSERT INTO lesson_completion (user_id, lesson_id, completed_at)
        SELECT c.user_id, l.id, c.completed_at - make_interval(hours => n.lessons - l.position)
        FROM track_completion c
        JOIN track t ON t.current_version_id = c.track_version_id
        JOIN lesson l ON l.track_version_id = c.track_version_id
        JOIN (SELECT track_version_id, max(position) AS lessons FROM lesson
              GROUP BY track_version_id) n ON n.track_version_id = c.track_version_id"""),
    ("course completions (completed tracks)", """
        INSERT INTO course_completion (user_id, course_id, completed_at)
        SELECT c.user_id, k.id, c.completed_at
        FROM track_completion c
        JOIN track t ON t.current_version_id = c.track_version_id
        JOIN course k ON k.track_version_id = c.track_version_id"""),
    # Everyone else assigned a required track is part way: the first 0 to n-1 lessons in
    # order (tracks are sequential), a day apart up to a day ago.
    ("lesson completions (tracks in progress)", """
        INSERT INTO lesson_completion (user_id, lesson_id, completed_at)
        SELECT p.user_id, l.id, :now - make_interval(days => 1 + p.done - l.position)
        FROM (SELECT a.user_id, t.current_version_id,
                     {progress} * n.lessons / 100 AS done
              FROM assignment a JOIN track t ON t.id = a.track_id
              JOIN (SELECT track_version_id, count(*)::int AS lessons FROM lesson
                    GROUP BY track_version_id) n ON n.track_version_id = t.current_version_id
              WHERE NOT EXISTS (SELECT 1 FROM track_completion c
                                WHERE c.user_id = a.user_id
                                  AND c.track_version_id = t.current_version_id)) p
        JOIN lesson l ON l.track_version_id = p.current_version_id AND l.position < p.done"""),
    # ...with a course completion for each course whose lessons are all among those done.
    ("course completions (tracks in progress)", """
        INSERT INTO course_completion (user_id, course_id, completed_at)
        SELECT l.user_id, k.course_id, max(l.completed_at)
        FROM lesson_completion l JOIN lesson s ON s.id = l.lesson_id
        JOIN (SELECT course_id, count(*) AS lessons FROM lesson GROUP BY course_id) k
             ON k.course_id = s.course_id
        WHERE NOT EXISTS (SELECT 1 FROM course_completion c
                          WHERE c.user_id = l.user_id AND c.course_id = s.course_id)
        GROUP BY l.user_id, k.course_id, k.lessons HAVING count(*) = k.lessons"""),
    # The base leaves every journey at its first stage; put each where its milestones say
    # (the stage of its first open milestone, done when none is open), as signing off does.
    ("journey states", """
        UPDATE journey j SET
            stage_count = jsonb_array_length(v.stages::jsonb),
            current_stage = coalesce(m.first_open_stage, jsonb_array_length(v.stages::jsonb)),
            last_progress_at = coalesce(m.last_done, j.started_at),
            stalls_at = coalesce(m.last_done, j.started_at)
                        + make_interval(days => v.stalled_after_days),
            completed_at = CASE WHEN m.first_open_stage IS NULL THEN m.last_done END,
            overdue_since = m.first_open_due
        FROM journey_template_version v,
             (SELECT journey_id, min(stage_index) FILTER (WHERE done_at IS NULL)
                       AS first_open_stage, max(done_at) AS last_done,
                     min(due_at) FILTER (WHERE done_at IS NULL) AS first_open_due
              FROM journey_milestone GROUP BY journey_id) m
        WHERE v.id = j.template_version_id AND m.journey_id = j.id"""),
    ("vendor staff", """
        INSERT INTO user_account (email, full_name, role, locale, active, created_at)
        VALUES ('admin@bench.example', 'Bench Vendor Admin', 'vendor_admin', 'en', true,
                :now - interval '1000 days'),
               ('channel@bench.example', 'Bench Channel Manager', 'channel_manager', 'en',
                true, :now - interval '1000 days'),
               ('author@bench.example', 'Bench Author', 'author', 'en', true,
                :now - interval '1000 days')"""),
    # Named learners spread over the partners, active, signing in with PASSWORD.
    ("named learners", """
        UPDATE user_account u SET email = 'learner' || c.n || '@bench.example', active = true
        FROM (SELECT id, row_number() OVER (ORDER BY id) AS n
              FROM (SELECT id, row_number() OVER (ORDER BY id) AS r, count(*) OVER () AS total
                    FROM user_account WHERE role = 'learner' AND id <= :people) l
              WHERE l.r % greatest(1, l.total / :learners) = 0
              ORDER BY id LIMIT :learners) c
        WHERE u.id = c.id"""),
    # Their certificates keep their holder's active flag (certifications.holders).
    ("named learners' certificates", """
        UPDATE certificate c SET holder_active = true FROM user_account u
        WHERE u.id = c.user_id AND u.email LIKE 'learner%@bench.example'
          AND NOT c.holder_active"""),
    # The mail a platform of this size has sent: invitations, reminders, nudges; most
    # delivered, some waiting, a few failed.
    ("outbox messages", """
        INSERT INTO outbox_message (to_address, subject, body_text, template, created_at,
                                    sent_at, last_error, sensitive)
        SELECT u.email, (ARRAY['Your learning this week', 'Your certificate is due for renewal',
                               'An onboarding milestone is due'])[1 + u.id % 3],
               'Hello ' || u.full_name || E',\n\nThis is a benchmark message.\n',
               (ARRAY['learning_reminder', 'renewal_reminder', 'milestone_nudge'])[1 + u.id % 3],
               :now - make_interval(mins => u.id * 7 % 525600),
               CASE WHEN {sent} >= 5 THEN :now - make_interval(mins => u.id * 7 % 525600) END,
               CASE WHEN {sent} < 2 THEN 'SMTP 451: try again later' END, false
        FROM user_account u
        WHERE u.organisation_id IS NOT NULL AND u.id % 2 = 0"""),
]

PAGE_DATA_FILLS = {"progress": h("a.user_id", "a.track_id", "23"), "sent": h("u.id", "29")}


def passwords(parameters: dict) -> None:
    """One argon2 hash, computed once and given to every named login."""
    from lms.accounts.passwords import hash_password

    db.session.execute(text(
        "UPDATE user_account SET password_hash = :hash WHERE email LIKE 'learner%@bench.example'"
        " OR role IN ('vendor_admin', 'channel_manager', 'author') OR id = ANY(:ids)"),
        {"hash": hash_password(PASSWORD), "ids": parameters["admins"]})
    db.session.commit()


def typical_partner(people: int, partners: int) -> int:
    """The partner of the median size (about 40 at L) whose admin is active."""
    return db.session.execute(text("""
        SELECT o.id FROM organisation o JOIN user_account a ON a.id = o.id AND a.active
        JOIN user_account u ON u.organisation_id = o.id
        WHERE o.id <= :partners GROUP BY o.id
        ORDER BY abs(count(u.id) - :size), o.id LIMIT 1"""),
        {"partners": partners, "size": people // partners}).scalar_one()


def recomputes(now: datetime, admin_id: int) -> dict:
    """Readiness, the scorecard metrics (a year of imports through the app's own import
    service, as `lms demo` does), scorecard states, two closed review periods and a webhook
    endpoint: the pages then show what a live platform shows."""
    from lms.core import clock
    from lms.demo import scorecard as demo_scorecard
    from lms.journeys import medians as journey_medians
    from lms.readiness import service as readiness
    from lms.scorecard import periods, webhooks
    from lms.scorecard import service as scorecard

    timings = {}
    with clock.frozen(now):
        step = time.perf_counter()
        readiness.recompute(now=now)
        commit()
        timings["readiness"] = time.perf_counter() - step
        step = time.perf_counter()
        journey_medians.recompute()
        commit()
        timings["onboarding medians"] = time.perf_counter() - step
        step = time.perf_counter()
        demo_scorecard.load_metrics(now)
        commit()
        timings["metric imports"] = time.perf_counter() - step
        step = time.perf_counter()
        scorecard.recompute_all()
        commit()
        timings["scorecard states"] = time.perf_counter() - step
        step = time.perf_counter()
        # The two periods the app lets one close (the previous and the current): the
        # periods pages and the comparison then have two snapshots of every partner.
        period_ids = []
        kind = scorecard.definitions().review_period
        for _name, starts, _ends in periods.open_periods(now.date(), kind, set()):
            period_ids.append(periods.close(starts, actor_id=admin_id, now=now).id)
            commit()
        timings["review periods"] = time.perf_counter() - step
        endpoint = webhooks.create_endpoint(url="https://hooks.bench.example/scorecard",
                                            description="Benchmark CRM", actor_id=admin_id)
        commit()
    for label, seconds in timings.items():
        log(f"  {label}: {seconds:.1f} s")
    return {"period_ids": period_ids, "webhook_id": endpoint.id}


def build(database_url: str = DEFAULT_URL, scale: float = 1.0, now: datetime | None = None
          ) -> dict:
    """Drop, recreate and build the dataset; return what a benchmark needs (see `info`)."""
    check_url(database_url)
    now = now or datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    recreate(database_url)
    app = make_app(database_url)
    log(f"building the dataset at scale {scale:g} into {make_url(database_url).database}:")
    build_base(app, scale, now, big_partner=True)
    size = sizing(scale)
    with app.app_context():
        parameters = {"now": now, **size, "learners": NAMED_LEARNERS}
        db.session.execute(text("SET jit = off"))
        # Built consistent by construction: skip the per-row foreign key triggers, which
        # would cost more than the inserts (a superuser session setting, this build only).
        db.session.execute(text("SET session_replication_role = replica"))
        for label, statement in PAGE_DATA:
            step = time.perf_counter()
            result = db.session.execute(text(statement.format(**FILLS, **PAGE_DATA_FILLS)),
                                        parameters)
            db.session.commit()
            log(f"  {label}: {result.rowcount:,} rows in {time.perf_counter() - step:.1f} s")
        db.session.execute(text("SET session_replication_role = DEFAULT"))
        # The tallies (among them the outbox's, which the app keeps as it records mail) for
        # the rows inserted above.
        rebuild_tallies()
        typical = typical_partner(size["people"], size["partners"])
        big = size["partners"] + 1
        big_admin = size["people"] + 1
        # Partner admins are their partner's first person: the typical one's id is its own.
        passwords({"admins": [big_admin, typical]})
        db.session.execute(text("UPDATE user_account SET active = true WHERE id = ANY(:ids)"),
                           {"ids": [big_admin, typical]})
        db.session.execute(text("UPDATE certificate SET holder_active = true "
                                "WHERE user_id = ANY(:ids)"), {"ids": [big_admin, typical]})
        db.session.commit()
        vacuum()
        vendor_admin = db.session.execute(text(
            "SELECT id FROM user_account WHERE email = 'admin@bench.example'")).scalar_one()
        extra = recomputes(now, vendor_admin)
        vacuum()
        info = describe(now, scale, big=big, big_admin=big_admin, typical=typical,
                        extra=extra)
        info["build_seconds"] = round(time.perf_counter() - started, 1)
        from lms.core import settings

        settings.put(INFO_SETTING, info)
        commit()
    log(f"  built in {info['build_seconds']:.0f} s")
    return info


def describe(now: datetime, scale: float, *, big: int, big_admin: int, typical: int,
             extra: dict) -> dict:
    """What benchmarks need to know about a build."""
    def one(sql: str, **parameters):
        return db.session.execute(text(sql), parameters).scalar()

    counts = {table: one(f"SELECT count(*) FROM {table}") for table in (
        "organisation", "user_account", "assignment", "track_completion", "certificate",
        "lesson_completion", "course_completion", "journey", "journey_milestone",
        "readiness_score", "scorecard_metric_value", "outbox_message")}
    slugs = list(db.session.execute(text(
        "SELECT slug FROM track WHERE archived_at IS NULL ORDER BY id")).scalars())
    return {
        "built_at": now.isoformat(), "scale": scale, "password": PASSWORD, "counts": counts,
        "logins": {
            "vendor_admin": "admin@bench.example", "channel_manager": "channel@bench.example",
            "author": "author@bench.example",
            "big_partner_admin": one("SELECT email FROM user_account WHERE id = :id",
                                     id=big_admin),
            "typical_partner_admin": one("SELECT email FROM user_account WHERE id = :id",
                                         id=typical),
            # learner1@bench.example ... learner<named_learners>@bench.example
            "learner_pattern": "learner{n}@bench.example",
        },
        "named_learners": one("SELECT count(*) FROM user_account "
                              "WHERE email LIKE 'learner%@bench.example'"),
        "big_partner": {"id": big, "staff": one(
            "SELECT count(*) FROM user_account WHERE organisation_id = :id", id=big),
            "admin_id": big_admin},
        "typical_partner": {"id": typical, "staff": one(
            "SELECT count(*) FROM user_account WHERE organisation_id = :id", id=typical),
            "admin_id": typical},
        "big_partner_person_id": big_admin + 1,
        "typical_partner_person_id": one(
            "SELECT min(id) FROM user_account WHERE organisation_id = :id AND id <> :id",
            id=typical),
        "track_slugs": slugs,
        "assessment_slugs": list(db.session.execute(text(
            "SELECT slug FROM assessment ORDER BY id")).scalars()),
        "certificate_id": one("SELECT min(id) FROM certificate WHERE user_id = :id",
                              id=big_admin + 1) or one("SELECT min(id) FROM certificate"),
        "import_id": one("SELECT max(id) FROM scorecard_import"),
        **extra,
    }


def head_revisions() -> set[str]:
    """The migrations' head revision(s) in this checkout."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return set(ScriptDirectory.from_config(config).get_heads())


def built_info(url: str, key: str = INFO_SETTING) -> dict | None:
    """What a finished build stored under `key`, if the database exists, was built to the
    end and is migrated to this checkout's head (a build on an older schema lacks the
    newer indexes, so timing it would mislead); else None."""
    if not exists(url):
        return None
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            row = connection.execute(text("SELECT value FROM setting WHERE key = :key"),
                                     {"key": key}).first()
            revisions = set(connection.execute(
                text("SELECT version_num FROM alembic_version")).scalars())
    except Exception:  # not migrated yet (or not built to the end)
        return None
    finally:
        engine.dispose()
    if row is None:
        return None
    if revisions != head_revisions():
        log(f"{make_url(url).database} is at migration {', '.join(sorted(revisions))}, not "
            f"at head: building it again")
        return None
    return row[0] if isinstance(row[0], dict) else json.loads(row[0])


def ensure(database_url: str = DEFAULT_URL, scale: float = 1.0, now: datetime | None = None,
           *, reuse: bool = False) -> dict:
    """With `reuse`, what an earlier build of this database holds (if it was built to
    the end, at this scale, on the current schema); otherwise `build`."""
    check_url(database_url)
    info = built_info(database_url) if reuse else None
    if info is not None:
        if info.get("scale") == scale:
            log(f"reusing the dataset built at {info['built_at']} (scale {scale:g})")
            return info
        log(f"the existing dataset has scale {info.get('scale')}, not {scale:g}: rebuilding")
    return build(database_url, scale, now)


def drop(database_url: str) -> None:
    check_url(database_url)
    recreate(database_url, drop_only=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size")
    parser.add_argument("--reuse", action="store_true",
                        help="keep an existing build of the same scale")
    args = parser.parse_args(argv)
    info = ensure(args.database_url, args.scale, reuse=args.reuse)
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
