"""The person page's onboarding journey: stage, milestones done and overdue.

Only journeys of the person's current organisation: a journey at a partner they left
stays that partner's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select

from lms.accounts.models import User
from lms.core import sections
from lms.extensions import db
from lms.journeys.models import Journey, JourneyMilestone, JourneyTemplateVersion


def load(*, person: User, now: datetime) -> dict:
    """One query: each journey with its milestone counts, grouped in SQL."""
    if person.organisation_id is None:
        return {"journeys": [], "last_activity": None}
    done = JourneyMilestone.done_at.is_not(None)
    overdue = JourneyMilestone.done_at.is_(None) & (JourneyMilestone.due_at < now)
    rows = db.session.execute(
        select(Journey, JourneyTemplateVersion.name, func.count(JourneyMilestone.id),
               func.sum(case((done, 1), else_=0)), func.sum(case((overdue, 1), else_=0)),
               func.max(JourneyMilestone.done_at))
        .join(JourneyTemplateVersion, JourneyTemplateVersion.id == Journey.template_version_id)
        .outerjoin(JourneyMilestone, JourneyMilestone.journey_id == Journey.id)
        .where(Journey.user_id == person.id, Journey.organisation_id == person.organisation_id)
        .group_by(Journey.id, JourneyTemplateVersion.name)
        .order_by(Journey.started_at.desc())).all()
    journeys = [{"journey": journey, "name": name, "milestones": count, "done": int(finished or 0),
                 "overdue": int(late or 0),
                 "stalled": journey.completed_at is None and journey.stalls_at <= now}
                for journey, name, count, finished, late, _ in rows]
    return {"journeys": journeys,
            "last_activity": max((last for *_, last in rows if last is not None), default=None)}


sections.add("person", "journey", template="partner/sections/journey.html", load=load,
             order=30)
