"""Assessments react to their own results: a passed knowledge check completes its lesson."""

from lms.catalog import service as catalog
from lms.core import events


def _complete_knowledge_check(user_id: int, assessment_slug: str, **_) -> None:
    catalog.complete_knowledge_check(user_id=user_id, assessment_slug=assessment_slug)


def connect() -> None:
    events.assessment_passed.connect(_complete_knowledge_check)
