"""What the serving benchmarks share: gunicorn, the load generators and CPU accounting.

`verification_throughput.py` and `learner_throughput.py` measure a page of the LMS beside a
bare Flask app (`bare_app.py`) under the same gunicorn settings, in the same run, and
`learner_load.py` serves the LMS the same way. This module holds the parts that must be the
same for all of them:

- `Gunicorn`: one server in its own process group on a free port, N workers, no access log,
  and no control socket (gunicorn 24 and later open one at a fixed default path,
  `$XDG_RUNTIME_DIR/gunicorn.ctl` or `~/.gunicorn/gunicorn.ctl`, shared by every gunicorn
  on the machine: the app and the bare app of one run, and any other benchmark running at
  the same time, would take it from each other, and a benchmark has no use for it).
- `LoadGenerator`: wrk with a Lua script that rotates through a list of requests (a path
  and, for signed-in pages, the session cookie to send with it) and counts every answer
  that is not a 200; or, without wrk, a Python `http.client` client doing the same.
- `measure`: one run of a load generator against a server, with the CPU each request cost
  in the gunicorn workers, the PostgreSQL backends and the client, read from /proc, and the
  CPU other work on the machine took meanwhile. On a shared machine the ratio of CPU costs
  holds steady while requests per second follow whatever else runs.

Linux only (/proc); PostgreSQL on the same machine for its backends' CPU.
"""

from __future__ import annotations

import http.client
import itertools
import json
import math
import multiprocessing
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import psycopg
from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# A wrk script. Each line of the file given after `--` is a path, optionally followed by a tab
# and a Cookie header to send with it; every thread walks the list from its own offset.
# Answers other than 200 are counted per thread and added up at the end, which prints one
# JSON line.
WRK_SCRIPT = r"""
local threads, next_id = {}, 0
function setup(thread)
  next_id = next_id + 1
  thread:set("thread_no", next_id)
  table.insert(threads, thread)
end
function init(args)
  requests_ = {}
  for line in io.lines(args[1]) do
    local path, cookie = line:match("^([^\t]*)\t(.*)$")
    if path then
      requests_[#requests_ + 1] = wrk.format("GET", path, {Cookie = cookie})
    else
      requests_[#requests_ + 1] = wrk.format("GET", line)
    end
  end
  position = (thread_no * 7919) % #requests_
  ok, not_ok = 0, 0
end
function request()
  position = position % #requests_ + 1
  return requests_[position]
end
function response(status, headers, body)
  if status == 200 then ok = ok + 1 else not_ok = not_ok + 1 end
end
function done(summary, latency, requests)
  local ok_total, not_ok_total = 0, 0
  for _, thread in ipairs(threads) do
    ok_total = ok_total + thread:get("ok")
    not_ok_total = not_ok_total + thread:get("not_ok")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "microseconds": %d, "ok": %d, "not_ok": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, ' ..
    '"p50": %d, "p90": %d, "p95": %d, "p99": %d, "max": %d}\n',
    summary.requests, summary.duration, ok_total, not_ok_total, e.connect, e.read, e.write,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max))
end
"""

# A request for a load generator: a path, and the Cookie header to send (or None).
Request = tuple[str, str | None]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://...) as libpq takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def lms_env(database_url: str, folder: Path, base_url: str, **extra: str | None) -> dict:
    """The environment of a production LMS server: this database, a fixed secret, no mail.

    `extra` adds LMS_* variables (name without the prefix); None removes one.
    """
    env = {**os.environ, "LMS_ENV": "production", "LMS_DATABASE_URL": database_url,
           "LMS_SECRET_KEY": "benchmark-" + "x" * 40, "LMS_BASE_URL": base_url,
           "LMS_INSTANCE_PATH": str(folder / "instance")}
    env.pop("LMS_SMTP_URL", None)
    for name, value in extra.items():
        if value is None:
            env.pop(f"LMS_{name}", None)
        else:
            env[f"LMS_{name}"] = value
    return env


# --- gunicorn ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_settings(workers: int, worker_class: str = "sync", threads: int = 4) -> list[str]:
    """The settings every benchmark server gets: the same for the LMS and the bare app."""
    settings = ["--workers", str(workers), "--worker-class", worker_class,
                "--chdir", str(PROJECT_ROOT), "--pythonpath", "benchmarks",
                "--log-level", "warning", "--backlog", "2048", "--timeout", "60"]
    if worker_class == "gthread":
        settings += ["--threads", str(threads)]
    return settings


def no_control_socket() -> list[str]:
    """`--no-control-socket` where gunicorn has a control socket (24 and later)."""
    from gunicorn.config import KNOWN_SETTINGS

    if any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS):
        return ["--no-control-socket"]
    return []


def describe_gunicorn(workers: int, worker_class: str = "sync", threads: int = 4) -> str:
    from gunicorn import __version__

    return (f"gunicorn {__version__}, {workers} {worker_class} workers"
            + (f" x {threads} threads" if worker_class == "gthread" else "")
            + ", bind 127.0.0.1:<port>, no access log, no control socket")


class Gunicorn:
    """One gunicorn server in its own process group, stopped with SIGTERM (then SIGKILL).

    Its output goes to `folder/gunicorn-<label>.log`; no access log (gunicorn's default).
    """

    def __init__(self, label: str, app: str, settings_args: list[str], env: dict,
                 folder: Path):
        self.label, self.app, self.port = label, app, free_port()
        self.command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
                        *no_control_socket(), *settings_args, app]
        self.env = env
        self.log_path = folder / f"gunicorn-{label}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log(f"starting {self.label}: {' '.join(self.command[1:])}")
        self.log = open(self.log_path, "w")  # noqa: SIM115  (closed in stop())
        self.process = subprocess.Popen(self.command, cwd=PROJECT_ROOT, env=self.env,
                                        stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def wait_ready(self, path: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"{self.label} gunicorn exited: {self.log_path.read_text()[-2000:]}")
            try:
                status, _ = get(self.port, path)
                if status < 500:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        sys.exit(f"{self.label} gunicorn not ready after {timeout} s")

    def workers(self) -> list[int]:
        return children(self.process.pid)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the arbiter stops its workers
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        self.process = None


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# --- CPU accounting (Linux /proc) --------------------------------------------------------------

def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (0 for any that is gone)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def children(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                pids.append(int(entry.name))
    return pids


def backends(url: str) -> list[int]:
    """PostgreSQL server processes serving the benchmark database (local server)."""
    with psycopg.connect(libpq_url(url)) as connection:
        return [row[0] for row in connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")]


def client_cpu(in_process: bool = False) -> float:
    """CPU of the load generator so far: the finished child processes (wrk, the Python
    client's processes), or with `in_process` this process (an asyncio client)."""
    usage = resource.getrusage(resource.RUSAGE_SELF if in_process else resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    ticks = os.sysconf("SC_CLK_TCK")
    return (sum(values[:8]) - idle) / ticks, sum(values[:8]) / ticks / (os.cpu_count() or 1)


class CpuMeter:
    """CPU used between `start()` and `stop()` by a server's workers, PostgreSQL and the client.

    The workers and backends are listed at `start()`: both stay up for a run (sync workers
    and their kept connections), so a run is measured from its first request to its last.
    """

    def __init__(self, server: Gunicorn, database_url: str | None = None,
                 client_in_process: bool = False):
        self.server, self.database_url = server, database_url
        self.client_in_process = client_in_process

    def start(self) -> None:
        self.workers = self.server.workers()
        self.database = backends(self.database_url) if self.database_url else []
        self.before = self._read()

    def _read(self) -> tuple:
        return (cpu_seconds(self.workers), cpu_seconds(self.database),
                client_cpu(self.client_in_process), machine_cpu())

    def stop(self, requests: int) -> dict:
        """CPU milliseconds per request in each part, and the other work in CPUs."""
        after = self._read()
        used = [b - a for a, b in zip(self.before[:3], after[:3], strict=True)]
        busy = after[3][0] - self.before[3][0]
        elapsed = after[3][1] - self.before[3][1]
        per_request = 1000 / max(requests, 1)
        return {"cpu_app": used[0] * per_request, "cpu_db": used[1] * per_request,
                "cpu_client": used[2] * per_request,
                "cpu_others": max(0.0, busy - sum(used)) / max(elapsed, 1e-9),
                "cpus": [x / max(elapsed, 1e-9) for x in used]}


def measure(server: Gunicorn, run: Callable[[], dict], database_url: str | None = None) -> dict:
    """`run()` (a load generator's result) plus the CPU each request cost, from /proc."""
    meter = CpuMeter(server, database_url)
    meter.start()
    result = run()
    result.update(meter.stop(result["requests"]))
    return result


# --- load generators -----------------------------------------------------------------------------

def choose_client(requested: str | None) -> str:
    """wrk if installed (or asked for), else the Python client."""
    client = requested or ("wrk" if shutil.which("wrk") else "python")
    if client == "wrk" and not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk), or use --client python")
    return client


class LoadGenerator:
    """Closed-loop load on one server: `connections` keep-alive connections, each sending the
    next request as soon as the previous answer is in, rotating through `requests`."""

    def __init__(self, client: str, folder: Path, name: str, requests: Sequence[Request],
                 threads: int):
        self.client, self.threads = client, threads
        self.requests = list(requests)
        self.requests_file = folder / f"requests-{name}.txt"
        self.requests_file.write_text("".join(
            f"{path}\t{cookie}\n" if cookie else f"{path}\n" for path, cookie in self.requests))
        self.script = folder / "rotate.lua"
        if not self.script.exists():
            self.script.write_text(WRK_SCRIPT)

    def run(self, port: int, connections: int, seconds: int) -> dict:
        if self.client == "wrk":
            return run_wrk(port, self.requests_file, self.script,
                           min(self.threads, connections), connections, seconds)
        return run_python(port, self.requests, connections, seconds)

    def describe(self, connections: int) -> str:
        if self.client == "wrk":
            return f"wrk, {min(self.threads, connections)} threads, {connections} connections"
        return (f"Python http.client, {connections} processes ("
                + ("--client python)" if shutil.which("wrk") else "wrk not installed)"))


def run_wrk(port: int, requests_file: Path, script: Path, threads: int, connections: int,
            seconds: int) -> dict:
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
               "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}", "--",
               str(requests_file)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_RESULT ")), None)
    if done.returncode != 0 or line is None:
        sys.exit(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    raw = json.loads(line.split(" ", 1)[1])
    seconds_run = raw["microseconds"] / 1e6
    return {"requests": raw["requests"], "rps": raw["requests"] / seconds_run,
            "not_ok": raw["not_ok"], "errors": raw["connect_errors"] + raw["read_errors"]
            + raw["write_errors"] + raw["timeouts"],
            **{p: raw[p] / 1000 for p in ("p50", "p90", "p95", "p99", "max")}}


def _python_client(args: tuple) -> tuple[int, int, int, list[float]]:
    port, requests, offset, deadline = args
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    ok = not_ok = errors = 0
    latencies: list[float] = []
    position = offset
    while time.time() < deadline:
        position = (position + 1) % len(requests)
        path, cookie = requests[position]
        started = time.perf_counter()
        try:
            connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            response = connection.getresponse()
            response.read()
            if response.will_close:
                connection.close()  # sync workers close; the next request reconnects
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
            continue
        latencies.append(time.perf_counter() - started)
        if response.status == 200:
            ok += 1
        else:
            not_ok += 1
    connection.close()
    return ok, not_ok, errors, latencies


def run_python(port: int, requests: Sequence[Request], connections: int, seconds: int) -> dict:
    deadline = time.time() + seconds
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(connections) as pool:
        results = pool.map(_python_client, [(port, requests, i * 7919, deadline)
                                            for i in range(connections)])
    elapsed = time.perf_counter() - started
    latencies = sorted(itertools.chain.from_iterable(r[3] for r in results))
    count = sum(r[0] + r[1] for r in results)

    def percentile(p: float) -> float:
        return 1000 * latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] \
            if latencies else math.nan

    return {"requests": count, "rps": count / elapsed,
            "not_ok": sum(r[1] for r in results), "errors": sum(r[2] for r in results),
            **{f"p{p}": percentile(p) for p in (50, 90, 95, 99)},
            "max": 1000 * latencies[-1] if latencies else math.nan}


# --- signed-in clients ---------------------------------------------------------------------------

# The CSRF token of a form (Flask-WTF's hidden field, or the one base.html puts in the
# sign-out form): both hold the session's token.
CSRF_TOKEN = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


def keep_cookies(jar: dict[str, str], set_cookies: Sequence[str]) -> None:
    """Apply Set-Cookie headers to `jar` (name -> value), as a browser would.

    Kept by hand rather than by a cookie jar: in production the session cookie is `Secure`,
    and the benchmarks talk plain HTTP to 127.0.0.1, where a jar would not send it back.
    """
    for header in set_cookies:
        cookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            expires = morsel["expires"]
            if morsel.value == "" or morsel["max-age"] == "0" or (
                    expires and "1970" in expires):
                jar.pop(name, None)
            else:
                jar[name] = morsel.value


def cookie_header(jar: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in jar.items())


def fetch(port: int, path: str, jar: dict[str, str], form: dict | None = None
          ) -> tuple[int, str, str]:
    """GET `path` (or POST `form` to it) with the jar's cookies, keeping the new ones.

    Returns the status, the Location header and the body as text.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Cookie": cookie_header(jar)} if jar else {}
    try:
        if form is None:
            connection.request("GET", path, headers=headers)
        else:
            connection.request("POST", path, body=urlencode(form), headers={
                **headers, "Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        keep_cookies(jar, response.msg.get_all("Set-Cookie") or [])
        return response.status, response.getheader("Location") or "", body
    finally:
        connection.close()


def sign_in(port: int, email: str, password: str) -> dict[str, str]:
    """Sign in through /login as a person would; return the cookie jar of the session.

    Then opens My learning until the cookie stops changing (the first page a session
    renders puts its CSRF token in the cookie), so a load generator replaying the cookie
    sends what a browser would from then on.
    """
    jar: dict[str, str] = {}
    status, _, body = fetch(port, "/login", jar)
    token = CSRF_TOKEN.search(body)
    if status != 200 or token is None:
        sys.exit(f"GET /login answered {status} without a CSRF token: {body[:300]!r}")
    status, location, body = fetch(port, "/login", jar, form={
        "email": email, "password": password, "csrf_token": token[1]})
    if status not in (302, 303):
        sys.exit(f"signing in as {email} answered {status}: {body[:300]!r}")
    for _ in range(3):
        before = dict(jar)
        status, location, body = fetch(port, "/learning", jar)
        if status != 200:
            sys.exit(f"My learning for {email} answered {status} {location}: {body[:300]!r}")
        if jar == before:
            return jar
    sys.exit(f"the session cookie of {email} keeps changing on every page")
