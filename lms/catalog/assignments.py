"""Track assignment: rule-based (from audiences) beside manual, re-evaluated on change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from lms.accounts.models import PARTNER_ROLES, Organisation, User
from lms.catalog.audience import Person, matches
from lms.catalog.models import Assignment, Lesson, LessonCompletion, Track, TrackVersion
from lms.core import clock
from lms.core.errors import Invalid, NotFound
from lms.extensions import db


@dataclass
class AssignmentChanges:
    added: int = 0
    removed: int = 0
    kept_started: int = 0


def reevaluate(*, user_ids: list[int] | None = None,
               organisation_ids: list[int] | None = None) -> AssignmentChanges:
    """Recompute rule-based assignments for the given people (or everyone).

    A track that stops applying is unassigned only if the person never started it and
    nobody assigned it by hand; progress is never lost.
    """
    changes = AssignmentChanges()
    tracks = db.session.scalars(
        select(Track).where(Track.archived_at.is_(None), Track.current_version_id.is_not(None))
    ).all()
    people_query = (
        select(User.id, User.job_role, Organisation.partner_type, Organisation.tier,
               Organisation.region)
        .join(Organisation, Organisation.id == User.organisation_id)
        .where(User.role.in_(PARTNER_ROLES), User.active.is_(True))
    )
    if user_ids is not None:
        people_query = people_query.where(User.id.in_(user_ids))
    if organisation_ids is not None:
        people_query = people_query.where(User.organisation_id.in_(organisation_ids))
    people = db.session.execute(people_query).all()
    if not people:
        return changes
    ids = [row.id for row in people]
    existing = {
        (assignment.user_id, assignment.track_id): assignment
        for assignment in db.session.scalars(
            select(Assignment).where(Assignment.user_id.in_(ids)))
    }
    started = {(user_id, track_id) for user_id, track_id in db.session.execute(
        select(LessonCompletion.user_id, TrackVersion.track_id).distinct()
        .join(Lesson, Lesson.id == LessonCompletion.lesson_id)
        .join(TrackVersion, TrackVersion.id == Lesson.track_version_id)
        .where(LessonCompletion.user_id.in_(ids)))}
    now = clock.now()
    to_delete: list[int] = []
    for row in people:
        person = Person(row.partner_type, row.tier, row.region, row.job_role)
        for track in tracks:
            key = (row.id, track.id)
            assignment = existing.get(key)
            if matches(track.audience or {}, person):
                if assignment is None:
                    db.session.add(Assignment(user_id=row.id, track_id=track.id, by_rule=True,
                                              assigned_at=now, due_at=_due(track, now)))
                    changes.added += 1
                elif not assignment.by_rule:
                    assignment.by_rule = True
            elif assignment is not None and assignment.by_rule:
                if assignment.manual:
                    assignment.by_rule = False
                elif key in started:
                    changes.kept_started += 1
                else:
                    to_delete.append(assignment.id)
    if to_delete:
        db.session.execute(delete(Assignment).where(Assignment.id.in_(to_delete)))
        changes.removed = len(to_delete)
    db.session.flush()
    return changes


def _due(track: Track, now: datetime) -> datetime | None:
    return now + timedelta(days=track.due_within_days) if track.due_within_days else None


def assign_manually(*, user_id: int, track_id: int, due_at: datetime | None,
                    assigned_by: User) -> Assignment:
    """Assign a track by hand (beside any rule), or update the due date of one."""
    track = db.session.get(Track, track_id)
    if track is None or track.archived_at is not None:
        raise NotFound("No such track.")
    if due_at is not None and due_at <= clock.now():
        raise Invalid("The due date must be in the future.", field="due_at")
    assignment = db.session.scalar(
        select(Assignment).where(Assignment.user_id == user_id, Assignment.track_id == track_id))
    if assignment is None:
        assignment = Assignment(user_id=user_id, track_id=track_id, assigned_at=clock.now())
        db.session.add(assignment)
    assignment.manual = True
    assignment.assigned_by_id = assigned_by.id
    assignment.due_at = due_at
    db.session.flush()
    return assignment


def on_user_created(user_id: int, **_) -> None:
    reevaluate(user_ids=[user_id])


def on_user_changed(user_id: int, fields: set[str], **_) -> None:
    if fields & {"role", "job_role", "organisation_id", "active"}:
        reevaluate(user_ids=[user_id])


def on_organisation_changed(organisation_id: int, fields: set[str], **_) -> None:
    if fields & {"created", "tier", "partner_type", "region", "status"}:
        reevaluate(organisation_ids=[organisation_id])
