"""Benchmark: the JSON verification API with 1,000,000 certificates against a bare Flask route.

The requirement: "A benchmark in benchmarks/ loads 1,000,000 certificates into PostgreSQL
and measures, in one run, requests per second of the JSON verification endpoint and of a
bare Flask route under the same gunicorn settings; target at least 0.5 of the bare route."

1. Creates a scratch PostgreSQL database (default `lms_bench_verify` on 127.0.0.1:5432),
   migrates it to head with Alembic and syncs the shipped content, so the certification
   programs exist.
2. Bulk-loads organisations, holders and N certificates (default 1,000,000) with COPY. Each
   holder has one to three programs, and each program a chain of one to four cycles: every
   cycle but the last is superseded by its renewal (`renewal_of_id`), dated the way
   `lifecycle.dates_for` dates an early renewal. The last cycle is active, expiring,
   expired or revoked. IDs come from `lms.certifications.public_id.generate()`. Then
   VACUUM ANALYZE.
3. Picks a random sample of certificate IDs (default 10,000, so lookups spread over the
   whole table and index, superseded ones included), and counts the SQL statements one
   lookup issues, in-process through the test client.
4. Starts gunicorn twice with identical settings (`serving.py`: no access log, no control
   socket): once with the LMS (`lms:create_app()`,
   LMS_ENV=production) and once with `benchmarks/bare_app.py`, which answers the same URL
   with a JSON document of the same shape and no database. The verification rate limit is
   raised to 100,000,000 a minute, so it never answers 429 but still does its work.
5. Checks a few answers of each status (200, the right `status` and ID), warms both servers
   up, then measures them alternately for --rounds rounds of --duration seconds with wrk
   (the same threads, connections and Lua script rotating through the sample for both).
   When wrk is missing it falls back to a Python keep-alive client and says so.
6. Prints requests per second of each (median of the rounds), latency percentiles, every
   non-200 answer, and the ratio: the median of the rounds' ratios, since a round measures
   both servers back to back and other work on the machine then weighs on both alike.
   Exits 1 unless the ratio is at least 0.5 and every answer was a 200. The database is
   dropped unless --keep.
7. Also prints, from /proc, the CPU each request cost in the gunicorn workers, the
   PostgreSQL backends and the client, how much CPU other work on the machine took while
   measuring, and the ratio of the CPU costs. On a shared machine that ratio is steadier
   than requests per second, which follow whatever else is running.

Run it from the project root (PostgreSQL must accept `postgres` without a password):

    .venv/bin/python benchmarks/verification_throughput.py                      # 1,000,000
    .venv/bin/python benchmarks/verification_throughput.py --certificates 100000 --duration 10
    .venv/bin/python benchmarks/verification_throughput.py --keep       # then, without loading:
    .venv/bin/python benchmarks/verification_throughput.py --reuse --keep

The script drops and recreates the database unless --reuse finds it already loaded with
exactly N certificates. It refuses a database whose name does not contain "bench".
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import math
import multiprocessing
import os
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import flask_migrate  # noqa: E402
import psycopg  # noqa: E402
import serving  # noqa: E402  (benchmarks/serving.py, beside this script)
from serving import (  # noqa: E402
    Gunicorn,
    LoadGenerator,
    describe_gunicorn,
    get,
    gunicorn_settings,
    libpq_url,
    lms_env,
    log,
)
from sqlalchemy import create_engine, event, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from lms import create_app  # noqa: E402
from lms.accounts.models import Term  # noqa: E402
from lms.certifications import public_id  # noqa: E402
from lms.certifications.lifecycle import add_months  # noqa: E402
from lms.certifications.models import Program, ProgramVersion  # noqa: E402
from lms.core import settings  # noqa: E402
from lms.core.jobs import commit  # noqa: E402
from lms.extensions import db  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/lms_bench_verify"
CONTENT = PROJECT_ROOT / "content"
API = "/api/v1/certificates/"
BASE_URL = "https://academy.bench.example"
RATE_LIMIT = 100_000_000  # per client per minute: high enough never to answer 429
TARGET = 0.5
STATUSES = ("active", "expiring", "expired", "revoked", "superseded")
# A holder's certificates in one program: the cycles of a renewal chain.
CHAIN_LENGTHS, CHAIN_WEIGHTS = (1, 2, 3, 4), (75, 18, 5, 2)
PROGRAMS_PER_HOLDER, PROGRAM_WEIGHTS = (1, 2, 3), (60, 30, 10)
# How the last certificate of a chain stands today (the earlier ones are superseded).
LAST_STATUSES, LAST_WEIGHTS = ("active", "expiring", "expired", "revoked"), (72, 9, 15, 4)
FIRST_NAMES = ("Amara", "Bjorn", "Chen", "Dalia", "Emeka", "Farah", "Giulia", "Hiroshi",
               "Ines", "Jonas", "Kavya", "Lucia", "Mateo", "Nadia", "Oskar", "Priya",
               "Quentin", "Rosa", "Sven", "Tamar", "Umar", "Vera", "Wen", "Yusuf", "Zofia")
LAST_NAMES = ("Achebe", "Berg", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia",
              "Haddad", "Ivanova", "Jansen", "Kowalski", "Lindqvist", "Moreau", "Nakamura",
              "Okafor", "Petrov", "Quispe", "Rossi", "Silva", "Tanaka", "Ueda", "Varga",
              "Wagner", "Xu", "Yilmaz", "Zhang")
IDS_PER_TASK = 20_000
STATUS_SQL = """CASE WHEN revoked_at IS NOT NULL THEN 'revoked'
    WHEN superseded_at IS NOT NULL THEN 'superseded'
    WHEN now() < renewal_opens_at THEN 'active'
    WHEN now() < expires_at THEN 'expiring' ELSE 'expired' END"""

# --- the database -------------------------------------------------------------------------------

def admin_engine(url: str):
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def database_exists(url: str) -> bool:
    engine = admin_engine(url)
    try:
        with engine.connect() as connection:
            return bool(connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                          {"n": make_url(url).database}))
    finally:
        engine.dispose()


def recreate_database(url: str, *, drop_only: bool = False) -> None:
    name = make_url(url).database
    engine = admin_engine(url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if not drop_only:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()


def app_for(url: str, instance: Path, redis_url: str | None = None):
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance),
                       "SECRET_KEY": "benchmark", "CONTENT_PATH": str(CONTENT),
                       "BASE_URL": BASE_URL, "VERIFY_RATE_LIMIT_PER_MINUTE": RATE_LIMIT,
                       "REDIS_URL": redis_url})


def certificate_count(url: str) -> int | None:
    try:
        with psycopg.connect(libpq_url(url)) as connection:
            return connection.execute("SELECT count(*) FROM certificate").fetchone()[0]
    except psycopg.Error:
        return None


class ProgramInfo:
    """What a certificate snapshots from its program version, and the evidence it keeps."""

    def __init__(self, version: ProgramVersion):
        self.program_id, self.version_id = version.program_id, version.id
        self.code, self.name, self.level = version.program.code, version.name, version.level
        self.number = version.number
        self.months, self.window = version.validity_months, version.renewal_window_days
        self.grace = version.grace_days
        self.requirements = version.requirements
        self.renewal = version.renewal

    def evidence(self, rng: random.Random, passed_at: datetime,
                 renews: tuple[str, datetime] | None) -> str:
        """What `service._issue` keeps: the checks met, and for a renewal what it renews."""
        at = passed_at.isoformat()
        rows: list[dict] = []
        if renews is None:
            tracks = self.requirements.get("tracks", [])
            assessments = self.requirements.get("assessments", [])
        else:
            tracks = self.renewal.get("tracks", [])
            assessments = [self.renewal["assessment"]] if self.renewal.get("assessment") else []
        for slug in tracks:
            rows.append({"kind": "track", "slug": slug, "title": slug.replace("-", " ").title(),
                         "track_version_id": 1, "version": 1, "completed_at": at})
        for slug in assessments:
            rows.append({"kind": "assessment", "slug": slug,
                         "title": slug.replace("-", " ").title(),
                         "attempt_id": rng.randrange(1, 10**7),
                         "attempt_public_id": f"bench-{rng.randrange(10**12):012d}",
                         "percent": round(rng.uniform(70, 100), 1), "version": 1,
                         "passed_at": at})
        for code in self.requirements.get("certifications", []) if renews is None else []:
            rows.append({"kind": "certification", "code": code,
                         "public_id": "0" * public_id.LENGTH})
        if renews is not None:
            rows.append({"kind": "renewal_of", "public_id": renews[0],
                         "expires_at": renews[1].isoformat()})
        return json.dumps(rows)


def chains(n: int, programs: int, organisations: int, seed: int):
    """(holder number, organisation number, program index, cycles) until n certificates.

    Deterministic for a seed, so the holders can be written first and the certificates after.
    """
    rng = random.Random(seed)
    made, holder = 0, 0
    while made < n:
        holder += 1
        organisation = rng.randrange(organisations)
        count = rng.choices(PROGRAMS_PER_HOLDER, PROGRAM_WEIGHTS)[0]
        for program in rng.sample(range(programs), min(count, programs)):
            cycles = min(rng.choices(CHAIN_LENGTHS, CHAIN_WEIGHTS)[0], n - made)
            if cycles == 0:
                break
            yield holder, organisation, program, cycles
            made += cycles


def _public_ids(count: int) -> list[str]:
    return [public_id.generate() for _ in range(count)]


def chain_rows(rng: random.Random, program: ProgramInfo, cycles: int, now: datetime):
    """The dates and status of each certificate of one chain, oldest first.

    The last one gets a status by LAST_WEIGHTS. Going back, each earlier one expired when the
    next one's validity started, and was superseded when the next one was issued, up to its
    renewal window before that (an early renewal keeps the time already paid for).
    """
    last = rng.choices(LAST_STATUSES, LAST_WEIGHTS)[0]
    span = (add_months(now, program.months) - now).total_seconds() / 86400
    if last in ("active", "revoked"):
        days = rng.uniform(program.window + 1, span - 1)
    elif last == "expiring":
        days = rng.uniform(0.01, program.window - 0.01)
    else:
        days = -rng.uniform(0.01, 730)
    expires = now + timedelta(days=days)
    rows = []
    superseded_at = None
    for position in range(cycles, 0, -1):
        starts = add_months(expires, -program.months)
        early = rng.uniform(0, program.window) if position > 1 else 0.0
        issued = starts - timedelta(days=early)
        rows.append({"cycle": position, "issued_at": issued, "expires_at": expires,
                     "superseded_at": superseded_at,
                     "status": "superseded" if superseded_at else last})
        superseded_at, expires = issued, starts
    rows.reverse()
    for row in rows:
        if row["status"] == "revoked":
            row["revoked_at"] = row["issued_at"] + (now - row["issued_at"]) * rng.random()
    return rows


def load(url: str, n: int, seed: int, instance: Path) -> dict:
    """Migrate, sync content, then COPY organisations, holders and n certificates."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    app = app_for(url, instance)
    with app.app_context():
        flask_migrate.upgrade()
        from lms.content import sync_all

        sync_all(str(CONTENT))
        commit()
        versions = list(db.session.scalars(
            select(ProgramVersion).join(Program, Program.current_version_id == ProgramVersion.id)
            .order_by(Program.code)))
        programs = [ProgramInfo(version) for version in versions]
        terms: dict[str, list[str]] = {}
        for kind, code in db.session.execute(select(Term.kind, Term.code).order_by(Term.id)):
            terms.setdefault(kind, []).append(code)
        issuer = settings.get("vendor_name")
        db.session.remove()
        db.engine.dispose()
    if not programs:
        sys.exit("the content defines no certification programs")
    timings["migrate and sync content"] = time.perf_counter() - started
    log(f"migrated and synced content: {len(programs)} programs "
        f"({', '.join(p.code for p in programs)})")

    organisations = max(3, n // 400)
    now = datetime.now(UTC).replace(microsecond=0)
    rng = random.Random(seed + 1)
    # The IDs are the slow part of generating (secrets, 27 characters each): other processes
    # make them while this one builds rows and PostgreSQL takes them in.
    pool = multiprocessing.get_context("fork").Pool(os.cpu_count() or 2)
    try:
        tasks = [IDS_PER_TASK] * math.ceil(n / IDS_PER_TASK)
        ids = itertools.chain.from_iterable(pool.imap(_public_ids, tasks))
        with psycopg.connect(libpq_url(url)) as connection:
            started = time.perf_counter()
            with connection.cursor() as cursor:
                org_base = cursor.execute("SELECT coalesce(max(id), 0) FROM organisation") \
                    .fetchone()[0]
                user_base = cursor.execute("SELECT coalesce(max(id), 0) FROM user_account") \
                    .fetchone()[0]
                with cursor.copy("COPY organisation (id, name, name_key, partner_type, tier, "
                                 "region, status, created_at, updated_at) FROM STDIN") as copy:
                    for number in range(organisations):
                        name = f"Bench Partner {number:05d}"
                        copy.write_row((org_base + 1 + number, name, name.lower(),
                                        rng.choice(terms["partner_type"]),
                                        rng.choice(terms["tier"]), rng.choice(terms["region"]),
                                        "active", now, now))
                holders = 0
                with cursor.copy("COPY user_account (id, email, full_name, role, "
                                 "organisation_id, job_role, locale, active, created_at) "
                                 "FROM STDIN") as copy:
                    for holder, organisation, _, _ in chains(n, len(programs), organisations,
                                                               seed):
                        if holder == holders:
                            continue
                        holders = holder
                        user_id = user_base + holder
                        copy.write_row((user_id, f"holder-{user_id}@bench.example",
                                        holder_name(user_id), "learner",
                                        org_base + 1 + organisation,
                                        rng.choice(terms["job_role"]), "en", True, now))
            connection.commit()
            timings["organisations and holders"] = time.perf_counter() - started
            log(f"copied {organisations:,} organisations and {holders:,} holders "
                f"in {timings['organisations and holders']:.1f} s")

            started = time.perf_counter()
            with connection.cursor() as cursor:
                cert_base = cursor.execute("SELECT coalesce(max(id), 0) FROM certificate") \
                    .fetchone()[0]
                written = 0
                with cursor.copy(
                        "COPY certificate (id, public_id, user_id, organisation_id, program_id, "
                        "program_version_id, cycle, holder_name, organisation_name, "
                        "program_code, program_name, program_level, program_version_number, "
                        "issuer, issued_at, expires_at, renewal_opens_at, grace_ends_at, "
                        "evidence, renewal_of_id, superseded_at, revoked_at, revoked_reason) "
                        "FROM STDIN") as copy:
                    for holder, organisation, index, cycles in chains(
                            n, len(programs), organisations, seed):
                        program = programs[index]
                        user_id = user_base + holder
                        name = holder_name(user_id)
                        org_name = f"Bench Partner {organisation:05d}"
                        previous: tuple[int, str, datetime] | None = None
                        for row in chain_rows(rng, program, cycles, now):
                            written += 1
                            cert_id, canonical = cert_base + written, next(ids)
                            revoked_at = row.get("revoked_at")
                            copy.write_row((
                                cert_id, canonical, user_id, org_base + 1 + organisation,
                                program.program_id, program.version_id, row["cycle"], name,
                                org_name, program.code, program.name, program.level,
                                program.number, issuer, row["issued_at"], row["expires_at"],
                                row["expires_at"] - timedelta(days=program.window),
                                row["expires_at"] + timedelta(days=program.grace),
                                program.evidence(rng, row["issued_at"] - timedelta(days=3),
                                                 previous[1:] if previous else None),
                                previous[0] if previous else None, row["superseded_at"],
                                revoked_at, "Benchmark: revoked" if revoked_at else None))
                            previous = (cert_id, canonical, row["expires_at"])
                        if written % 100_000 < cycles:
                            log(f"copied {written:,} / {n:,} certificates")
                for table in ("organisation", "user_account", "certificate"):
                    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"(SELECT max(id) FROM {table}))")
            connection.commit()
            timings["certificates (COPY)"] = time.perf_counter() - started
            log(f"copied {written:,} certificates in {timings['certificates (COPY)']:.1f} s")
    finally:
        pool.terminate()
        pool.join()

    started = time.perf_counter()
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    timings["VACUUM ANALYZE"] = time.perf_counter() - started
    log(f"VACUUM ANALYZE in {timings['VACUUM ANALYZE']:.1f} s")
    return timings


def holder_name(user_id: int) -> str:
    first = FIRST_NAMES[user_id % len(FIRST_NAMES)]
    last = LAST_NAMES[(user_id // len(FIRST_NAMES)) % len(LAST_NAMES)]
    return f"{first} {last} {user_id}"


def status_counts(url: str) -> dict[str, int]:
    with psycopg.connect(libpq_url(url)) as connection:
        rows = connection.execute(f"SELECT {STATUS_SQL}, count(*) FROM certificate GROUP BY 1")
        return dict(rows.fetchall())


def sample_ids(url: str, size: int, seed: int) -> list[tuple[str, str]]:
    """A random sample of (canonical ID, status as of now) over the whole table."""
    with psycopg.connect(libpq_url(url)) as connection:
        connection.execute("SELECT setseed(%s)", ((seed % 1000) / 1000,))
        rows = connection.execute(
            f"SELECT public_id, {STATUS_SQL} FROM certificate ORDER BY random() LIMIT %s",
            (size,))
        return rows.fetchall()


# --- in-process: statements per lookup, and an optional profile ----------------------------------

def in_process(url: str, instance: Path, sample: list[tuple[str, str]], count: int,
               profile: bool, redis_url: str | None) -> dict:
    """Through the test client: SQL statements, wall and CPU time per request; a cProfile.

    The first 20 requests warm up the pool and caches. With `profile`, the same requests are
    made again under cProfile (the timings come from the run without it).
    """
    app = app_for(url, instance, redis_url)  # counted where the served app counts
    with app.app_context():
        engine = db.engine
    issued: list[str] = []

    def record(_connection, _cursor, statement, *_args):
        issued.append(" ".join(statement.split()[:4]))

    event.listen(engine, "before_cursor_execute", record)
    client = app.test_client()
    paths = [(API + public_id.display(canonical), status)
             for canonical, status in sample[:count + 20]]
    statements: list[int] = []
    wall: list[float] = []
    cpu: list[float] = []
    by_status: dict[str, list[int]] = {}
    shapes: dict[str, list[str]] = {}
    try:
        for index, (path, status) in enumerate(paths):
            issued.clear()
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(path)
            elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - started_cpu
            if response.status_code != 200:
                sys.exit(f"in-process GET {path} answered {response.status_code}: "
                         f"{response.get_data(as_text=True)[:300]}")
            if index >= 20:
                statements.append(len(issued))
                wall.append(elapsed)
                cpu.append(elapsed_cpu)
                by_status.setdefault(status, []).append(len(issued))
                shapes.setdefault(status, list(issued))
        result = {"statements": statistics.fmean(statements), "min": min(statements),
                  "max": max(statements), "median_ms": 1000 * statistics.median(wall),
                  "cpu_ms": 1000 * statistics.fmean(cpu),
                  "by_status": {k: statistics.fmean(v) for k, v in sorted(by_status.items())},
                  "shapes": shapes}
        if profile:
            profiler = cProfile.Profile()
            for path, _ in paths[20:]:
                profiler.enable()
                client.get(path)
                profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("tottime").print_stats(20)
            stats.sort_stats("cumulative").print_stats(r"lms/|commit|visit_insert", 25)
            result["profile"] = out.getvalue()
    finally:
        event.remove(engine, "before_cursor_execute", record)
        with app.app_context():
            db.engine.dispose()
    return result


def check_answers(port: int, sample: list[tuple[str, str]], per_status: int = 3) -> int:
    """Each status: a few IDs answer 200 with that status, the ID, and a renewal if superseded."""
    checked: dict[str, int] = {}
    for canonical, status in sample:
        if checked.get(status, 0) >= per_status:
            continue
        shown = public_id.display(canonical)
        code, body = get(port, API + shown)
        if code != 200:
            sys.exit(f"GET {API}{shown} answered {code}: {body[:300]!r}")
        data = json.loads(body)
        problems = []
        if data.get("status") != status:
            problems.append(f"status {data.get('status')!r}, expected {status!r}")
        if data.get("id") != shown:
            problems.append(f"id {data.get('id')!r}")
        if status == "superseded" and not data.get("superseded_by"):
            problems.append("no superseded_by")
        if problems:
            sys.exit(f"GET {API}{shown}: {'; '.join(problems)}")
        checked[status] = checked.get(status, 0) + 1
    missing = [s for s in STATUSES if s not in checked]
    if missing:
        log(f"note: the sample has no {', '.join(missing)} certificate to check")
    return sum(checked.values())


# --- running it ----------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--certificates", type=int, default=1_000_000,
                        help="certificates to load (default 1000000)")
    parser.add_argument("--database-url", default=DEFAULT_URL,
                        help=f"scratch database, dropped and recreated (default {DEFAULT_URL})")
    parser.add_argument("--duration", type=int, default=10,
                        help="seconds per measurement (default 10)")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per server")
    parser.add_argument("--rounds", type=int, default=6,
                        help="rounds, each measuring both servers back to back (default 6)")
    parser.add_argument("--workers", type=int, default=2 * cores,
                        help=f"gunicorn workers for both servers (default 2 x cores = "
                             f"{2 * cores})")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync")
    parser.add_argument("--threads", type=int, default=4,
                        help="threads per worker, gthread only (default 4)")
    parser.add_argument("--connections", type=int, default=None,
                        help="concurrent client connections (default 2 x workers)")
    parser.add_argument("--client-threads", type=int, default=min(2, cores),
                        help="wrk threads (default min(2, cores))")
    parser.add_argument("--client", choices=("wrk", "python"), default=None,
                        help="load generator (default wrk if installed, else python)")
    parser.add_argument("--sample", type=int, default=10_000,
                        help="certificate IDs to rotate through (default 10000)")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile lookups in-process and print the top functions")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--reuse", action="store_true",
                        help="skip loading if the database already holds N certificates")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15",
                        help="LMS_REDIS_URL for the app: rate-limit counts in Redis, as in "
                             "production (default %(default)s); 'none' counts in PostgreSQL")
    args = parser.parse_args(argv)
    if (args.certificates < 100 or args.sample < 50 or args.rounds < 1 or args.duration < 1
            or args.workers < 1):
        parser.error("need --certificates >= 100, --sample >= 50, and --rounds, --duration "
                     "and --workers >= 1")
    name = make_url(args.database_url).database or ""
    if "bench" not in name or name == "test":
        parser.error(f"refusing to use database '{name}': its name must contain 'bench'")
    connections = args.connections or 2 * args.workers
    client = args.client or ("wrk" if shutil.which("wrk") else "python")
    if client == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk), or use --client python")

    folder = Path(tempfile.mkdtemp(prefix="lms-bench-verify-"))
    servers: list[Gunicorn] = []
    url = args.database_url
    try:
        return run(args, url, folder, servers, cores, connections, client)
    finally:
        for server in servers:
            server.stop()
        if not args.keep:
            recreate_database(url, drop_only=True)
            log(f"dropped database {name}")
        else:
            log(f"kept database {name} (--reuse skips loading next time)")
        shutil.rmtree(folder, ignore_errors=True)


def run(args, url: str, folder: Path, servers: list[Gunicorn], cores: int, connections: int,
        client: str) -> int:
    n = args.certificates
    reused = args.reuse and database_exists(url) and certificate_count(url) == n
    timings: dict[str, float] = {}
    if reused:
        log(f"reusing {make_url(url).database}: it holds {n:,} certificates")
        app = app_for(url, folder / "instance")
        with app.app_context():
            flask_migrate.upgrade()  # in case migrations were added since it was loaded
            db.engine.dispose()
    else:
        recreate_database(url)
        log(f"created database {make_url(url).database}; loading {n:,} certificates")
        started = time.perf_counter()
        timings = load(url, n, args.seed, folder / "instance")
        timings["total"] = time.perf_counter() - started
    counts = status_counts(url)
    sample = sample_ids(url, min(args.sample, n), args.seed)
    sample_statuses = {s: sum(1 for _, x in sample if x == s) for s in STATUSES}
    profile = in_process(url, folder / "instance", sample, min(300, len(sample) - 20),
                         args.profile, None if args.redis_url == "none" else args.redis_url)
    log(f"in-process: {profile['statements']:.2f} SQL statements per lookup, "
        f"{profile['median_ms']:.2f} ms median")

    paths = [API + public_id.display(canonical) for canonical, _ in sample]
    generator = LoadGenerator(client, folder, "verification", [(p, None) for p in paths],
                              args.client_threads)

    settings_args = gunicorn_settings(args.workers, args.worker_class, args.threads)
    env = lms_env(url, folder, BASE_URL, VERIFY_RATE_LIMIT_PER_MINUTE=str(RATE_LIMIT),
                  REDIS_URL=None if args.redis_url == "none" else args.redis_url)
    verify = Gunicorn("verification", "lms:create_app()", settings_args, env, folder)
    bare = Gunicorn("bare", "bare_app:create_app()", settings_args, env, folder)
    servers += [verify, bare]
    for server in servers:
        server.start()
    probe = paths[0]
    for server in servers:
        server.wait_ready(probe)
    checked = check_answers(verify.port, sample)
    status, body = get(bare.port, probe)
    if status != 200 or "status" not in json.loads(body):
        sys.exit(f"the bare app answered {status}: {body[:200]!r}")
    log(f"checked {checked} verification answers (200, status, id) and the bare app's")

    def measure(server: Gunicorn, seconds: int) -> dict:
        """One run, with the CPU its workers, PostgreSQL and the client used per request."""
        return serving.measure(server, lambda: generator.run(server.port, connections, seconds),
                               url if server is verify else None)

    load_before = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    for server in servers:
        log(f"warming up {server.label} for {args.warmup} s")
        measure(server, args.warmup)
    results: dict[str, list[dict]] = {"verification": [], "bare": []}
    for round_number in range(1, args.rounds + 1):
        order = servers if round_number % 2 else servers[::-1]
        for server in order:
            result = measure(server, args.duration)
            results[server.label].append(result)
            log(f"round {round_number}: {server.label:<12} {result['rps']:8.1f} req/s, "
                f"p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms, "
                f"non-200 {result['not_ok']}, socket errors {result['errors']}")
    for server in servers:
        server.stop()

    def summary(label: str) -> dict:
        runs = results[label]
        return {"rps": statistics.median(r["rps"] for r in runs),
                "runs": [r["rps"] for r in runs],
                "requests": sum(r["requests"] for r in runs),
                "not_ok": sum(r["not_ok"] for r in runs),
                "errors": sum(r["errors"] for r in runs),
                "p50": statistics.median(r["p50"] for r in runs),
                "p90": statistics.median(r["p90"] for r in runs),
                "p99": statistics.median(r["p99"] for r in runs),
                **{key: statistics.median(r[key] for r in runs)
                   for key in ("cpu_app", "cpu_db", "cpu_client", "cpu_others")}}

    real, base = summary("verification"), summary("bare")
    # Each round measures both servers back to back (in turn first), so a round's ratio is
    # the least disturbed by other work on the machine; the verdict takes their median.
    ratios = [r["rps"] / b["rps"] for r, b in zip(results["verification"], results["bare"],
                                                  strict=True)]
    ratio = statistics.median(ratios)
    cpu_ratio = sum(base[k] for k in ("cpu_app", "cpu_db", "cpu_client")) / max(
        sum(real[k] for k in ("cpu_app", "cpu_db", "cpu_client")), 1e-9)
    clean = real["not_ok"] == 0 and base["not_ok"] == 0 and real["errors"] == 0 \
        and base["errors"] == 0
    verdict = "PASS" if ratio >= TARGET and clean else "FAIL"
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())

    def figures(s: dict) -> str:
        runs = ", ".join(f"{x:.0f}" for x in s["runs"])
        return (f"{s['rps']:.1f} req/s  (rounds: {runs}); latency p50 {s['p50']:.1f} ms, "
                f"p90 {s['p90']:.1f} ms, p99 {s['p99']:.1f} ms")

    gunicorn = describe_gunicorn(args.workers, args.worker_class, args.threads) \
        + ", same for both"
    loader = generator.describe(connections)
    def cpu(s: dict) -> str:
        return (f"{s['cpu_app']:.2f} / {s['cpu_db']:.2f} / {s['cpu_client']:.2f} ms "
                f"(= {s['cpu_app'] + s['cpu_db'] + s['cpu_client']:.2f} ms)")

    rows = [
        ("machine", f"{cores} CPUs (shared by the client, gunicorn and PostgreSQL), "
                    f"load average {load_before} before measuring, {load_avg} at the end"),
        ("certificates", f"{n:,} ("
         + ", ".join(f"{s} {counts.get(s, 0):,}" for s in STATUSES) + ")"),
        ("loading", "reused" if reused else
         f"{timings['total']:.1f} s (" + ", ".join(
             f"{k} {v:.1f} s" for k, v in timings.items() if k != "total") + ")"),
        ("sample rotated through", f"{len(sample):,} random IDs ("
         + ", ".join(f"{s} {c:,}" for s, c in sample_statuses.items()) + ")"),
        ("in-process (test client, one at a time)",
         f"{profile['median_ms']:.2f} ms median per lookup, {profile['cpu_ms']:.2f} ms "
         f"Python CPU on average"),
        ("SQL through SQLAlchemy per lookup",
         f"{profile['statements']:.2f} mean, {profile['min']}-{profile['max']} ("
         + ", ".join(f"{s} {v:.1f}" for s, v in profile["by_status"].items())
         + "); the lookup itself is one prepared psycopg statement, not counted here"),
        ("  an active one", " | ".join(profile["shapes"].get("active", []))),
        ("gunicorn", gunicorn),
        ("rate limit", f"LMS_VERIFY_RATE_LIMIT_PER_MINUTE={RATE_LIMIT:,} (never reached), "
                       "counted in " + (f"Redis ({args.redis_url})" if args.redis_url != "none"
                                        else "PostgreSQL")),
        ("load generator", f"{loader}; {args.warmup} s warm-up, then {args.rounds} rounds x "
                           f"{args.duration} s each, alternating"),
        (f"verification  GET {API}<id>", figures(real)),
        (f"bare Flask    GET {API}<id>", figures(base)),
        ("requests / non-200 / socket errors",
         f"verification {real['requests']:,} / {real['not_ok']} / {real['errors']}; "
         f"bare {base['requests']:,} / {base['not_ok']} / {base['errors']}"),
        ("CPU per request: workers / PostgreSQL / client",
         f"verification {cpu(real)}; bare {cpu(base)}"),
        ("other work on the machine (median of runs)",
         f"{real['cpu_others']:.2f} CPUs while measuring verification, "
         f"{base['cpu_others']:.2f} CPUs while measuring bare"),
        ("CPU cost ratio, bare / verification", f"{cpu_ratio:.2f}  (what the ratio would be "
         "if CPU were the only limit; other work on the machine does not skew it)"),
        ("ratio verification / bare", f"{ratio:.2f} median of the rounds' ratios ("
         + ", ".join(f"{x:.2f}" for x in ratios) + f"); {real['rps'] / base['rps']:.2f} as the "
         f"ratio of the medians; target >= {TARGET}"),
        ("result", verdict),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"\nVerification API throughput: {n:,} certificates, PostgreSQL")
    print("-" * (width + 70))
    for label, value in rows:
        if value:  # e.g. no SQLAlchemy statements to show for an active lookup
            print(f"{label:<{width}}  {value}")
    print("-" * (width + 70))
    if "profile" in profile:
        print("\ncProfile of the in-process lookups (test client):")
        print(profile["profile"])
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
