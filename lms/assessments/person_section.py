"""The person page's exam attempts, newest first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from lms.accounts.models import User
from lms.assessments.models import AssessmentVersion, Attempt
from lms.core import sections
from lms.extensions import db

SHOWN = 10


def load(*, person: User, now: datetime) -> dict:
    """Two queries: the latest attempts with their exam's title, and how many there are."""
    rows = db.session.execute(
        select(Attempt, AssessmentVersion.title)
        .join(AssessmentVersion, AssessmentVersion.id == Attempt.assessment_version_id)
        .where(Attempt.user_id == person.id)
        .order_by(Attempt.started_at.desc(), Attempt.id.desc()).limit(SHOWN)).all()
    total = db.session.scalar(select(func.count(Attempt.id)).where(Attempt.user_id == person.id))
    moments = [moment for attempt, _ in rows
               for moment in (attempt.started_at, attempt.submitted_at) if moment is not None]
    return {"attempts": rows, "total": total, "shown": SHOWN,
            "last_activity": max(moments, default=None)}


sections.add("person", "attempts", template="partner/sections/attempts.html", load=load,
             order=20)
