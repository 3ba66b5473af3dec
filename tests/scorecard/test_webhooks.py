"""Webhook deliveries against a real HTTP server on 127.0.0.1: the signature verifies over
the exact body, failures are retried with backoff and logged, success is delivered once."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from lms.core import clock
from lms.extensions import db
from lms.scorecard import signing, webhooks
from lms.scorecard.models import DeliveryAttempt, WebhookDelivery
from lms.scorecard.signing import BACKOFF, MAX_ATTEMPTS


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
