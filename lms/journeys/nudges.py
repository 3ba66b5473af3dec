"""Overdue milestones and stalled journeys, nudged by mail to whoever owns the next step.

Each nudge is claimed in `journey_nudge`, unique per milestone and condition, so it goes
out exactly once even when the periodic job runs twice at the same moment.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from lms.accounts.models import Organisation, User
from lms.core import clock, mail, settings
from lms.extensions import db
from lms.journeys import service
from lms.journeys.models import Journey, JourneyEvent, JourneyMilestone, JourneyNudge
from lms.journeys.sync import SWEPT_SETTING


def sweep() -> int:
    """The periodic job: complete what the events missed, then nudge; return the changes.

    Only people with evidence since the last sweep are looked at (everyone the first time),
    so an idle minute costs a few queries however many journeys are open.
    """
    now = clock.now()
    since = settings.get(SWEPT_SETTING)
    if since is None:
        changed = service.refresh()
    else:
        people = service.people_with_evidence_since(datetime.fromisoformat(since))
        changed = service.refresh(user_ids=people) if people else 0
    settings.put(SWEPT_SETTING, now.isoformat())
    return changed + send_due_nudges()


def send_due_nudges() -> int:
    """Nudge each overdue milestone once, and each stalled journey once per next step."""
    now = clock.now()
    base = (select(JourneyMilestone).join(JourneyMilestone.journey)
            .options(contains_eager(JourneyMilestone.journey))
            .where(JourneyMilestone.done_at.is_(None), Journey.completed_at.is_(None)))
    overdue = list(db.session.scalars(
        base.where(JourneyMilestone.due_at < now, ~_nudged("overdue"))
        .order_by(JourneyMilestone.due_at)))
    # A stalled journey's nudge is about its next step: the open milestone of the earliest
    # unfinished stage that is due first. Progress and a new stall nudge the new next step.
    open_in_stalled = list(db.session.scalars(
        base.where(Journey.stalls_at <= now).order_by(JourneyMilestone.id)))
    next_steps: dict[int, JourneyMilestone] = {}
    for milestone in open_in_stalled:
        current = next_steps.get(milestone.journey_id)
        if current is None or _order(milestone) < _order(current):
            next_steps[milestone.journey_id] = milestone
    already = set(db.session.scalars(select(JourneyNudge.milestone_id).where(
        JourneyNudge.condition == "stalled",
        JourneyNudge.milestone_id.in_([m.id for m in next_steps.values()])))) \
        if next_steps else set()
    stalled = [m for m in next_steps.values() if m.id not in already]
    work = [("overdue", m) for m in overdue] + [("stalled", m) for m in stalled]
    if not work:
        return 0
    recipients = _recipients([m for _, m in work])
    sent = 0
    for condition, milestone in work:
        if _nudge(condition, milestone, recipients(milestone), now):
            sent += 1
    return sent


def _order(milestone: JourneyMilestone):
    return (milestone.stage_index, milestone.due_at, milestone.position)


def _nudged(condition: str):
    return exists().where(JourneyNudge.milestone_id == JourneyMilestone.id,
                          JourneyNudge.condition == condition)


def _recipients(milestones: list[JourneyMilestone]):
    """A function giving each milestone's owners as (email, name), from three queries."""
    journeys = {m.journey for m in milestones}
    people = {u.id: u for u in db.session.scalars(select(User).where(
        User.id.in_({j.user_id for j in journeys if j.user_id}), User.active.is_(True)))}
    admins: dict[int, list[User]] = {}
    for admin in db.session.scalars(select(User).where(
            User.organisation_id.in_({j.organisation_id for j in journeys}),
            User.role == "partner_admin", User.active.is_(True)).order_by(User.id)):
        admins.setdefault(admin.organisation_id, []).append(admin)
    vendor_team = list(db.session.scalars(select(User).where(
        User.role.in_(("vendor_admin", "channel_manager")), User.active.is_(True))
        .order_by(User.id)))

    def owners(milestone: JourneyMilestone) -> list[User]:
        journey = milestone.journey
        if milestone.owner == "person":
            found = [people[journey.user_id]] if journey.user_id in people else []
        elif milestone.owner == "partner_admin":
            found = admins.get(journey.organisation_id, [])
        else:
            found = vendor_team
        # Nobody to own it (no partner admin yet, a person who left): the vendor's team
        # hears instead, rather than the nudge vanishing.
        return found or vendor_team

    return owners


def _nudge(condition: str, milestone: JourneyMilestone, owners: list[User], now) -> bool:
    nudge = JourneyNudge(milestone_id=milestone.id, condition=condition, at=now,
                         recipients=[owner.email for owner in owners])
    try:
        with db.session.begin_nested():
            db.session.add(nudge)
    except IntegrityError:
        return False  # a concurrent sweep claimed it first
    journey = milestone.journey
    subject_name = (db.session.get(User, journey.user_id).full_name if journey.user_id
                    else db.session.get(Organisation, journey.organisation_id).name)
    name = journey.template_version.name
    subject = (f"Overdue: {milestone.title}" if condition == "overdue"
               else f"{name} has stalled: next, {milestone.title}")
    link = f"{current_app.config['BASE_URL']}/journeys/{journey.id}"
    for owner in owners:
        mail.send(owner.email, subject, f"journey_{condition}", owner=owner,
                  milestone=milestone, journey_name=name, subject_name=subject_name,
                  link=link, now=now, vendor_name=settings.get("vendor_name"),
                  stalled_days=journey.template_version.stalled_after_days)
    db.session.add(JourneyEvent(
        journey_id=journey.id, milestone_id=milestone.id, at=now, kind=f"nudged_{condition}",
        detail=f"{milestone.title}: told {', '.join(o.email for o in owners) or 'nobody'}"))
    db.session.flush()
    return True
