"""Benchmark (issue 13, bar 1): every vendor and partner page at S and at L.

"At L (and with one partner of 3,000 staff added): every vendor and partner page's median
<= 150 ms and <= 300 KB of HTML for its first page; no page's time grows more than 1.5x
from S to L."

1. Lists the pages from the app's url_map: every GET route is either measured (PAGES: who
   opens it and with which arguments) or excluded with a reason (EXCLUDED). A GET route in
   neither stops the run before anything is built, so a new page cannot be forgotten
   (tests/test_benchmark_pages.py checks the same on every test run).
2. S is the demo (`lms demo`, with the same recomputes, review periods and webhook as L)
   in its own PostgreSQL database; L is benchmarks/dataset.py (5,000 partners, 200,000
   people, a partner of 3,000 staff). Both are built unless --reuse finds them built.
3. For each, serves the app with gunicorn (4 sync workers, LMS_ENV=production, no control
   socket) beside benchmarks/bare_app.py's small HTML page under the same settings, signs
   in through /login as each role (server-side session: the cookie is kept), and requests
   every page --warmup times, then --requests times, one at a time, timing each to its last
   byte. The bare page is timed the same way in the same run.
4. Prints per page the median, p95 and size of the first page at S and at L, the growth
   L / S, and PASS or FAIL against the bars; exits 1 on any FAIL.

Exports (CSV/JSON downloads of every partner) are not HTML pages: for them the bars apply
to the time to the first byte (a streamed export starts at once), and the size is printed
only.

    .venv/bin/python benchmarks/pages.py --scale 0.05             # quick, small L
    .venv/bin/python benchmarks/pages.py --keep                    # full L, kept ...
    .venv/bin/python benchmarks/pages.py --reuse --keep --only scorecard   # ... measured again

PostgreSQL must accept `postgres` without a password. Database names must contain "bench";
they are dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from benchmarks import dataset  # noqa: E402
from benchmarks.dataset import log  # noqa: E402

SMALL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/lms_bench_pages_s"
SMALL_SETTING = "bench.pages.small"
MEDIAN_BAR_MS = 150.0
SIZE_BAR_KB = 300.0
GROWTH_BAR = 1.5
BARE_PATH = "/bench/page"

# Who opens a page: the vendor's three roles, and the admins of the big partner (3,000
# staff at L, the largest demo partner at S) and of a typical one (about 40 at L).
ROLES = ("vendor_admin", "channel_manager", "author", "big_admin", "typical_admin")


@dataclass(frozen=True)
class Case:
    """One page to time: who opens it, with which path arguments and query."""

    who: str
    # Path arguments: "@name" is a value from the dataset's context (see `context`).
    args: tuple[tuple[str, object], ...] = ()
    query: tuple[tuple[str, object], ...] = ()
    label: str = ""
    export: bool = False


def case(who: str, label: str = "", export: bool = False, query: dict | None = None,
         **args) -> Case:
    return Case(who, tuple(args.items()), tuple((query or {}).items()), label, export)


BIG, TYPICAL = "big partner", "typical partner"

# Every vendor and partner page, by endpoint. Partner pages are opened for the big partner
# and a typical one; the vendor's lists by the role that lives in them.
PAGES: dict[str, list[Case]] = {
    # The vendor admin's lists and forms.
    "admin.organisations": [case("vendor_admin")],
    "admin.new_organisation": [case("vendor_admin")],
    "admin.edit_organisation": [case("vendor_admin", BIG, organisation_id="@big")],
    "admin.users": [case("vendor_admin")],
    "admin.new_user": [case("vendor_admin")],
    "admin.edit_user": [case("vendor_admin", BIG, user_id="@big_person")],
    "admin.outbox": [case("vendor_admin")],
    "certifications.register": [case("vendor_admin")],
    "certifications.certificate": [case("vendor_admin", certificate_id="@certificate")],
    "journeys.vendor_overview": [case("vendor_admin")],
    "verify.check_file": [case("vendor_admin")],
    "accounts.my_sessions": [case("vendor_admin")],
    # A partner's pages, as the vendor sees them.
    # ...and as their own admins see them (the menu's Staff, Certifications, Readiness and
    # Onboarding, which /staff, /staff/certifications and /readiness redirect to).
    "partner.staff": [case("vendor_admin", BIG, organisation_id="@big"),
                      case("vendor_admin", TYPICAL, organisation_id="@typical"),
                      case("big_admin", BIG, organisation_id="@big"),
                      case("typical_admin", TYPICAL, organisation_id="@typical")],
    "partner.person": [case("vendor_admin", BIG, user_id="@big_person"),
                       case("vendor_admin", TYPICAL, user_id="@typical_person")],
    "certifications.organisation": [case("vendor_admin", BIG, organisation_id="@big"),
                                    case("vendor_admin", TYPICAL, organisation_id="@typical"),
                                    case("big_admin", BIG, organisation_id="@big"),
                                    case("typical_admin", TYPICAL, organisation_id="@typical")],
    "journeys.organisation": [case("vendor_admin", BIG, organisation_id="@big"),
                              case("vendor_admin", TYPICAL, organisation_id="@typical"),
                              case("big_admin", BIG, organisation_id="@big")],
    "journeys.journey": [case("vendor_admin", BIG, journey_id="@big_journey")],
    "readiness.organisation": [case("channel_manager", BIG, organisation_id="@big"),
                               case("channel_manager", TYPICAL, organisation_id="@typical"),
                               case("big_admin", BIG, organisation_id="@big"),
                               case("typical_admin", TYPICAL, organisation_id="@typical")],
    "partner.invite": [case("big_admin", BIG, organisation_id="@big")],
    # The scorecard, as the channel manager works with it.
    "scorecard.index": [case("channel_manager")],
    "scorecard.partner": [case("channel_manager", BIG, organisation_id="@big"),
                          case("channel_manager", TYPICAL, organisation_id="@typical")],
    "scorecard.export": [case("channel_manager", "csv", True, fmt="csv"),
                         case("channel_manager", "json", True, fmt="json")],
    "scorecard.imports_page": [case("channel_manager")],
    "scorecard.import_detail": [case("channel_manager", "every partner",
                                     import_id="@import")],
    "scorecard.import_template": [case("channel_manager", export=True)],
    "scorecard.periods_page": [case("channel_manager")],
    "scorecard.period": [case("channel_manager", period_id="@period")],
    "scorecard.period_export": [case("channel_manager", "csv", True, period_id="@period",
                                     fmt="csv"),
                                case("channel_manager", "json", True, period_id="@period",
                                     fmt="json")],
    "scorecard.close_period": [case("channel_manager", "the latest period",
                                    query={"period": "@period_start"})],
    "scorecard.compare": [case("channel_manager", "the last two")],
    "scorecard.webhooks_page": [case("channel_manager")],
    "scorecard.webhook": [case("channel_manager", endpoint_id="@webhook")],
    "scorecard.tokens_page": [case("channel_manager")],
    # The author's pages.
    "catalog.catalogue": [case("author")],
    "assessments.statistics": [case("author", slug="technical-associate-exam")],
    "assessments.statistics_csv": [case("author", export=True,
                                        slug="technical-associate-exam")],
}

LEARNER = "a learner's page (partner admins learn too): bar 2, the learner benchmarks"
EXCLUDED: dict[str, str] = {
    "accounts.home": "redirects to the role's first page, which is measured",
    "partner.my_staff": "redirects a partner admin to partner.staff, measured as them",
    "certifications.my_staff": "redirects a partner admin to certifications.organisation, "
                               "measured as them",
    "readiness.mine": "redirects a partner admin to readiness.organisation, measured as them",
    "accounts.login": "signed out",
    "accounts.forgot_password": "signed out",
    "accounts.reset_password": "signed out, with a one-time token",
    "accounts.accept_invitation": "signed out, with a one-time token",
    "static": "static files",
    "catalog.asset": "a lesson's file, served as stored",
    "catalog.my_learning": LEARNER,
    "catalog.track": LEARNER,
    "catalog.lesson": LEARNER,
    "assessments.index": LEARNER,
    "assessments.start_page": LEARNER,
    "assessments.resume": LEARNER + " (an attempt in progress)",
    "assessments.question": LEARNER + " (an attempt in progress)",
    "assessments.result": LEARNER + " (an attempt in progress)",
    "assessments.review": LEARNER + " (an attempt in progress)",
    "certifications.mine": LEARNER,
    "certifications.certificate_pdf": "a PDF: benchmarks/certificate_pdf.py",
    "journeys.mine": LEARNER,
    "journeys.evidence": "one milestone's evidence file as uploaded (the dataset has none)",
    "verify.search": "public: benchmarks/verification_throughput.py",
    "verify.certificate": "public: benchmarks/verification_throughput.py",
    "certifications_api.certificate": "public JSON: benchmarks/verification_throughput.py",
    "scorecard_api.current": "JSON API with a bearer token, not a page",
}


def get_routes(app) -> dict[str, list[str]]:
    """Every GET route's endpoint with its rules."""
    routes: dict[str, list[str]] = {}
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or ()):
            routes.setdefault(rule.endpoint, []).append(rule.rule)
    return routes


def unlisted(app) -> list[str]:
    """GET routes neither measured nor excluded, and listed endpoints the app lacks."""
    routes = get_routes(app)
    problems = [f"{endpoint} ({', '.join(rules)}): neither in PAGES nor in EXCLUDED"
                for endpoint, rules in sorted(routes.items())
                if endpoint not in PAGES and endpoint not in EXCLUDED]
    problems += [f"{endpoint}: listed, but the app has no such GET route"
                 for endpoint in sorted({*PAGES, *EXCLUDED} - set(routes))]
    return problems


# --- the two datasets --------------------------------------------------------------------------

def build_small(url: str, *, reuse: bool) -> dict:
    """The demo in its own database, with the recomputes the dataset gets."""
    dataset.check_url(url)
    if reuse and dataset.built_info(url, SMALL_SETTING) is not None:
        log("reusing the demo database (S)")
        return {}
    import flask_migrate

    from lms.content import sync_all
    from lms.core import settings
    from lms.core.jobs import commit
    from lms.demo import load_demo
    from lms.extensions import db

    started = time.perf_counter()
    dataset.recreate(url)
    app = dataset.make_app(url)
    log(f"building the demo (S) into {make_url(url).database}:")
    with app.app_context():
        flask_migrate.upgrade()
        sync_all(str(dataset.CONTENT))
        commit()
        load_demo()
        commit()
        admin_id = db.session.execute(text(
            "SELECT id FROM user_account WHERE role = 'vendor_admin' ORDER BY id")).scalar()
        dataset.recomputes(datetime.now(UTC).replace(microsecond=0), admin_id)
        settings.put(SMALL_SETTING, {"built_at": datetime.now(UTC).isoformat()})
        commit()
        dataset.vacuum()
    log(f"  built in {time.perf_counter() - started:.0f} s")
    return {}


def small_context(url: str) -> tuple[dict, dict, str]:
    """The demo's logins and ids: its largest partner is "big", the next one "typical"
    (the other demo partners have just signed up: one or two people)."""
    from lms.demo import DEMO_PASSWORD

    engine = create_engine(url)
    with engine.connect() as connection:
        def one(sql: str, **parameters):
            return connection.execute(text(sql), parameters).scalar()

        partners = connection.execute(text("""
            SELECT o.id FROM organisation o JOIN user_account u ON u.organisation_id = o.id
            WHERE EXISTS (SELECT 1 FROM user_account a WHERE a.organisation_id = o.id
                          AND a.role = 'partner_admin' AND a.active
                          AND a.password_hash IS NOT NULL)
            GROUP BY o.id ORDER BY count(*) DESC, o.id""")).scalars().all()
        big, typical = partners[0], partners[1]

        def admin_of(organisation_id: int) -> str:
            return one("SELECT email FROM user_account WHERE organisation_id = :id AND "
                       "role = 'partner_admin' AND active AND password_hash IS NOT NULL "
                       "ORDER BY id LIMIT 1", id=organisation_id)

        def vendor(role: str) -> str:
            return one("SELECT email FROM user_account WHERE role = :role AND active AND "
                       "password_hash IS NOT NULL ORDER BY id LIMIT 1", role=role)

        logins = {"vendor_admin": vendor("vendor_admin"),
                  "channel_manager": vendor("channel_manager"), "author": vendor("author"),
                  "big_admin": admin_of(big), "typical_admin": admin_of(typical)}
        ids = ids_for(one, big, typical)
    engine.dispose()
    return logins, ids, DEMO_PASSWORD


def large_context(url: str, info: dict) -> tuple[dict, dict, str]:
    logins = info["logins"]
    engine = create_engine(url)
    with engine.connect() as connection:
        def one(sql: str, **parameters):
            return connection.execute(text(sql), parameters).scalar()

        ids = ids_for(one, info["big_partner"]["id"], info["typical_partner"]["id"])
    engine.dispose()
    return ({"vendor_admin": logins["vendor_admin"],
             "channel_manager": logins["channel_manager"], "author": logins["author"],
             "big_admin": logins["big_partner_admin"],
             "typical_admin": logins["typical_partner_admin"]}, ids, info["password"])


def ids_for(one, big: int, typical: int) -> dict:
    """The "@name" values of PAGES, looked up the same way in S and L."""
    def person(organisation_id: int) -> int:
        return one("SELECT id FROM user_account WHERE organisation_id = :id "
                   "AND role = 'learner' AND active ORDER BY id LIMIT 1", id=organisation_id)

    return {
        "big": big, "typical": typical,
        "big_person": person(big), "typical_person": person(typical),
        # A certificate with history: the latest cycle of the longest chain.
        "certificate": one("SELECT id FROM certificate ORDER BY cycle DESC, id LIMIT 1"),
        "big_journey": one("SELECT id FROM journey WHERE organisation_id = :id "
                           "AND scope = 'organisation' ORDER BY id LIMIT 1", id=big),
        # The largest import: at L it changed a value for every partner.
        "import": one("SELECT id FROM scorecard_import WHERE status = 'applied' "
                      "ORDER BY rows DESC, id DESC LIMIT 1"),
        "period": one("SELECT max(id) FROM scorecard_period WHERE closed_at IS NOT NULL"),
        "period_start": str(one("SELECT max(starts_on) FROM scorecard_period")),
        "webhook": one("SELECT min(id) FROM scorecard_webhook"),
    }


# --- serving ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn in its own process group: N sync workers, no access log, no control socket
    (gunicorn 24+ would otherwise open one at a path shared by every gunicorn on the
    machine)."""

    def __init__(self, label: str, app: str, env: dict, folder: Path, workers: int,
                 pythonpath: str | None = None):
        self.label, self.port = label, free_port()
        self.log_path = folder / f"gunicorn-{label}.log"
        self.command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
                        "--workers", str(workers), "--worker-class", "sync",
                        "--timeout", "120", "--no-control-socket"]
        if pythonpath:
            self.command += ["--pythonpath", pythonpath]
        self.command.append(app)
        self.env, self.process = env, None

    def __enter__(self) -> Server:
        with self.log_path.open("wb") as output:
            self.process = subprocess.Popen(self.command, cwd=PROJECT_ROOT, env=self.env,
                                            stdout=output, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"{self.label} gunicorn exited: {self.log_path.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        sys.exit(f"{self.label} gunicorn not ready after 90 s")

    def __exit__(self, *_) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class Answer:
    status: int
    body: bytes
    seconds: float
    first_byte: float
    headers: dict


def fetch(port: int, method: str, path: str, *, cookies: dict | None = None,
          form: dict | None = None) -> Answer:
    """One request on a fresh connection (sync workers close it after each answer)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Host": f"127.0.0.1:{port}", "Accept": "text/html"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    started = time.perf_counter()
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    first = response.read(1)
    first_byte = time.perf_counter() - started
    data = first + response.read()
    seconds = time.perf_counter() - started
    answer_headers = {}
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            answer_headers.setdefault("set-cookie", []).append(value)
        else:
            answer_headers[name.lower()] = value
    connection.close()
    return Answer(response.status, data, seconds, first_byte, answer_headers)


def remember(cookies: dict, answer: Answer) -> None:
    for header in answer.headers.get("set-cookie", []):
        name, _, rest = header.partition("=")
        cookies[name.strip()] = rest.split(";", 1)[0]


def sign_in(port: int, email: str, password: str) -> dict:
    """Sign in through the login form (CSRF token and all); return the cookies to send."""
    cookies: dict = {}
    page = fetch(port, "GET", "/login")
    remember(cookies, page)
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page.body) \
        or re.search(rb'value="([^"]+)"[^>]*name="csrf_token"', page.body)
    if token is None:
        sys.exit("no CSRF token on /login")
    answer = fetch(port, "POST", "/login", cookies=cookies,
                   form={"csrf_token": token.group(1).decode(), "email": email,
                         "password": password})
    remember(cookies, answer)
    if answer.status != 302:
        sys.exit(f"signing in as {email} failed: {answer.status}")
    return cookies


# --- measuring ----------------------------------------------------------------------------------

@dataclass
class Timing:
    status: int
    median_ms: float
    p95_ms: float
    kb: float
    first_byte_ms: float


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def time_path(port: int, path: str, cookies: dict | None, warmup: int, requests: int) -> Timing:
    for _ in range(warmup):
        fetch(port, "GET", path, cookies=cookies)
    answers = [fetch(port, "GET", path, cookies=cookies) for _ in range(requests)]
    statuses = [a.status for a in answers if a.status != 200]
    totals = [1000 * a.seconds for a in answers]
    return Timing(statuses[0] if statuses else 200, statistics.median(totals),
                  percentile(totals, 0.95), len(answers[-1].body) / 1000,
                  statistics.median(1000 * a.first_byte for a in answers))


def paths(app, ids: dict) -> list[tuple[str, Case, str]]:
    """(endpoint, case, path) for every case, with its "@name" arguments filled in."""
    from flask import url_for

    def fill(value):
        return ids[value[1:]] if isinstance(value, str) and value.startswith("@") else value

    found = []
    with app.test_request_context():
        for endpoint, cases in PAGES.items():
            for one in cases:
                args = {name: fill(value) for name, value in one.args}
                path = url_for(endpoint, **args)
                if one.query:
                    path += "?" + urlencode([(name, fill(value)) for name, value in one.query])
                found.append((endpoint, one, path))
    return found


def server_env(name: str, url: str, folder: Path) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LMS_")}
    env.update({"LMS_ENV": "production", "LMS_DATABASE_URL": url,
                "LMS_SECRET_KEY": "benchmark-" + "x" * 40, "LMS_BASE_URL": "http://127.0.0.1",
                "LMS_INSTANCE_PATH": str(folder / f"instance-{name}"),
                "PYTHONPATH": str(PROJECT_ROOT)})
    return env


def measure(sides: dict[str, tuple[str, dict, dict, str]], args, folder: Path, routes_app
            ) -> tuple[dict[str, dict], list[float]]:
    """Serve S and L side by side and the bare page beside them, sign everyone in on both,
    and time every page on S then on L, page after page: a busy moment on the machine then
    weighs on both sides of the growth ratio, and on the bare page timed in turn."""
    results: dict[str, dict] = {name: {} for name in sides}
    bare: list[float] = []
    with contextlib.ExitStack() as stack:
        servers, sessions, todo = {}, {}, {}
        for name, (url, logins, ids, password) in sides.items():
            servers[name] = stack.enter_context(Server(
                f"lms-{name}", "lms:create_app()", server_env(name, url, folder), folder,
                args.workers))
            sessions[name] = {who: sign_in(servers[name].port, logins[who], password)
                              for who in ROLES}
            todo[name] = {(endpoint, one): path for endpoint, one, path in paths(routes_app, ids)
                          if not args.only or args.only in endpoint or args.only in path}
        bare_server = stack.enter_context(Server(
            "bare", "bare_app:create_app()", server_env("bare", "", folder), folder,
            args.workers, pythonpath=str(Path(__file__).parent)))
        keys = list(next(iter(todo.values())))
        for number, key in enumerate(keys):
            if number % 5 == 0:
                bare.append(time_path(bare_server.port, BARE_PATH, None, 2,
                                      args.requests).median_ms)
            for name in sides:
                path = todo[name][key]
                timing = time_path(servers[name].port, path, sessions[name][key[1].who],
                                   args.warmup, args.requests)
                results[name][key] = (path, timing)
                log(f"  {name} {path} as {key[1].who}: {timing.median_ms:.0f} ms, "
                    f"{timing.kb:.0f} KB"
                    + ("" if timing.status == 200 else f", status {timing.status}"))
    return results, bare


def judge(small: Timing | None, large: Timing, one: Case) -> list[str]:
    """Why a page fails the bars (nothing: it passes)."""
    why = []
    if large.status != 200 or (small and small.status != 200):
        why.append(f"status {large.status if large.status != 200 else small.status}")
    time_l = large.first_byte_ms if one.export else large.median_ms
    if time_l > MEDIAN_BAR_MS:
        why.append(f"{'first byte' if one.export else 'median'} > {MEDIAN_BAR_MS:g} ms")
    if not one.export and large.kb > SIZE_BAR_KB:
        why.append(f"> {SIZE_BAR_KB:g} KB")
    if small is not None:
        time_s = small.first_byte_ms if one.export else small.median_ms
        if time_l > GROWTH_BAR * time_s:
            why.append(f"grew > {GROWTH_BAR:g}x")
    return why


def timed(timing: Timing, one: Case) -> float:
    """What the time bars apply to: the median, or for an export its time to first byte."""
    return timing.first_byte_ms if one.export else timing.median_ms


def report(small: dict, large: dict, bare: list[float]) -> int:
    header = (f"{'page':72} {'as':15} {'S med':>7} {'S p95':>7} {'S KB':>7} {'L med':>7} "
              f"{'L p95':>7} {'L KB':>7} {'L/S':>5}  result")
    print(header)
    print("-" * len(header))
    failures = 0
    for key, (path, timing) in large.items():
        _endpoint, one = key
        before = small.get(key, (None, None))[1]
        why = judge(before, timing, one)
        failures += bool(why)
        shown = path + (" (first byte)" if one.export else "")
        if one.label:
            shown += f" [{one.label}]"
        cells = []
        for side in (before, timing):
            cells += ["-"] * 3 if side is None else [
                f"{timed(side, one):.0f}", f"{side.p95_ms:.0f}", f"{side.kb:.1f}"]
        growth = "-" if before is None else f"{timed(timing, one) / timed(before, one):.2f}"
        print(f"{shown[:72]:72} {one.who:15} " + " ".join(f"{c:>7}" for c in cells)
              + f" {growth:>5}  " + ("PASS" if not why else "FAIL: " + ", ".join(why)))
    if bare:
        print(f"bare page ({BARE_PATH}, benchmarks/bare_app.py), timed in turns with the pages: "
              f"median {statistics.median(bare):.1f} ms (medians of {len(bare)} rounds: "
              f"{min(bare):.1f} to {max(bare):.1f} ms)")
    print(f"bars: median <= {MEDIAN_BAR_MS:g} ms and <= {SIZE_BAR_KB:g} KB at L, growth "
          f"L / S <= {GROWTH_BAR:g}x (exports: time to first byte, size not judged)")
    print(f"{len(large) - failures} of {len(large)} pages pass; {failures} fail")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=dataset.DEFAULT_URL, help="L")
    parser.add_argument("--small-database-url", default=SMALL_URL, help="S (the demo)")
    parser.add_argument("--scale", type=float, default=1.0, help="L's fraction of full size")
    # The median of 25: a 5 ms page moves by a millisecond or two between runs, which at 15
    # was a third of the growth bar.
    parser.add_argument("--requests", type=int, default=25, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=4, help="untimed requests first")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--only", help="only pages whose endpoint or path contains this")
    parser.add_argument("--reuse", action="store_true", help="use databases already built")
    parser.add_argument("--keep", action="store_true", help="do not drop the databases")
    args = parser.parse_args(argv)
    for url in (args.database_url, args.small_database_url):
        dataset.check_url(url)

    routes_app = dataset.make_app(args.database_url)
    problems = unlisted(routes_app)
    if problems:
        print("GET routes to measure or exclude (PAGES / EXCLUDED in benchmarks/pages.py):")
        print("\n".join(f"  {problem}" for problem in problems))
        return 2

    folder = Path(tempfile.mkdtemp(prefix="lms-bench-pages-"))
    try:
        build_small(args.small_database_url, reuse=args.reuse)
        info = dataset.ensure(args.database_url, args.scale, reuse=args.reuse)
        sides = {"S": (args.small_database_url, *small_context(args.small_database_url)),
                 "L": (args.database_url, *large_context(args.database_url, info))}
        log(f"timing S (the demo) and L (scale {args.scale:g}), page after page:")
        results, bare = measure(sides, args, folder, routes_app)
    finally:
        if not args.keep:
            for url in (args.database_url, args.small_database_url):
                dataset.drop(url)
    counts = info["counts"]
    print(f"L: {counts['organisation']:,} partners, {counts['user_account']:,} people (the "
          f"big partner {info['big_partner']['staff']:,}, the typical one "
          f"{info['typical_partner']['staff']:,}), {counts['track_completion']:,} track "
          f"completions, {counts['certificate']:,} certificates, "
          f"{counts['lesson_completion']:,} lesson completions; S: the demo")
    print(f"gunicorn: {args.workers} sync workers each (LMS_ENV=production); "
          f"{args.requests} timed requests per page after {args.warmup} untimed, one at a time")
    return 1 if report(results["S"], results["L"], bare) else 0


if __name__ == "__main__":
    sys.exit(main())
