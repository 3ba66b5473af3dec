"""Webhook deliveries against a real HTTP server on 127.0.0.1: the signature verifies over
the exact body, failures are retried with backoff and logged, success is delivered once."""

from __future__ import annotations

import copy
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from lms.catalog.sync import SyncReport
from lms.core import clock, jobs
from lms.extensions import db
from lms.scorecard import loader, signing, sync, tokens, webhooks
from lms.scorecard.models import DeliveryAttempt, WebhookDelivery
from lms.scorecard.signing import BACKOFF, MAX_ATTEMPTS
from tests.factories import make_organisation, make_user
from tests.scorecard.support import ALL_GREEN, put_readiness, put_values


@pytest.fixture(autouse=True)
def _local_receivers_allowed(app, monkeypatch):
    # Every receiver here listens on 127.0.0.1, which webhooks refuse unless allowed.
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)


@pytest.fixture
def receiver():
    """A local HTTP server answering with the queued statuses (then 200), recording requests."""
    received, statuses = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802  (the stdlib's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"headers": dict(self.headers), "body": body, "path": self.path})
            status = statuses.pop(0) if statuses else 200
            self.send_response(status)
            if status in (301, 302, 307):
                self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}/hook", "received": received,
           "statuses": statuses}
    server.shutdown()
    server.server_close()


def _queue(url: str) -> WebhookDelivery:
    endpoint = webhooks.create_endpoint(url=url, actor_id=None)
    webhooks.queue("scorecard.health_changed", {"partner": {"id": 1, "name": "Nörthwind"},
                                                "health": "red", "previous_health": "green"},
                   organisation_id=None, now=clock.now())
    db.session.flush()
    return db.session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id))


def test_delivered_once_with_a_verifiable_signature(frozen_clock, receiver):
    delivery = _queue(receiver["url"])
    assert webhooks.deliver_due() == 1
    assert webhooks.deliver_due() == 0  # delivered: never sent again
    assert len(receiver["received"]) == 1
    request = receiver["received"][0]
    headers, body = request["headers"], request["body"]
    assert body == delivery.payload.encode()  # the exact stored body
    assert signing.verify(delivery.endpoint.secret, body, headers["X-Scorecard-Timestamp"],
                          headers["X-Scorecard-Signature"], now=clock.now())
    assert headers["X-Scorecard-Event"] == "scorecard.health_changed"
    assert headers["X-Scorecard-Delivery"] == delivery.public_id
    sent = json.loads(body)
    assert (sent["id"], sent["event"], sent["health"]) == (
        delivery.public_id, "scorecard.health_changed", "red")
    assert sent["partner"]["name"] == "Nörthwind"
    assert delivery.delivered_at == clock.now() and delivery.next_attempt_at is None
    attempts = db.session.scalars(select(DeliveryAttempt)).all()
    assert [(a.number, a.status_code, a.error) for a in attempts] == [(1, 200, None)]


def test_failures_are_retried_with_backoff_then_given_up(frozen_clock, receiver):
    delivery = _queue(receiver["url"])
    receiver["statuses"].extend([500] * MAX_ATTEMPTS)
    started = clock.now()
    waits = []
    for number in range(1, MAX_ATTEMPTS + 1):
        assert webhooks.deliver_due() == 0
        assert delivery.attempts == number and delivery.last_status == 500
        if number < MAX_ATTEMPTS:
            waits.append(delivery.next_attempt_at - clock.now())
            # Not due a moment before its time...
            clock.set_now(delivery.next_attempt_at - timedelta(seconds=1))
            assert webhooks.deliver_due() == 0 and delivery.attempts == number
            clock.set_now(delivery.next_attempt_at)
    assert waits == list(BACKOFF)
    assert delivery.gave_up_at is not None and delivery.next_attempt_at is None
    assert len(receiver["received"]) == MAX_ATTEMPTS
    # Every retry is the same delivery: same id and body, a fresh timestamp and signature.
    assert {r["headers"]["X-Scorecard-Delivery"] for r in receiver["received"]} == {
        delivery.public_id}
    assert len({r["headers"]["X-Scorecard-Signature"] for r in receiver["received"]}) > 1
    for request in receiver["received"]:
        assert signing.verify(delivery.endpoint.secret, request["body"],
                              request["headers"]["X-Scorecard-Timestamp"],
                              request["headers"]["X-Scorecard-Signature"],
                              now=clock.now(), tolerance=timedelta(days=1))
    log = db.session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()
    assert [a.number for a in log] == list(range(1, MAX_ATTEMPTS + 1))
    assert all(a.error == "HTTP 500 Internal Server Error" for a in log)
    assert clock.now() - started == sum(BACKOFF, timedelta())


def test_a_retry_that_succeeds_is_delivered(frozen_clock, receiver):
    delivery = _queue(receiver["url"])
    receiver["statuses"].extend([503])
    webhooks.deliver_due()
    assert delivery.next_attempt_at == clock.now() + timedelta(minutes=1)
    clock.advance(timedelta(minutes=1))
    assert webhooks.deliver_due() == 1
    assert delivery.delivered_at is not None and delivery.attempts == 2


def test_redirects_are_not_followed_and_unreachable_hosts_are_retried(frozen_clock, receiver):
    delivery = _queue(receiver["url"])
    receiver["statuses"].append(302)
    webhooks.deliver_due()
    assert len(receiver["received"]) == 1  # not sent on to /elsewhere
    assert delivery.last_status == 302 and delivery.delivered_at is None
    closed = _queue("http://127.0.0.1:9/nobody-listens")
    webhooks.deliver_due()
    assert closed.attempts == 1 and closed.last_status is None and closed.last_error
    assert closed.next_attempt_at == clock.now() + timedelta(minutes=1)


def test_deactivating_gives_up_what_waits(frozen_clock, receiver):
    delivery = _queue(receiver["url"])
    webhooks.deactivate_endpoint(delivery.endpoint_id)
    assert webhooks.deliver_due() == 0 and receiver["received"] == []
    assert delivery.gave_up_at is not None and delivery.last_error == "endpoint deactivated"


# --- the first attempt: right after the commit that queued the delivery ------------------------

def test_the_first_attempt_follows_the_commit_that_queued_it(frozen_clock, receiver):
    delivery = _queue(receiver["url"])
    assert receiver["received"] == [] and delivery.attempts == 0  # nothing before the commit
    jobs.commit()
    assert len(receiver["received"]) == 1
    assert delivery.attempts == 1 and delivery.delivered_at == clock.now()
    assert webhooks.deliver_due() == 0 and len(receiver["received"]) == 1


def test_a_rolled_back_delivery_is_never_sent(frozen_clock, receiver):
    _queue(receiver["url"])
    db.session.rollback()
    jobs.commit()
    assert receiver["received"] == []
    assert db.session.scalar(select(func.count(WebhookDelivery.id))) == 0


def test_an_import_that_changes_health_is_sent_at_once_and_retried_on_schedule(
        client, frozen_clock, receiver):
    """Through the API, as an integrator's push: the request that imports the values
    changes the partner's health and a flag; both deliveries are attempted before it
    answers, and the one that failed waits for its backoff, then the periodic job."""
    partner = make_organisation("Hooked Partner")
    put_readiness(partner, 88, "green")
    put_values(partner, ALL_GREEN)
    webhooks.create_endpoint(url=receiver["url"], actor_id=None)
    _token, secret = tokens.create(user_id=make_user(role="channel_manager").id, name="PRM")
    jobs.commit()  # the recompute after those values takes the partner's baseline
    assert receiver["received"] == []

    receiver["statuses"].append(500)  # the first delivery fails once
    today = clock.now().date().isoformat()
    response = client.post("/api/v1/scorecard/metrics", headers={
        "Authorization": f"Bearer {secret}"}, json={"values": [
            {"partner": "Hooked Partner", "metric": code, "value": value, "as_of": today}
            for code, value in (("compliance_score", 50), ("lead_follow_up_sla", 100),
                                ("co_sell_success", 5), ("mdf_spend", 10))]})
    assert response.status_code == 201, response.json
    sent = [r["headers"]["X-Scorecard-Event"] for r in receiver["received"]]
    assert sent == ["scorecard.health_changed", "scorecard.risk_flag_raised"]
    failed, delivered = db.session.scalars(
        select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    assert (failed.attempts, failed.last_status, failed.delivered_at) == (1, 500, None)
    assert failed.next_attempt_at == clock.now() + BACKOFF[0]
    assert (delivered.attempts, delivered.delivered_at) == (1, clock.now())

    assert webhooks.deliver_due() == 0 and len(receiver["received"]) == 2  # not due yet
    clock.advance(BACKOFF[0])
    assert webhooks.deliver_due() == 1
    assert failed.attempts == 2 and failed.delivered_at == clock.now()
    assert [r["headers"]["X-Scorecard-Delivery"] for r in receiver["received"]] == [
        failed.public_id, delivered.public_id, failed.public_id]
    for request in receiver["received"]:
        assert signing.verify(failed.endpoint.secret, request["body"],
                              request["headers"]["X-Scorecard-Timestamp"],
                              request["headers"]["X-Scorecard-Signature"], now=clock.now())


def test_new_definitions_that_change_health_are_sent_at_once(frozen_clock, receiver):
    """A content sync with stricter thresholds: the recompute it queues finds the change,
    and the delivery goes out with that same unit of work, not at the next tick."""
    partner = make_organisation("Rethresholded Partner")
    put_readiness(partner, 88, "green")
    put_values(partner, {**ALL_GREEN, "co_sell_success": 25})  # yellow: 95 overall
    webhooks.create_endpoint(url=receiver["url"], actor_id=None)
    jobs.commit()  # the baseline
    body = copy.deepcopy(sync.latest_row().body)
    body["health"]["green"] = 96
    sync.apply(loader.Definitions.from_body(body), SyncReport())
    assert receiver["received"] == []
    jobs.commit()
    sent = [json.loads(r["body"]) for r in receiver["received"]]
    assert [(s["event"], s["partner"]["name"], s["previous_health"], s["health"])
            for s in sent] == [("scorecard.health_changed", "Rethresholded Partner", "green",
                                "yellow")]


def test_an_endpoint_that_does_not_answer_holds_up_the_first_attempts_once(frozen_clock):
    """Inline, first attempts run in the request that made the change: one unanswered
    attempt per endpoint, the rest of its deliveries left to the periodic job."""
    first = _queue("http://127.0.0.1:9/nobody-listens")
    webhooks.queue("scorecard.risk_flag_raised", {"partner": {"id": 1, "name": "Nörthwind"}},
                   organisation_id=None, now=clock.now())
    jobs.commit()
    second = db.session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.event == "scorecard.risk_flag_raised"))
    assert first.attempts == 1 and first.last_status is None and first.last_error
    assert second.attempts == 0 and second.next_attempt_at == clock.now()  # still due
    webhooks.deliver_due()  # the periodic job tries it
    assert second.attempts == 1


@pytest.fixture
def garbage_endpoint():
    """A TCP server that answers every connection with a line that is not HTTP."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                connection.sendall(b"garbage\r\n")

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    listener.close()


def test_an_answer_that_is_not_http_is_a_failed_attempt_not_a_crash(frozen_clock,
                                                                     garbage_endpoint):
    delivery = _queue(garbage_endpoint)
    jobs.commit()  # the first attempt runs here, inline: it must not raise
    assert delivery.attempts == 1 and delivery.delivered_at is None
    assert delivery.last_status is None and delivery.last_error
    assert delivery.next_attempt_at == clock.now() + BACKOFF[0]  # retried, not stuck first
    logged = db.session.scalar(select(DeliveryAttempt).where(
        DeliveryAttempt.delivery_id == delivery.id))
    assert logged.error == delivery.last_error


def test_first_attempts_after_one_commit_are_capped(frozen_clock, receiver):
    """Inline they run in the request that made the change: at most FIRST_ATTEMPTS, the
    rest left to the periodic job."""
    webhooks.create_endpoint(url=receiver["url"], actor_id=None)
    for number in range(webhooks.FIRST_ATTEMPTS + 5):
        webhooks.queue("scorecard.risk_flag_raised", {"partner": {"id": number}},
                       organisation_id=None, now=clock.now())
    jobs.commit()
    assert len(receiver["received"]) == webhooks.FIRST_ATTEMPTS
    waiting = db.session.scalar(select(func.count()).select_from(WebhookDelivery)
                                .where(WebhookDelivery.attempts == 0))
    assert waiting == 5
    assert webhooks.deliver_due() == 5  # the periodic job sends the rest
    assert len(receiver["received"]) == webhooks.FIRST_ATTEMPTS + 5
