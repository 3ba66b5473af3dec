"""Webhook signatures and the backoff schedule (pure)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from lms.scorecard import signing

NOW = datetime(2026, 10, 15, 9, 0, tzinfo=UTC)


def test_a_receiver_can_verify_the_signature_over_timestamp_and_exact_body():
    secret, body, timestamp = "whsec_test", b'{"event": "x", "n": 1}', int(NOW.timestamp())
    signed = signing.signature(secret, timestamp, body)
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body,
                        hashlib.sha256).hexdigest()
    assert signed == "sha256=" + expected
    assert signing.verify(secret, body, str(timestamp), signed, now=NOW)
    assert not signing.verify(secret, body + b" ", str(timestamp), signed, now=NOW)
    assert not signing.verify("whsec_other", body, str(timestamp), signed, now=NOW)
    # A replay with a new timestamp does not match; an old timestamp is refused.
    assert not signing.verify(secret, body, str(timestamp + 60), signed, now=NOW)
    assert not signing.verify(secret, body, str(timestamp), signed,
                              now=NOW + timedelta(minutes=6))


def test_headers_carry_signature_timestamp_event_and_delivery():
    headers = signing.headers("s", 1700000000, b"{}", event="scorecard.health_changed",
                              delivery="d-1")
    assert headers["X-Scorecard-Timestamp"] == "1700000000"
    assert headers["X-Scorecard-Signature"] == signing.signature("s", 1700000000, b"{}")
    assert headers["X-Scorecard-Event"] == "scorecard.health_changed"
    assert headers["X-Scorecard-Delivery"] == "d-1"


def test_backoff_then_give_up():
    waits = [signing.next_attempt(n, NOW) - NOW for n in range(1, signing.MAX_ATTEMPTS)]
    assert waits == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
                     timedelta(hours=2), timedelta(hours=12)]
    assert signing.next_attempt(signing.MAX_ATTEMPTS, NOW) is None
    assert signing.new_secret().startswith("whsec_") and len(signing.new_secret()) > 40
