"""Load benchmark: simulated learners with think time against gunicorn on PostgreSQL (bar 3).

The bar (issue 13): "300 simulated learners with 1-3 s think time opening My learning, a
track and a lesson, completing lessons and opening Exams, 3 minutes, gunicorn on PostgreSQL
at L, prints p50/p95/p99 per request type, the error rate, and that every acknowledged
completion was stored. Target on this 2-core machine: p95 <= 500 ms, 0 errors, 0 lost."

1. The data: the benchmark dataset L (`dataset.py`), built into `--database-url` unless
   `--reuse` finds it built at the same `--scale`; with `--demo`, the demo data already in
   `--database-url` (fewer learners than simulated ones share people, each with a session
   of their own). The learners' completions are added to that database.
2. Starts the LMS under gunicorn (`serving.py`: `--workers` sync workers, no access log, no
   control socket, `LMS_ENV=production`).
3. Signs every simulated learner in through /login (8 at a time, before the clock starts).
4. Runs `--learners` learners for `--duration` seconds, each in a loop, waiting a random
   1-3 s (`--think`) before every request as a person reading would:
   My learning; a track from it (the one they were working through while it still has a
   lesson to complete); the lesson that track page offers next (else one of its lessons);
   if that lesson shows the *Mark complete* form, its CSRF token is read from the form and
   the form is posted, and the page the answer redirects to (303) is opened at once, as a
   browser does; then Exams (/assessments). Learners start spread over the first think
   time. The client is asyncio with aiohttp, in this process; cookies are kept by hand per
   learner (the session cookie is `Secure`, the server plain HTTP).
5. Counts as an error every request that fails, times out (`--timeout`), or answers other
   than 200 (a GET) or 303 (the completion). Every completion the server acknowledged with
   its redirect is recorded, and after the run (gunicorn stopped) the database is asked
   whether each (person, track, lesson) is stored.
6. Prints p50/p95/p99 and the slowest time per request type, counts and requests/s, the
   error rate and errors by kind, completions acknowledged / stored / lost, and from /proc
   the CPU used by the gunicorn workers, the PostgreSQL backends and the client. Exits 1
   unless every request type's p95 is at most 500 ms, there is no error and no lost
   completion.

    .venv/bin/python benchmarks/learner_load.py --reuse       # L already built (dataset.py)
    .venv/bin/python benchmarks/learner_load.py --scale 0.02 --learners 50 --duration 30
    .venv/bin/python benchmarks/learner_load.py --demo --learners 30 --duration 30 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/lms_bench_demo
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import aiohttp  # noqa: E402
import psycopg  # noqa: E402
import serving  # noqa: E402  (benchmarks/serving.py, beside this script)
from learner_throughput import learners_of  # noqa: E402
from serving import (  # noqa: E402
    CSRF_TOKEN,
    Gunicorn,
    cookie_header,
    describe_gunicorn,
    gunicorn_settings,
    keep_cookies,
    libpq_url,
    lms_env,
    log,
)

BASE_URL = "https://academy.bench.example"
P95_TARGET_MS = 500.0
KINDS = ("my learning", "track", "lesson", "complete", "exams")
TRACK_LINK = re.compile(r'href="(/tracks/[^"/?#]+)"')
LESSON_LINK = re.compile(r'href="(/tracks/[^"/?#]+/lessons/[^"/?#]+)"')
# The lesson a track page offers next: its list item is marked "is-next"; the page head's
# button ("Start: ...", "Continue: ...") links to it too.
NEXT_LESSON = re.compile(r'class="[^"]*\bis-next\b[^"]*"[^>]*>.{0,600}?'
                         r'href="(/tracks/[^"/?#]+/lessons/[^"/?#]+)"', re.S)
COMPLETE_FORM = re.compile(r'<form[^>]*action="(/tracks/[^"/?#]+/lessons/[^"/?#]+/complete)"')


@dataclass
class Tally:
    """What the simulated learners saw: latencies per request type, errors, completions."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: dict[str, int] = field(default_factory=dict)
    acknowledged: set[tuple[str, str]] = field(default_factory=set)
    completions_refused: int = 0

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


class Learner:
    """One simulated person with a signed-in session and a track they work through."""

    def __init__(self, email: str, password: str, base: str, http: aiohttp.ClientSession,
                 tally: Tally, rng: random.Random, think: tuple[float, float]):
        self.email, self.password, self.base, self.http = email, password, base, http
        self.tally, self.rng, self.think_range = tally, rng, think
        self.jar: dict[str, str] = {}
        self.track: str | None = None
        self.finished_tracks: set[str] = set()

    async def request(self, kind: str | None, path: str, form: dict | None = None
                      ) -> tuple[int, str, str] | None:
        """GET (or POST `form`); time it under `kind` (None: not timed). None on failure."""
        headers = {"Cookie": cookie_header(self.jar)} if self.jar else {}
        started = time.perf_counter()
        try:
            async with self.http.request("GET" if form is None else "POST", self.base + path,
                                         data=form, headers=headers,
                                         allow_redirects=False) as response:
                body = await response.text()
                status, location = response.status, response.headers.get("Location", "")
                keep_cookies(self.jar, response.headers.getall("Set-Cookie", []))
        except (TimeoutError, aiohttp.ClientError) as error:
            if kind is not None:
                self.tally.latencies[kind].append(time.perf_counter() - started)
                self.tally.error(f"{kind}: {type(error).__name__}")
            return None
        if kind is not None:
            self.tally.latencies[kind].append(time.perf_counter() - started)
            expected = 200 if form is None else 303
            if status != expected:
                self.tally.error(f"{kind}: HTTP {status}"
                                 + (f" to {urlsplit(location).path}" if location else ""))
                return None
        return status, location, body

    async def sign_in(self) -> None:
        answer = await self.request(None, "/login")
        token = CSRF_TOKEN.search(answer[2]) if answer else None
        if token is None:
            sys.exit(f"GET /login for {self.email} failed or has no CSRF token")
        answer = await self.request(None, "/login", form={
            "email": self.email, "password": self.password, "csrf_token": token[1]})
        if answer is None or answer[0] not in (302, 303):
            sys.exit(f"signing in as {self.email} answered {answer and answer[0]}")
        answer = await self.request(None, "/learning")  # puts the CSRF token in the session
        if answer is None or answer[0] != 200:
            sys.exit(f"My learning for {self.email} answered {answer and answer[0]}")

    async def think(self) -> None:
        await asyncio.sleep(self.rng.uniform(*self.think_range))

    async def run(self, deadline: float) -> None:
        await asyncio.sleep(self.rng.uniform(0, self.think_range[1]))  # spread the start
        while time.monotonic() < deadline:
            await self.visit(deadline)

    async def visit(self, deadline: float) -> None:
        """My learning, a track, its next lesson (completed if it can be), Exams."""
        answer = await self.request("my learning", "/learning")
        if answer is None:
            return await self.think()
        tracks = sorted(set(TRACK_LINK.findall(answer[2])))
        open_tracks = [t for t in tracks if t not in self.finished_tracks]
        if self.track not in open_tracks:
            self.track = self.rng.choice(open_tracks or tracks) if tracks else None
        await self.think()
        if self.track is None or time.monotonic() >= deadline:
            return
        answer = await self.request("track", self.track)
        if answer is None:
            return await self.think()
        following = NEXT_LESSON.search(answer[2])
        lessons = [x for x in LESSON_LINK.findall(answer[2]) if x.startswith(self.track + "/")]
        lesson = following[1] if following else (self.rng.choice(lessons) if lessons else None)
        if following is None:
            self.finished_tracks.add(self.track)  # nothing next: done, or waits on a check
        await self.think()
        if lesson is not None and time.monotonic() < deadline:
            await self.lesson(lesson, deadline)
        if time.monotonic() < deadline:
            await self.request("exams", "/assessments")
            await self.think()

    async def lesson(self, path: str, deadline: float) -> None:
        answer = await self.request("lesson", path)
        if answer is None:
            return await self.think()
        form, token = COMPLETE_FORM.search(answer[2]), CSRF_TOKEN.search(answer[2])
        await self.think()  # reading the lesson
        if form is None or token is None:
            # A knowledge check (completed by passing it) or a lesson already done.
            self.finished_tracks.add(self.track)
            return
        if time.monotonic() >= deadline:
            return
        done = await self.request("complete", form[1], form={"csrf_token": token[1]})
        if done is None:
            return
        self.tally.acknowledged.add((self.email, form[1].removesuffix("/complete")))
        target = urlsplit(done[1]).path
        await self.request("lesson" if "/lessons/" in target else "track", target)


async def simulate(port: int, emails: list[str], password: str, args, tally: Tally,
                   on_start, on_stop) -> float:
    """Sign every learner in, then run them for the duration; return the seconds run."""
    rng = random.Random(args.seed)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    # One connection per request in flight, as many as learners: sync workers close each.
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                     cookie_jar=aiohttp.DummyCookieJar()) as http:
        learners = [Learner(emails[i % len(emails)], password, f"http://127.0.0.1:{port}",
                            http, tally, random.Random(rng.random()), args.think)
                    for i in range(args.learners)]
        gate = asyncio.Semaphore(8)

        signed_in = 0

        async def sign_in(learner: Learner) -> None:
            nonlocal signed_in
            async with gate:
                await learner.sign_in()
            signed_in += 1
            if signed_in % 50 == 0:
                log(f"signed in {signed_in} / {len(learners)} learners")

        started = time.perf_counter()
        await asyncio.gather(*(sign_in(learner) for learner in learners))
        log(f"signed in {len(learners)} learners in {time.perf_counter() - started:.1f} s; "
            f"running for {args.duration} s")
        on_start()
        started = time.monotonic()
        deadline = started + args.duration
        await asyncio.gather(*(learner.run(deadline) for learner in learners))
        seconds = time.monotonic() - started
        on_stop()
        return seconds


def lost_completions(url: str, acknowledged: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """The acknowledged (email, lesson path) pairs with no lesson completion stored."""
    if not acknowledged:
        return []
    rows = sorted(acknowledged)
    emails = [email for email, _ in rows]
    tracks = [path.split("/")[2] for _, path in rows]
    lessons = [path.split("/")[4] for _, path in rows]
    with psycopg.connect(libpq_url(url)) as connection:
        return connection.execute(
            "SELECT ack.email, '/tracks/' || ack.track || '/lessons/' || ack.lesson "
            "FROM unnest(%s::text[], %s::text[], %s::text[]) AS ack(email, track, lesson) "
            "WHERE NOT EXISTS (SELECT 1 FROM lesson_completion c "
            "JOIN user_account u ON u.id = c.user_id JOIN lesson l ON l.id = c.lesson_id "
            "JOIN track t ON t.current_version_id = l.track_version_id "
            "WHERE u.email = ack.email AND t.slug = ack.track AND l.slug = ack.lesson)",
            (emails, tracks, lessons)).fetchall()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=300,
                        help="simulated learners (default 300)")
    parser.add_argument("--duration", type=int, default=180,
                        help="seconds of load (default 180)")
    parser.add_argument("--think", type=float, nargs=2, default=(1.0, 3.0),
                        metavar=("MIN", "MAX"), help="think time in seconds (default 1 3)")
    parser.add_argument("--workers", type=int, default=2 * cores,
                        help=f"gunicorn sync workers (default 2 x cores = {2 * cores})")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds before a request counts as failed (default 30)")
    parser.add_argument("--database-url", default=None,
                        help="the dataset's database (default: dataset.py's, "
                             "lms_bench_dataset)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="dataset size as a fraction of L (default 1)")
    parser.add_argument("--reuse", action="store_true",
                        help="use the dataset already built at this scale, if there is one")
    parser.add_argument("--demo", action="store_true",
                        help="use the demo data already in --database-url instead")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15",
                        help="LMS_REDIS_URL for the app, as in production (default "
                             "%(default)s); 'none' leaves it unset")
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args(argv)
    if min(args.learners, args.duration, args.workers) < 1 or not (
            0 <= args.think[0] <= args.think[1]):
        parser.error("--learners, --duration and --workers must be at least 1, and "
                     "--think MIN MAX with 0 <= MIN <= MAX")
    if args.database_url is None:
        if args.demo:
            parser.error("--demo needs --database-url (a database holding `lms demo` data)")
        import dataset

        args.database_url = dataset.DEFAULT_URL
    folder = Path(tempfile.mkdtemp(prefix="lms-bench-load-"))
    server: Gunicorn | None = None
    try:
        url, emails, password, data = learners_of(args)
        if not emails:
            sys.exit("no active learner with an assigned track to sign in as")
        server = Gunicorn("lms", "lms:create_app()", gunicorn_settings(args.workers),
                          lms_env(url, folder, BASE_URL, REDIS_URL=None
                                  if args.redis_url == "none" else args.redis_url), folder)
        server.start()
        server.wait_ready("/login")
        tally = Tally()
        meter = serving.CpuMeter(server, url, client_in_process=True)
        cpu: dict = {}
        load_before = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        seconds = asyncio.run(simulate(
            server.port, emails, password, args, tally, meter.start,
            lambda: cpu.update(meter.stop(sum(map(len, tally.latencies.values()))))))
        server.stop()  # every request answered before the database is asked
        lost = lost_completions(url, tally.acknowledged)
        return report(args, data, len(set(emails)), tally, lost, seconds, cpu, load_before)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def report(args, data: str, people: int, tally: Tally, lost: list, seconds: float, cpu: dict,
           load_before: str) -> int:
    total = sum(map(len, tally.latencies.values()))
    errors = sum(tally.errors.values())
    slow = [kind for kind, values in tally.latencies.items()
            if values and percentile(values, 95) > P95_TARGET_MS]
    verdict = "PASS" if total and not slow and not errors and not lost else "FAIL"
    think = f"{args.think[0]:g}-{args.think[1]:g} s"
    rows = [
        ("machine", f"{os.cpu_count()} CPUs (shared by the client, gunicorn and PostgreSQL), "
                    f"load average {load_before} before, "
                    + ", ".join(f"{x:.1f}" for x in os.getloadavg()) + " at the end"),
        ("data", data),
        ("learners", f"{args.learners} simulated, as {people} people, think time {think}, "
                     f"{seconds:.0f} s"),
        ("gunicorn", describe_gunicorn(args.workers)),
        ("client", f"aiohttp {aiohttp.__version__} in one process, a request counts as "
                   f"failed after {args.timeout:g} s"),
    ]
    for kind in KINDS:
        values = tally.latencies[kind]
        if values:
            rows.append((f"{kind}", f"{len(values):,} requests; p50 "
                         f"{percentile(values, 50):.0f} / p95 {percentile(values, 95):.0f} / "
                         f"p99 {percentile(values, 99):.0f} ms, slowest "
                         f"{1000 * max(values):.0f} ms"))
        else:
            rows.append((kind, "none made"))
    all_values = [v for values in tally.latencies.values() for v in values]
    if all_values:
        rows.append(("all requests", f"{total:,} ({total / seconds:.1f} req/s); p50 "
                     f"{percentile(all_values, 50):.0f} / p95 "
                     f"{percentile(all_values, 95):.0f} / p99 {percentile(all_values, 99):.0f}"
                     " ms"))
    rows.append(("errors", f"{errors} ({100 * errors / max(total, 1):.2f}%)"
                 + (": " + ", ".join(f"{k} x{v}" for k, v in sorted(tally.errors.items()))
                    if errors else "")))
    rows.append(("completions acknowledged / stored / lost",
                 f"{len(tally.acknowledged):,} / {len(tally.acknowledged) - len(lost):,} / "
                 f"{len(lost)}" + (" (" + ", ".join(f"{e} {p}" for e, p in lost[:5]) + ")"
                                   if lost else "")))
    if cpu:
        rows.append(("CPU per request: workers / PostgreSQL / client",
                     f"{cpu['cpu_app']:.2f} / {cpu['cpu_db']:.2f} / {cpu['cpu_client']:.2f} ms;"
                     f" CPUs busy {cpu['cpus'][0]:.2f} / {cpu['cpus'][1]:.2f} / "
                     f"{cpu['cpus'][2]:.2f}, other work {cpu['cpu_others']:.2f}"))
    rows.append(("target", f"p95 <= {P95_TARGET_MS:.0f} ms for every request type, 0 errors, "
                           "0 lost" + (f"; slow: {', '.join(slow)}" if slow else "")))
    rows.append(("result", verdict))
    width = max(len(label) for label, _ in rows)
    print(f"\nLearner load: {args.learners} learners for {seconds:.0f} s")
    print("-" * (width + 80))
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print("-" * (width + 80))
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
