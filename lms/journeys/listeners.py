"""Journeys listen: a new partner or person starts a journey, and evidence completes
milestones the moment it arrives."""

from lms.core import events
from lms.journeys import service


def _organisation_changed(organisation_id: int, fields=frozenset(), **_) -> None:
    if "created" in fields:
        service.start_for_organisation(organisation_id)


def _user_created(user_id: int, **_) -> None:
    service.start_for_person(user_id)


def _user_changed(user_id: int, fields=frozenset(), **_) -> None:
    if "organisation_id" in fields:
        service.follow_person(user_id)


def _evidence(user_id: int, **_) -> None:
    service.refresh(user_ids=[user_id])


def connect() -> None:
    """Idempotent: blinker keeps one registration per receiver."""
    events.organisation_changed.connect(_organisation_changed)
    events.user_created.connect(_user_created)
    events.user_changed.connect(_user_changed)
    events.track_completed.connect(_evidence)
    events.assessment_passed.connect(_evidence)
    events.certificate_issued.connect(_evidence)
