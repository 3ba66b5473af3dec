"""Webhook signatures and the retry schedule (pure).

A receiver checks a delivery by computing HMAC-SHA256, keyed with the endpoint's secret,
over "<timestamp>.<body>" (the exact bytes received) and comparing it with the
X-Scorecard-Signature header. The timestamp is signed too, so a captured delivery cannot be
replayed later with a fresh timestamp; receivers reject timestamps older than a few minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

SIGNATURE_HEADER = "X-Scorecard-Signature"
TIMESTAMP_HEADER = "X-Scorecard-Timestamp"
EVENT_HEADER = "X-Scorecard-Event"
DELIVERY_HEADER = "X-Scorecard-Delivery"
SCHEME = "sha256="

# Waits after the 1st, 2nd, ... failed attempt; after the last one the delivery gives up.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
           timedelta(hours=2), timedelta(hours=12))
MAX_ATTEMPTS = len(BACKOFF) + 1


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Scorecard-Signature value for `body` sent at `timestamp` (Unix seconds)."""
    signed = str(timestamp).encode() + b"." + body
    return SCHEME + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def headers(secret: str, timestamp: int, body: bytes, *, event: str, delivery: str) -> dict:
    return {"Content-Type": "application/json", "User-Agent": "partner-lms-scorecard/1",
            SIGNATURE_HEADER: signature(secret, timestamp, body),
            TIMESTAMP_HEADER: str(timestamp), EVENT_HEADER: event, DELIVERY_HEADER: delivery}


def verify(secret: str, body: bytes, timestamp: str, signed: str, *, now: datetime,
           tolerance: timedelta = timedelta(minutes=5)) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        moment = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now.timestamp() - moment) > tolerance.total_seconds():
        return False
    return hmac.compare_digest(signature(secret, moment, body), signed or "")


def next_attempt(attempts: int, failed_at: datetime) -> datetime | None:
    """When to try again after `attempts` failed attempts; None: give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return failed_at + BACKOFF[attempts - 1]
