"""Certifications listen to learning events: a certificate is issued the moment it is earned."""

from lms.assessments.access import Refusal
from lms.certifications import holders, service
from lms.core import events


def _award(user_id: int, **_) -> None:
    service.award_due(user_id)


def _reopening(user_id: int, assessment_slugs: list[str], **_):
    return service.reopenings_for(user_id, assessment_slugs)


def _access(user_id: int, assessment_slugs: list[str], **_) -> dict[str, Refusal]:
    return service.renewal_exam_refusals(user_id, assessment_slugs)


def _certifies(assessment_slug: str, **_) -> list[str]:
    return service.programs_counting(assessment_slug)


def _outcomes(user_id: int, **kwargs):
    from lms.certifications.views.learner import issued_on_result  # builds page links

    return issued_on_result(user_id, **kwargs)


def connect() -> None:
    """Idempotent: blinker keeps one registration per receiver."""
    events.track_completed.connect(_award)
    events.assessment_passed.connect(_award)
    events.assessment_reopening.connect(_reopening)
    events.assessment_access.connect(_access)
    events.assessment_certifies.connect(_certifies)
    events.attempt_outcomes.connect(_outcomes)
    events.user_changed.connect(holders.on_user_changed)
