"""Benchmark: signed-in learner pages under wrk against a bare Flask route (issue 13, bar 2).

The bar: "At L, with wrk: My learning, a track page and a lesson each serve at least 0.15 of
the bare route's requests/s; p95 at most 50 ms single-user."

1. The data: the benchmark dataset L (`dataset.py`: 5,000 partners, 200,000 people, about
   2,000,000 learning and certificate rows, 1,000 learners `learnerN@bench.example` with a
   known password), built into `--database-url` unless `--reuse` finds it built at the same
   `--scale`. With `--demo` it uses the demo data already in `--database-url` instead
   (`lms demo`), for a quick check.
2. Starts gunicorn twice with the same settings (`serving.py`: N sync workers, no access
   log, no control socket): the LMS (`LMS_ENV=production`) and `bare_app.py`, whose
   `/bench/page` returns a small HTML page with no database or session (the bare page
   `pages.py` times too).
3. Signs in `--learners` learners (default 50) through /login, each once, as a browser
   would (the session is recorded server-side; the cookie holds its secret), and for each
   picks an assigned track and a lesson it can open, from the links its My learning and
   track pages show. Every request is then checked to answer 200.
4. Measures four targets with wrk (2 threads, 8 connections by default; a Lua script
   rotates through the learners, each request carrying its learner's cookie): My learning
   (`/learning`), the track page (`/tracks/<slug>`), the lesson
   (`/tracks/<slug>/lessons/<lesson>`) and the bare route (sent the same cookies). After a
   warm-up, `--rounds` rounds of `--duration` seconds; in each round all four are
   measured back to back, in turn first, and each page's ratio is its requests/s over the
   bare route's in that round. The verdict takes the median of the rounds' ratios.
5. Then single-user: one connection, each target for `--single-duration` seconds, for the
   latency one learner sees when the server has nothing else to do.
6. Prints, per target: requests/s (median and rounds), latency p50/p90/p95/p99, non-200
   answers and socket errors, CPU per request in the gunicorn workers, the PostgreSQL
   backends and wrk (from /proc), the ratio and the CPU cost ratio (bare / page: what the
   ratio would be if CPU were the only limit; steadier on a shared machine), and the
   single-user percentiles. Exits 1 unless every page's ratio is at least 0.15, its
   single-user p95 at most 50 ms, and every answer a 200.

Run it from the project root (PostgreSQL must accept `postgres` without a password):

    .venv/bin/python benchmarks/learner_throughput.py                 # builds L if needed
    .venv/bin/python benchmarks/learner_throughput.py --reuse         # L already built
    .venv/bin/python benchmarks/learner_throughput.py --scale 0.02 --rounds 1 --duration 5
    .venv/bin/python benchmarks/learner_throughput.py --demo \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/lms_bench_demo

The dataset's database is kept (the other benchmarks reuse it).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import psycopg  # noqa: E402
import serving  # noqa: E402  (benchmarks/serving.py, beside this script)
from serving import (  # noqa: E402
    Gunicorn,
    LoadGenerator,
    Request,
    cookie_header,
    describe_gunicorn,
    fetch,
    get,
    gunicorn_settings,
    libpq_url,
    lms_env,
    log,
    sign_in,
)
from sqlalchemy.engine import make_url  # noqa: E402

BASE_URL = "https://academy.bench.example"
DEMO_PASSWORD = "demo-password"
BARE_PAGE = "/bench/page"  # bare_app.py's small HTML page
RATIO_TARGET = 0.15
P95_TARGET_MS = 50.0
PAGES = ("my learning", "track", "lesson")
TRACK_LINK = re.compile(r'href="(/tracks/[^"/?#]+)"')
LESSON_LINK = re.compile(r'href="(/tracks/[^"/?#]+/lessons/[^"/?#]+)"')


def learner_emails(url: str, pattern: str, count: int) -> list[str]:
    """Active learners matching `pattern` with a live track assigned, spread by a hash."""
    with psycopg.connect(libpq_url(url)) as connection:
        return [row[0] for row in connection.execute(
            "SELECT email FROM user_account u WHERE email LIKE %s AND role = 'learner' "
            "AND active AND EXISTS (SELECT 1 FROM assignment a JOIN track t "
            "ON t.id = a.track_id WHERE a.user_id = u.id AND t.archived_at IS NULL) "
            "ORDER BY md5(email) LIMIT %s", (pattern, count))]


def learners_of(args) -> tuple[str, list[str], str, str]:
    """(database URL, learner emails, their password, what the data is)."""
    url = args.database_url
    if args.demo:
        emails = learner_emails(url, "%", args.learners)
        return url, emails, DEMO_PASSWORD, f"demo data in {make_url(url).database}"
    import dataset

    info = dataset.ensure(url, args.scale, reuse=args.reuse)
    counts = info.get("counts", {})
    described = (f"dataset at scale {args.scale:g} in {make_url(url).database}: "
                 + ", ".join(f"{counts[k]:,} {k}" for k in (
                     "organisation", "user_account", "track_completion", "lesson_completion",
                     "certificate") if k in counts))
    return url, learner_emails(url, "learner%@bench.example", args.learners), \
        info["password"], described


def pages_of(port: int, email: str, jar: dict, rng: random.Random) -> tuple[str, str]:
    """A track assigned to the learner and a lesson of it they can open (links they see)."""
    _, _, body = fetch(port, "/learning", jar)
    tracks = sorted(set(TRACK_LINK.findall(body)))
    rng.shuffle(tracks)
    for track in tracks:
        status, _, body = fetch(port, track, jar)
        lessons = [link for link in LESSON_LINK.findall(body) if link.startswith(track + "/")]
        if status == 200 and lessons:
            return track, rng.choice(lessons)
    sys.exit(f"{email}: no track with a lesson to open on My learning")


def main(argv: list[str] | None = None) -> int:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None,
                        help="the dataset's database (default: dataset.py's, "
                             "lms_bench_dataset)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="dataset size as a fraction of L (default 1)")
    parser.add_argument("--reuse", action="store_true",
                        help="use the dataset already built at this scale, if there is one")
    parser.add_argument("--demo", action="store_true",
                        help="use the demo data already in --database-url instead of the "
                             "dataset")
    parser.add_argument("--learners", type=int, default=50,
                        help="learners signed in and rotated through (default 50)")
    parser.add_argument("--duration", type=int, default=10,
                        help="seconds per measurement (default 10)")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per target")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds, each measuring all four targets back to back "
                             "(default 3)")
    parser.add_argument("--single-duration", type=int, default=10,
                        help="seconds per target with one connection (default 10)")
    parser.add_argument("--workers", type=int, default=2 * cores,
                        help=f"gunicorn sync workers for both servers (default 2 x cores = "
                             f"{2 * cores})")
    parser.add_argument("--connections", type=int, default=8,
                        help="concurrent connections (default 8)")
    parser.add_argument("--client-threads", type=int, default=min(2, cores),
                        help="wrk threads (default min(2, cores))")
    parser.add_argument("--client", choices=("wrk", "python"), default=None,
                        help="load generator (default wrk if installed, else python)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15",
                        help="LMS_REDIS_URL for the app, as in production (default "
                             "%(default)s); 'none' leaves it unset")
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args(argv)
    if min(args.learners, args.duration, args.rounds, args.workers, args.connections,
           args.single_duration) < 1:
        parser.error("--learners, --duration, --rounds, --single-duration, --workers and "
                     "--connections must be at least 1")
    if args.database_url is None:
        if args.demo:
            parser.error("--demo needs --database-url (a database holding `lms demo` data)")
        import dataset

        args.database_url = dataset.DEFAULT_URL
    client = serving.choose_client(args.client)
    folder = Path(tempfile.mkdtemp(prefix="lms-bench-learners-"))
    servers: list[Gunicorn] = []
    try:
        return run(args, folder, servers, client)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def run(args, folder: Path, servers: list[Gunicorn], client: str) -> int:
    url, emails, password, data = learners_of(args)
    if not emails:
        sys.exit("no active learner with an assigned track to sign in as")
    settings_args = gunicorn_settings(args.workers)
    env = lms_env(url, folder, BASE_URL,
                  REDIS_URL=None if args.redis_url == "none" else args.redis_url)
    app = Gunicorn("lms", "lms:create_app()", settings_args, env, folder)
    bare = Gunicorn("bare", "bare_app:create_app()", settings_args, env, folder)
    servers += [app, bare]
    for server in servers:
        server.start()
    app.wait_ready("/login")
    bare.wait_ready(BARE_PAGE)

    rng = random.Random(args.seed)
    targets: dict[str, list[Request]] = {"bare": [], **{page: [] for page in PAGES}}
    for number, email in enumerate(emails, 1):
        jar = sign_in(app.port, email, password)
        track, lesson = pages_of(app.port, email, jar, rng)
        cookie = cookie_header(jar)
        targets["my learning"].append(("/learning", cookie))
        targets["track"].append((track, cookie))
        targets["lesson"].append((lesson, cookie))
        targets["bare"].append((BARE_PAGE, cookie))
        if number % 10 == 0:
            log(f"signed in {number} / {len(emails)} learners")
    for label, requests in targets.items():
        port = bare.port if label == "bare" else app.port
        for path, cookie in requests:
            status, body = get(port, path, {"Cookie": cookie})
            if status != 200:
                sys.exit(f"{label}: GET {path} answered {status}: {body[:300]!r}")
    log(f"signed in {len(emails)} learners; each of their {sum(map(len, targets.values()))} "
        "requests answered 200")

    generators = {label: LoadGenerator(client, folder, label.replace(" ", "-"), requests,
                                       args.client_threads)
                  for label, requests in targets.items()}
    labels = list(targets)

    def measure(label: str, connections: int, seconds: int) -> dict:
        server = bare if label == "bare" else app
        return serving.measure(
            server, lambda: generators[label].run(server.port, connections, seconds),
            None if label == "bare" else url)

    load_before = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    for label in labels:
        log(f"warming up {label} for {args.warmup} s")
        measure(label, args.connections, args.warmup)
    results: dict[str, list[dict]] = {label: [] for label in labels}
    for round_number in range(args.rounds):
        shift = round_number % len(labels)
        for label in labels[shift:] + labels[:shift]:
            result = measure(label, args.connections, args.duration)
            results[label].append(result)
            log(f"round {round_number + 1}: {label:<12} {result['rps']:8.1f} req/s, "
                f"p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms, "
                f"non-200 {result['not_ok']}, socket errors {result['errors']}")
    single: dict[str, dict] = {}
    for label in labels:
        single[label] = measure(label, 1, args.single_duration)
        log(f"single-user: {label:<12} p50 {single[label]['p50']:.1f} ms, "
            f"p95 {single[label]['p95']:.1f} ms")
    for server in servers:
        server.stop()
    return report(args, results, single, labels, data, len(emails),
                  generators["bare"].describe(args.connections), load_before)


def summary(runs: list[dict]) -> dict:
    return {"rps": statistics.median(r["rps"] for r in runs),
            "runs": [r["rps"] for r in runs],
            **{key: sum(r[key] for r in runs) for key in ("requests", "not_ok", "errors")},
            **{key: statistics.median(r[key] for r in runs)
               for key in ("p50", "p90", "p95", "p99", "cpu_app", "cpu_db", "cpu_client",
                           "cpu_others")}}


def report(args, results: dict[str, list[dict]], single: dict[str, dict], labels: list[str],
           data: str, learners: int, loader: str, load_before: str) -> int:
    figures = {label: summary(runs) for label, runs in results.items()}
    base = figures["bare"]

    def cpu_total(s: dict) -> float:
        return s["cpu_app"] + s["cpu_db"] + s["cpu_client"]

    verdicts: dict[str, tuple[float, list[float], bool]] = {}
    for page in PAGES:
        ratios = [r["rps"] / max(b["rps"], 1e-9)
                  for r, b in zip(results[page], results["bare"], strict=True)]
        ratio = statistics.median(ratios)
        ok = (ratio >= RATIO_TARGET and single[page]["p95"] <= P95_TARGET_MS
              and figures[page]["not_ok"] == 0 and figures[page]["errors"] == 0
              and single[page]["not_ok"] == 0 and single[page]["errors"] == 0)
        verdicts[page] = (ratio, ratios, ok)
    clean_bare = base["not_ok"] == 0 and base["errors"] == 0
    verdict = "PASS" if clean_bare and all(v[2] for v in verdicts.values()) else "FAIL"

    rows = [
        ("machine", f"{os.cpu_count()} CPUs (shared by wrk, both gunicorns and PostgreSQL), "
                    f"load average {load_before} before measuring, "
                    + ", ".join(f"{x:.1f}" for x in os.getloadavg()) + " at the end"),
        ("data", data),
        ("signed in", f"{learners} learners through /login, one session each, rotated "
                      "through by every target (the bare route gets the same cookies)"),
        ("gunicorn", describe_gunicorn(args.workers) + ", same for both"),
        ("load generator", f"{loader}; {args.warmup} s warm-up per target, then "
                           f"{args.rounds} rounds x {args.duration} s, all four targets "
                           f"per round in turn first; then 1 connection x "
                           f"{args.single_duration} s each"),
    ]
    for label in labels:
        s = figures[label]
        rounds = ", ".join(f"{x:.0f}" for x in s["runs"])
        rows.append((f"{label}: req/s (rounds)", f"{s['rps']:.1f} ({rounds})"))
        rows.append(("  latency p50 / p90 / p95 / p99",
                     f"{s['p50']:.1f} / {s['p90']:.1f} / {s['p95']:.1f} / {s['p99']:.1f} ms"))
        rows.append(("  requests / non-200 / socket errors",
                     f"{s['requests']:,} / {s['not_ok']} / {s['errors']}"))
        rows.append(("  CPU per request: workers / PostgreSQL / wrk",
                     f"{s['cpu_app']:.2f} / {s['cpu_db']:.2f} / {s['cpu_client']:.2f} ms "
                     f"(= {cpu_total(s):.2f} ms); other work on the machine "
                     f"{s['cpu_others']:.2f} CPUs"))
        one = single[label]
        rows.append(("  single-user p50 / p95 / p99",
                     f"{one['p50']:.1f} / {one['p95']:.1f} / {one['p99']:.1f} ms "
                     f"({one['rps']:.0f} req/s, non-200 {one['not_ok']})"))
        if label in verdicts:
            ratio, ratios, ok = verdicts[label]
            rows.append(("  ratio to bare: rounds' median (rounds)",
                         f"{ratio:.3f} ("
                         + ", ".join(f"{x:.3f}" for x in ratios) + "); CPU cost ratio "
                         f"{cpu_total(base) / max(cpu_total(s), 1e-9):.3f}; "
                         f"{'meets' if ok else 'misses'} >= {RATIO_TARGET} and single-user "
                         f"p95 <= {P95_TARGET_MS:.0f} ms"))
    rows.append(("result", verdict))
    width = max(len(label) for label, _ in rows)
    print("\nLearner pages against a bare Flask route")
    print("-" * (width + 80))
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print("-" * (width + 80))
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
