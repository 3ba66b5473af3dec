"""Webhooks: endpoints, queued deliveries, and the jobs that send them.

A delivery's body is rendered once, stored, and sent byte for byte on every attempt, so
the signature a receiver checks is always over what we logged. The first attempt is made
right after the commit that queued the delivery (`deliver_new`); failures are retried with
backoff (signing.BACKOFF) by the periodic job (`deliver_due`), and every attempt is logged.
Redirects are not followed: a signed body goes only to the URL an admin configured.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime

from flask import current_app
from sqlalchemy import Select, select

from lms.core import clock, jobs, outbound
from lms.core.errors import Invalid, NotFound
from lms.extensions import db
from lms.scorecard import signing
from lms.scorecard.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint

EVENTS = {"scorecard.health_changed": "Health changed",
          "scorecard.risk_flag_raised": "Risk flag raised"}
TIMEOUT_SECONDS = 5
BATCH = 100


# --- endpoints -----------------------------------------------------------------------------

def create_endpoint(*, url: str, description: str = "", actor_id: int | None) -> WebhookEndpoint:
    """A new active endpoint with a fresh secret."""
    url = outbound.check_url(url, field="url", allow_private=_allow_private())
    if len(url) > 500:
        raise Invalid("The address is longer than 500 characters.", field="url")
    endpoint = WebhookEndpoint(url=url, secret=signing.new_secret(),
                               description=(description or "").strip()[:200],
                               created_by_id=actor_id)
    db.session.add(endpoint)
    db.session.flush()
    return endpoint


def deactivate_endpoint(endpoint_id: int) -> WebhookEndpoint:
    """Stop sending to an endpoint; deliveries still waiting for it are given up."""
    endpoint = get_endpoint(endpoint_id)
    if endpoint.active:
        now = clock.now()
        endpoint.active, endpoint.deactivated_at = False, now
        for delivery in db.session.scalars(select(WebhookDelivery).where(
                WebhookDelivery.endpoint_id == endpoint.id,
                WebhookDelivery.next_attempt_at.is_not(None))):
            delivery.next_attempt_at, delivery.gave_up_at = None, now
            delivery.last_error = "endpoint deactivated"
        db.session.flush()
    return endpoint


def get_endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("No such webhook.")
    return endpoint


# --- queueing ------------------------------------------------------------------------------

def queue(event: str, data: dict, *, organisation_id: int | None, now: datetime) -> int:
    """One delivery per active endpoint; returns how many were queued."""
    endpoints = db.session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.active.is_(True)).order_by(WebhookEndpoint.id)).all()
    for endpoint in endpoints:
        public_id = str(uuid.uuid4())
        body = {"id": public_id, "event": event,
                "occurred_at": now.isoformat(timespec="seconds"), **data}
        db.session.add(WebhookDelivery(
            public_id=public_id, endpoint_id=endpoint.id, organisation_id=organisation_id,
            event=event, payload=json.dumps(body, sort_keys=True, ensure_ascii=False),
            created_at=now, next_attempt_at=now))
    if endpoints:
        jobs.enqueue(deliver_new)  # once per commit, however many were queued
    return len(endpoints)


# --- delivering ----------------------------------------------------------------------------

class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx is reported as the answer, not followed


def _allow_private() -> bool:
    return bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE"))


def deliver_due(limit: int = BATCH) -> int:
    """The periodic job: attempt every delivery that is due. Returns how many succeeded."""
    return _deliver(limit)


# First attempts made straight after a commit, at most: inline they run in the request that
# made the change, so a slow endpoint must not hold it for long; the periodic job sends the
# rest (and every retry) on its schedule.
FIRST_ATTEMPTS = 10


def deliver_new(limit: int = FIRST_ATTEMPTS) -> int:
    """Job, after the commit that queued deliveries: their first attempt, without waiting
    for the periodic job. Returns how many succeeded."""
    # An endpoint that gives no HTTP answer is left to the periodic job for the rest of
    # this pass: it costs the request one timeout, not one per delivery.
    return _deliver(limit, WebhookDelivery.attempts == 0, skip_unanswered=True)


def _deliver(limit: int, *conditions, skip_unanswered: bool = False) -> int:
    now = clock.now()
    due = db.session.scalars(
        select(WebhookDelivery).join(WebhookEndpoint)
        .where(WebhookDelivery.next_attempt_at <= now, WebhookEndpoint.active.is_(True),
               *conditions)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
        # Two jobs running at once (a tick, a first attempt) must not both send one delivery.
        .with_for_update(of=WebhookDelivery, skip_locked=True)).all()
    delivered, unanswered = 0, set()
    for delivery in due:
        if delivery.endpoint_id in unanswered:
            continue
        delivered += attempt(delivery, now=clock.now())
        if skip_unanswered and delivery.last_status is None and delivery.delivered_at is None:
            unanswered.add(delivery.endpoint_id)
    db.session.flush()
    return delivered


def attempt(delivery: WebhookDelivery, *, now: datetime) -> bool:
    """Send one delivery once, log the attempt, and schedule a retry or give up."""
    endpoint = delivery.endpoint
    body = delivery.payload.encode()
    timestamp = int(now.timestamp())
    headers = signing.headers(endpoint.secret, timestamp, body, event=delivery.event,
                              delivery=delivery.public_id)
    status, error = None, None
    started = time.monotonic()
    try:
        request = urllib.request.Request(endpoint.url, data=body, headers=headers,
                                         method="POST")
        opener = outbound.opener(_NoRedirects, allow_private=_allow_private())
        with opener.open(request, timeout=current_app.config.get(
                "SCORECARD_WEBHOOK_TIMEOUT", TIMEOUT_SECONDS)) as response:
            status = response.status
    except urllib.error.HTTPError as failure:
        status = failure.code
        error = f"HTTP {failure.code} {failure.reason}"
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as failure:
        # HTTPException: an answer that is not HTTP (urllib does not wrap those). Logged as
        # a failed attempt like any other, so the delivery is retried, not stuck first.
        error = str(getattr(failure, "reason", None) or failure or type(failure).__name__)[:500]
    ok = status is not None and 200 <= status < 300
    if status is not None and not ok and error is None:
        error = f"HTTP {status}"
    delivery.attempts += 1
    delivery.signature = headers[signing.SIGNATURE_HEADER]
    delivery.last_status, delivery.last_error = status, error
    db.session.add(DeliveryAttempt(
        delivery_id=delivery.id, number=delivery.attempts, attempted_at=now,
        timestamp=timestamp, signature=delivery.signature, status_code=status, error=error,
        duration_ms=int((time.monotonic() - started) * 1000)))
    if ok:
        delivery.delivered_at, delivery.next_attempt_at = now, None
    else:
        delivery.next_attempt_at = signing.next_attempt(delivery.attempts, now)
        if delivery.next_attempt_at is None:
            delivery.gave_up_at = now
    return ok


def deliveries(endpoint_id: int) -> Select:
    """An endpoint's deliveries, newest first, to page through."""
    return (select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.id.desc()))


def attempts_of(delivery_ids: list[int]) -> dict[int, list[DeliveryAttempt]]:
    found: dict[int, list[DeliveryAttempt]] = {}
    if delivery_ids:
        for row in db.session.scalars(select(DeliveryAttempt).where(
                DeliveryAttempt.delivery_id.in_(delivery_ids)).order_by(DeliveryAttempt.id)):
            found.setdefault(row.delivery_id, []).append(row)
    return found
