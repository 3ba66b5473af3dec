"""Readiness listens: anything that feeds a partner's score marks the partner pending, and
one recompute job per commit scores them all (service.mark_pending)."""

from lms.accounts.models import User
from lms.core import events
from lms.extensions import db
from lms.readiness import service


def _person(user_id: int, **_) -> None:
    # Usually already in the session (the event's sender just changed it): no query.
    user = db.session.get(User, user_id)
    if user is not None and user.organisation_id is not None:
        service.mark_pending([user.organisation_id])


def _person_changed(user_id: int, fields=frozenset(), previous=None, **_) -> None:
    # Only what readiness reads: job role, active, organisation, an accepted invitation. A
    # person moved between partners changes both: the one they left loses their certificates
    # and progress.
    if not fields or {"job_role", "active", "organisation_id", "role", "accepted"} & set(fields):
        _person(user_id)
        left = (previous or {}).get("organisation_id")
        if left is not None:
            service.mark_pending([left])


def _organisation(organisation_id: int, **_) -> None:
    service.mark_pending([organisation_id])


def _milestone(organisation_id: int, **_) -> None:
    service.mark_pending([organisation_id])


def connect() -> None:
    """Idempotent: blinker keeps one registration per receiver."""
    for signal in (events.track_completed, events.assessment_passed,
                   events.certificate_issued, events.certificate_revoked,
                   events.user_created):
        signal.connect(_person)
    events.user_changed.connect(_person_changed)
    events.organisation_changed.connect(_organisation)
    events.milestone_completed.connect(_milestone)

