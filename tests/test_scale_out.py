"""Scale-out: two app servers, one PostgreSQL, one Redis and a Celery worker, as deployed.

Two gunicorns (two sync workers each, separate instance folders, as on two machines) serve
the test's PostgreSQL database behind a pretend TLS proxy (X-Forwarded-* headers, as the
proxy in docs/deployment.md sends them). One browser signs in on server A and carries on on
server B with the same cookie; a request's job is run by the Celery worker; sign-in failures
and public lookups are counted across both servers; signing out on B ends the session on A.

It needs PostgreSQL (two servers on one SQLite file would prove nothing about two machines),
so it runs in the PostgreSQL pass (`make test-postgres`) and is skipped on SQLite. Without
Redis it skips, or fails when LMS_REQUIRE_SERVICES=1 (CI).
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from lms.accounts.models import LoginAttempt, UserSession
from lms.catalog.models import LessonCompletion
from lms.certifications import verification
from lms.config import PROJECT_ROOT, load_config
from lms.core import jobs
from lms.core.mail import OutboxMessage
from lms.extensions import db
from tests.conftest import REDIS_URL
from tests.factories import PASSWORD, make_organisation, make_user

HOST = "academy.example"  # the public name the proxy serves; both servers answer for it
STARTUP_SECONDS = 60
# The shipped onboarding track (assigned to every partner's staff): its first two lessons,
# in a sequence where the second opens once the first is done. Committed tests only add
# rows, so the test uses content the suite already has rather than making a track.
TRACK, FIRST, SECOND = ("partner-onboarding-essentials", "partner-program-overview",
                        "tiers-and-benefits")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Process:
    """A subprocess with its output in a log file, for failure messages."""

    def __init__(self, name: str, command: list[str], env: dict, folder: Path):
        self.name, self.log = name, folder / f"{name}.log"
        with self.log.open("wb") as output:
            self.popen = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=output,
                                          stderr=subprocess.STDOUT)

    def check_running(self) -> None:
        if self.popen.poll() is not None:
            pytest.fail(f"{self.name} exited ({self.popen.returncode}):\n{self.log.read_text()}")

    def wait(self) -> None:
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


class Browser:
    """One browser behind the proxy: one cookie jar, whichever server the proxy picks.

    `http.client` and no redirects followed, so each answer is checked as a server gave it.
    """

    def __init__(self, address: str):
        self.address = address  # the client address the proxy forwards
        self.cookies: dict[str, str] = {}

    def request(self, port: int, method: str, path: str, form: dict | None = None):
        headers = {
            "Host": f"127.0.0.1:{port}",
            "X-Forwarded-For": self.address,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": HOST,
            # Over https Flask-WTF also checks that a form came from this site.
            "Referer": f"https://{HOST}{path}",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.text = response.read().decode()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if not morsel.value or "1970" in morsel["expires"]:  # deleted
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def get(self, port: int, path: str):
        return self.request(port, "GET", path)

    def post(self, port: int, path: str, form: dict):
        return self.request(port, "POST", path, form)

    def csrf_token(self, port: int, path: str) -> str:
        page = self.get(port, path)
        assert page.status == 200, (path, page.status, page.text[:500])
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)


def redirect_path(response) -> str:
    return re.sub(r"^https?://[^/]+", "", response.headers["Location"])


@pytest.fixture
def on_postgresql(app):
    # Asked first, so that on SQLite the test skips whatever other services are missing.
    if db.engine.dialect.name != "postgresql":
        pytest.skip("scale-out runs against PostgreSQL (the `make test-postgres` pass); two "
                    "servers on one SQLite file would prove nothing about two machines")


@pytest.fixture
def cluster(on_postgresql, app, redis_client, smtp_server, tmp_path):
    """Servers A and B and a Celery worker on this test's database, queue and SMTP server."""
    queue = f"lms-scale-out-{secrets.token_hex(6)}"
    shared = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "LMS_ENV": "production",
        "LMS_SECRET_KEY": secrets.token_urlsafe(32),  # one key for every process
        "LMS_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "LMS_CELERY_BROKER_URL": REDIS_URL,
        "LMS_CELERY_QUEUE": queue,
        "LMS_REDIS_URL": REDIS_URL,
        "LMS_BASE_URL": f"https://{HOST}",
        "LMS_PROXY_HOPS": "1",
        "LMS_LOGIN_MAX_FAILURES": "3",
        "LMS_VERIFY_RATE_LIMIT_PER_MINUTE": "4",
    }
    processes = {}
    ports = {"A": free_port(), "B": free_port()}
    for name, port in ports.items():
        # An instance folder each, as on two machines: nothing may be shared through disk.
        env = {**shared, "LMS_INSTANCE_PATH": str(tmp_path / f"instance-{name}")}
        processes[name] = Process(f"server-{name}", [
            sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
            # Two gunicorns on one machine would fight over the default control socket.
            "--no-control-socket", "--graceful-timeout", "5", "lms:create_app()"],
            env, tmp_path)
    # Only the worker may reach the mail server: a delivered message proves the worker ran
    # the job (web processes send jobs to the broker; inline they would find no SMTP).
    processes["worker"] = Process("worker", [
        sys.executable, "-m", "celery", "-A", "lms.core.worker", "worker", "-Q", queue,
        "--pool", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--loglevel", "INFO"],
        {**shared, "LMS_SMTP_URL": smtp_server[0],
         "LMS_INSTANCE_PATH": str(tmp_path / "instance-worker")}, tmp_path)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        for name, port in ports.items():
            while True:
                processes[name].check_running()
                try:
                    if Browser("192.0.2.1").get(port, "/login").status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"server {name} did not answer within {STARTUP_SECONDS}s:\n"
                                f"{processes[name].log.read_text()}")
                time.sleep(0.1)
        yield ports["A"], ports["B"], processes, smtp_server[1]
        for process in processes.values():
            process.check_running()  # nothing crashed along the way
    finally:
        for process in processes.values():  # all at once: each takes a moment to stop
            process.popen.terminate()
        for process in processes.values():
            process.wait()
        for key in redis_client.scan_iter(match=f"*{queue}*"):
            redis_client.delete(key)
    for name in ("A", "B"):  # no server wrote anything to its local disk
        folder = tmp_path / f"instance-{name}"
        assert not folder.exists() or not any(folder.iterdir()), list(folder.iterdir())


def wait_for(condition, worker: Process, timeout: float = 60.0):
    """Poll the database until `condition()` is truthy; fail with the worker's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        db.session.rollback()
        if value:
            return value
        worker.check_running()
        time.sleep(0.1)
    pytest.fail(f"the worker did not do it within {timeout}s:\n{worker.log.read_text()}")


def fresh_address() -> str:
    """A client address of this run only: rate-limit counts of other runs never mix in."""
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


@pytest.mark.committed
def test_two_servers_share_sessions_csrf_jobs_and_rate_limits(cluster, redis_client):
    learner = make_user(make_organisation(), password=PASSWORD,
                        email=f"scale-{secrets.token_hex(4)}@example.com")
    locked_out = make_user(make_organisation(), password=PASSWORD,
                           email=f"locked-{secrets.token_hex(4)}@example.com")
    learner_id, learner_email = learner.id, learner.email
    locked_out_email = locked_out.email
    jobs.commit()
    a, b, processes, received = cluster
    browser = Browser(fresh_address())

    # Sign in on A.
    token = browser.csrf_token(a, "/login")
    signed_in = browser.post(a, "/login", {"email": learner_email, "password": PASSWORD,
                                           "csrf_token": token})
    assert signed_in.status == 302, signed_in.text[:500]
    assert "session" in browser.cookies

    # The same cookie is a live session on B.
    page = browser.get(b, "/learning")
    assert page.status == 200 and "Partner Onboarding Essentials" in page.text

    # The track is sequential: lesson 2 opens once lesson 1 is done.
    assert browser.get(a, f"/tracks/{TRACK}/lessons/{SECOND}").status == 423
    # A form rendered by A is accepted by B (one secret key, CSRF in the signed cookie) ...
    token = browser.csrf_token(a, f"/tracks/{TRACK}/lessons/{FIRST}")
    done = browser.post(b, f"/tracks/{TRACK}/lessons/{FIRST}/complete", {"csrf_token": token})
    assert done.status == 303, done.text[:500]
    assert redirect_path(done) == f"/tracks/{TRACK}/lessons/{SECOND}"
    # ... and one without the token is refused there.
    assert browser.post(b, f"/tracks/{TRACK}/lessons/{SECOND}/complete", {}).status == 400
    completed = db.session.scalars(select(LessonCompletion.lesson_id)
                                   .where(LessonCompletion.user_id == learner_id)).all()
    db.session.rollback()
    assert len(completed) == 1
    assert browser.get(a, f"/tracks/{TRACK}/lessons/{SECOND}").status == 200  # A sees it

    # A job queued by a request on B is run by the Celery worker: the reset mail is sent.
    token = browser.csrf_token(b, "/password/forgot")
    asked = browser.post(b, "/password/forgot", {"email": learner_email, "csrf_token": token})
    assert asked.status == 302, asked.text[:500]

    def reset_mail_sent():
        return db.session.scalar(select(OutboxMessage.sent_at).where(
            OutboxMessage.to_address == learner_email,
            OutboxMessage.template == "password_reset"))

    assert wait_for(reset_mail_sent, processes["worker"]) is not None
    assert any(learner_email in envelope.rcpt_tos for envelope in received)

    # Sign-in failures count across servers: 3 allowed (LMS_LOGIN_MAX_FAILURES), wherever.
    other = Browser(fresh_address())
    for port in (a, b, a):
        token = other.csrf_token(port, "/login")
        failed = other.post(port, "/login", {"email": locked_out_email, "password": "wrong",
                                              "csrf_token": token})
        assert failed.status == 422
    token = other.csrf_token(b, "/login")
    refused = other.post(b, "/login", {"email": locked_out_email, "password": PASSWORD,
                                       "csrf_token": token})
    assert refused.status == 429 and "Retry-After" in refused.headers
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.email == locked_out_email)) == 3
    db.session.rollback()

    # Public lookups count across servers in Redis: 4 a minute (the verification limit).
    if time.time() % 60 > 50:  # all five in one minute's window
        time.sleep(61 - time.time() % 60)
    looker = Browser(fresh_address())
    try:
        for port in (a, b, a, b):
            assert looker.get(port, "/api/v1/certificates/AAAA-BBBB-CCCC").status == 404
        assert looker.get(a, "/api/v1/certificates/AAAA-BBBB-CCCC").status == 429
    finally:
        for key in redis_client.scan_iter(match=f"lms:verify-hits:*:{looker.address}"):
            redis_client.delete(key)

    # Signing out on B ends the session on A too.
    token = browser.csrf_token(b, "/learning")
    cookie = dict(browser.cookies)
    assert browser.post(b, "/logout", {"csrf_token": token}).status == 302
    browser.cookies = cookie  # a copy of the cookie from before signing out
    refused = browser.get(a, "/learning")
    assert refused.status == 302 and redirect_path(refused).startswith("/login")
    assert db.session.scalar(select(func.count()).select_from(UserSession).where(
        UserSession.user_id == learner_id)) == 0
    db.session.rollback()


def test_batched_lookup_counts_overshoot_by_at_most_a_batch_per_process(app, monkeypatch,
                                                                       redis_client):
    """The verification limit's counts reach Redis in batches of 1% of the limit per
    process (see `verification._count_in_redis`): N processes together let through at most
    limit + N x (batch - 1) lookups a minute. Three simulated processes, hits in turn."""
    limit, processes = 1000, 3
    batch = limit // 100
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    # Time stands still, so only the batch size decides when counts are sent (the worst case).
    monkeypatch.setattr(verification.time, "monotonic", lambda: 1000.0)
    client, now = fresh_address(), datetime.now(UTC)  # one minute's window throughout
    pending = [{} for _ in range(processes)]  # each process's unsent counts
    allowed = [0] * processes
    try:
        for _round in range(limit):
            for index in range(processes):
                monkeypatch.setattr(verification, "_unsent", pending[index])
                try:
                    verification.throttle(client, limit=limit, now=now)
                    allowed[index] += 1
                except verification.RateLimited:
                    pass
        assert limit <= sum(allowed) <= limit + processes * (batch - 1), allowed
        for index in range(processes):  # and once refused, each process keeps refusing
            monkeypatch.setattr(verification, "_unsent", pending[index])
            with pytest.raises(verification.RateLimited):
                verification.throttle(client, limit=limit, now=now)
    finally:
        for key in redis_client.scan_iter(match=f"lms:verify-hits:*:{client}"):
            redis_client.delete(key)


def test_processes_starting_together_generate_one_development_key(tmp_path, monkeypatch):
    """Without LMS_SECRET_KEY each process reads instance/secret_key, generated by whichever
    starts first: gunicorn's workers starting at once must not each keep a key of their own."""
    monkeypatch.delenv("LMS_SECRET_KEY", raising=False)
    instance = tmp_path / "instance"
    starting = threading.Barrier(8)
    keys = []

    def start():
        starting.wait()
        keys.append(load_config({"INSTANCE_PATH": str(instance)})["SECRET_KEY"])

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1 and len(keys[0]) >= 48
    assert [path.name for path in instance.iterdir()] == ["secret_key"]  # no drafts left
    assert (instance / "secret_key").stat().st_mode & 0o777 == 0o600
