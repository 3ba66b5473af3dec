"""Jobs run after commit and never after a rollback: inline by default, on Celery with Redis.

The Redis tests use a fresh queue name per test, so other runs on the same Redis do not
take their messages. Without Redis on 127.0.0.1:6379 (or LMS_TEST_REDIS_URL) they skip,
unless LMS_REQUIRE_SERVICES=1 (CI) makes that a failure.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import select

from lms.accounts import service as accounts
from lms.config import PROJECT_ROOT
from lms.core import jobs, mail
from lms.core.mail import OutboxMessage
from lms.extensions import db
from lms.schedule import PERIODIC_JOBS, beat_schedule
from tests.conftest import REDIS_URL
from tests.factories import make_organisation, make_user

ran: list[object] = []


def record(value) -> None:
    """A module-level job, as jobs must be."""
    ran.append(value)


@pytest.fixture(autouse=True)
def _forget_runs():
    ran.clear()


# --- inline (the default) --------------------------------------------------------------------


def test_inline_jobs_run_after_commit():
    jobs.enqueue(record, 1)
    jobs.enqueue(record, 1)  # the same job twice in one unit of work runs once
    assert ran == []
    jobs.commit()
    assert ran == [1]


def record_then_queue(value) -> None:
    """A job that queues another, as a recompute queues webhook deliveries."""
    ran.append(value)
    jobs.enqueue(record, value + 1)


def queue_myself(value) -> None:
    ran.append(value)
    jobs.enqueue(queue_myself, value)


def test_jobs_queued_by_inline_jobs_run_in_the_same_commit():
    jobs.enqueue(record_then_queue, 1)
    jobs.commit()
    assert ran == [1, 2]


def test_a_job_that_keeps_queueing_itself_stops_after_the_last_round(caplog):
    jobs.enqueue(queue_myself, 7)
    jobs.commit()
    assert ran == [7] * jobs.MAX_ROUNDS
    assert "jobs still queued after 10 rounds, dropped: queue_myself" in caplog.text
    jobs.commit()  # nothing was left queued for a later commit
    assert ran == [7] * jobs.MAX_ROUNDS


def test_inline_jobs_are_dropped_by_a_rollback():
    jobs.enqueue(record, 1)
    db.session.rollback()
    jobs.commit()
    assert ran == []


# --- refusals with a broker (no broker contact needed) ---------------------------------------


@pytest.fixture
def broker_configured(app, monkeypatch):
    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", REDIS_URL)


def test_a_lambda_cannot_be_sent_to_the_worker(broker_configured):
    with pytest.raises(ValueError, match="module-level"):
        jobs.enqueue(lambda: None)


def test_a_closure_cannot_be_sent_to_the_worker(broker_configured):
    def inner():
        pass

    with pytest.raises(ValueError, match="module-level"):
        jobs.enqueue(inner)


def test_only_lms_functions_are_run_by_name(broker_configured):
    with pytest.raises(ValueError, match="lms package"):
        jobs.enqueue(record, 1)  # module-level, but in tests/, which a worker will not import
    with pytest.raises(ValueError, match="lms package"):
        jobs.resolve("os:system")


def test_job_arguments_must_be_plain_json(broker_configured):
    user = make_user(make_organisation())
    with pytest.raises(ValueError, match="plain JSON"):
        jobs.enqueue(mail.deliver_pending, user)


def test_beat_runs_every_periodic_job_by_name():
    schedule = beat_schedule()
    assert list(schedule) == [name for name, _job in PERIODIC_JOBS]
    for name, job in PERIODIC_JOBS:
        entry = schedule[name]
        assert entry["task"] == jobs.RUN_JOB and entry["schedule"] == 60
        path, args, kwargs = entry["args"]
        assert jobs.resolve(path) is job and (args, kwargs) == ([], {})


# --- Redis ---------------------------------------------------------------------------------


@pytest.fixture
def broker(app, redis_client, monkeypatch):
    """Point the app at Redis with a queue of this test's own; return the queue name."""
    queue = f"lms-test-{uuid.uuid4().hex}"
    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "CELERY_QUEUE", queue)
    yield queue
    for key in redis_client.scan_iter(match=f"*{queue}*"):
        redis_client.delete(key)


def queued(redis_client, queue: str) -> list[tuple[str, list]]:
    """The (task name, arguments) of the messages waiting on `queue`, oldest first."""
    messages = []
    for raw in reversed(redis_client.lrange(queue, 0, -1)):  # kombu pushes on the left
        message = json.loads(raw)
        body = message["body"]
        if message["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, _kwargs, _embed = json.loads(body)
        messages.append((message["headers"]["task"], args))
    return messages


def test_with_a_broker_jobs_go_to_the_queue_after_commit_only(redis_client, broker):
    jobs.enqueue(mail.deliver_pending, limit=5)
    db.session.rollback()
    jobs.commit()
    assert queued(redis_client, broker) == []
    jobs.enqueue(mail.deliver_pending, limit=5)
    assert queued(redis_client, broker) == []
    jobs.commit()
    assert queued(redis_client, broker) == [
        (jobs.RUN_JOB, ["lms.core.mail:deliver_pending", [], {"limit": 5}])]
    assert ran == []


def test_a_broker_that_is_down_does_not_undo_the_commit(app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    organisation = make_organisation()
    jobs.enqueue(mail.deliver_pending)
    jobs.commit()
    assert db.session.get(type(organisation), organisation.id) is not None
    assert "Could not send job lms.core.mail:deliver_pending" in caplog.text


def test_lms_tick_queues_the_periodic_jobs(app, redis_client, broker):
    result = app.test_cli_runner().invoke(args=["tick"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"queued: {name}" for name, _job in PERIODIC_JOBS]
    assert queued(redis_client, broker) == [
        (jobs.RUN_JOB, [jobs.job_path(job), [], {}]) for _name, job in PERIODIC_JOBS]


def test_lms_tick_inline_runs_here_even_with_a_broker(app, redis_client, broker):
    result = app.test_cli_runner().invoke(args=["tick", "--inline"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"{name}: 0" for name, _job in PERIODIC_JOBS]
    assert queued(redis_client, broker) == []


# --- a real worker ---------------------------------------------------------------------------


@pytest.fixture
def worker(app, broker, smtp_server, tmp_path):
    """`celery -A lms.core.worker worker` on this test's queue and database, as deployed."""
    env = {
        **os.environ,
        "LMS_CELERY_BROKER_URL": REDIS_URL,
        "LMS_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "LMS_INSTANCE_PATH": str(tmp_path / "instance"),
        "LMS_SECRET_KEY": "worker-test-secret",
        "LMS_SMTP_URL": smtp_server[0],
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "lms.core.worker", "worker", "-Q", broker,
             "--pool", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--loglevel", "INFO"],
            cwd=PROJECT_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    process.log = log
    yield process
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_for(condition, worker, timeout: float = 60.0):
    """Poll `condition` until it returns something truthy; fail with the worker's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        db.session.rollback()  # end the read: on SQLite it holds the lock the worker needs
        if value:
            return value
        if worker.poll() is not None:
            pytest.fail(f"the worker exited ({worker.returncode}):\n{worker.log.read_text()}")
        time.sleep(0.1)
    pytest.fail(f"the worker did not do it within {timeout}s:\n{worker.log.read_text()}")


@pytest.mark.committed
def test_a_celery_worker_delivers_the_mail_of_a_committed_invitation(worker, smtp_server):
    _url, received = smtp_server
    organisation = make_organisation()
    admin = make_user(organisation, role="partner_admin")
    address = f"{uuid.uuid4().hex}@example.com"
    _user, secret = accounts.invite_user(organisation_id=organisation.id, email=address,
                                         full_name="Wendy Worker", job_role="sales",
                                         invited_by=admin)
    message_id = db.session.scalar(select(OutboxMessage.id)
                                   .where(OutboxMessage.to_address == address))
    jobs.commit()

    def sent_at():
        return db.session.scalar(select(OutboxMessage.sent_at)
                                 .where(OutboxMessage.id == message_id))

    assert wait_for(sent_at, worker) is not None
    [envelope] = [e for e in received if address in e.rcpt_tos]
    assert secret in envelope.content.decode()
    body = db.session.scalar(select(OutboxMessage.body_text).where(OutboxMessage.id == message_id))
    assert secret not in body  # redacted once delivered, as inline

