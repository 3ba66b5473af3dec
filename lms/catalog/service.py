"""Catalog operations: completing lessons and applying content. Flush, never commit."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from lms.accounts.models import User
from lms.catalog import assignments, loader, sync
from lms.catalog.models import (
    Assignment,
    CourseCompletion,
    Lesson,
    LessonCompletion,
    Track,
    TrackCompletion,
    TrackVersion,
)
from lms.catalog.progress import get_live_track, track_outline
from lms.core import clock, events
from lms.core.errors import Invalid, Locked, NotFound
from lms.extensions import db


def complete_lesson(*, user: User, track_slug: str, lesson_slug: str) -> LessonCompletion:
    """Mark a lesson of an assigned track complete; finishing a course or track records it."""
    track = get_live_track(track_slug)
    _require_assignment(user.id, track.id)
    outline = track_outline(user, track)
    state = outline.state_of(lesson_slug)
    if state.locked_reason:
        raise Locked(state.locked_reason + ".")
    if state.lesson.assessment_slug:
        raise Invalid("This lesson completes when you pass its knowledge check.")
    return _record_completion(user, track, state.lesson)


def complete_knowledge_check(*, user_id: int, assessment_slug: str) -> int:
    """Complete the lessons that are this knowledge check, in the person's assigned tracks.

    Passing counts even if the learner reached the check ahead of the lesson order.
    """
    user = db.session.get(User, user_id)
    rows = db.session.execute(
        select(Track, Lesson).join(Assignment, Assignment.track_id == Track.id)
        .join(Lesson, Lesson.track_version_id == Track.current_version_id)
        .where(Assignment.user_id == user_id, Track.archived_at.is_(None),
               Lesson.assessment_slug == assessment_slug)).all()
    for track, lesson in rows:
        _record_completion(user, track, lesson)
    return len(rows)


def _record_completion(user: User, track: Track, lesson: Lesson) -> LessonCompletion:
    existing = _completion(user.id, lesson.id)
    if existing is not None:
        return existing
    now = clock.now()
    completion = LessonCompletion(user_id=user.id, lesson_id=lesson.id, completed_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(completion)
    except IntegrityError:
        # A double click got there first; the first completion stands.
        return _completion(user.id, lesson.id)
    events.lesson_completed.send(user.id, lesson_id=lesson.id)

    remaining_in_course = db.session.scalar(
        _unfinished(user.id, Lesson.course_id == lesson.course_id))
    if remaining_in_course == 0:
        db.session.add(CourseCompletion(user_id=user.id, course_id=lesson.course_id,
                                        completed_at=now))
        db.session.flush()
        events.course_completed.send(user.id, course_id=lesson.course_id)
        remaining = db.session.scalar(
            _unfinished(user.id, Lesson.track_version_id == lesson.track_version_id))
        if remaining == 0:
            db.session.add(TrackCompletion(user_id=user.id, track_id=track.id,
                                           track_version_id=lesson.track_version_id,
                                           completed_at=now))
            db.session.flush()
            events.track_completed.send(user.id, track_version_id=lesson.track_version_id)
    return completion


def _completion(user_id: int, lesson_id: int) -> LessonCompletion | None:
    return db.session.scalar(select(LessonCompletion).where(
        LessonCompletion.user_id == user_id, LessonCompletion.lesson_id == lesson_id))


def _unfinished(user_id: int, scope):
    done = select(LessonCompletion.lesson_id).where(LessonCompletion.user_id == user_id)
    return select(func.count()).select_from(Lesson).where(scope, Lesson.id.not_in(done))


def _require_assignment(user_id: int, track_id: int) -> Assignment:
    assignment = db.session.scalar(select(Assignment).where(
        Assignment.user_id == user_id, Assignment.track_id == track_id))
    if assignment is None:
        raise NotFound("This track is not assigned to you.")
    return assignment


def track_choices() -> list[tuple[int, str]]:
    """(id, current title) of every live track, for assigning by hand."""
    return list(db.session.execute(
        select(Track.id, TrackVersion.title)
        .join(TrackVersion, TrackVersion.id == Track.current_version_id)
        .where(Track.archived_at.is_(None)).order_by(TrackVersion.title)).tuples())


def sync_content(path: str) -> sync.SyncReport:
    """Validate, then apply the tracks in content/ (lms.content syncs every domain)."""
    return apply_content(loader.load(path))


def apply_content(program: loader.Program) -> sync.SyncReport:
    """Apply a loaded program and re-evaluate every rule-based assignment."""
    report = sync.apply(program)
    changes = assignments.reevaluate()
    if changes.added or changes.removed:
        report.changed.append(f"assignments (+{changes.added}, -{changes.removed})")
    return report


def knowledge_check_blocker(user: User, assessment_slug: str) -> str | None:
    """Why this person may not take a knowledge check yet, or None if they may.

    A check that no lesson points at is a stand-alone exam: no track rules apply. A check
    inside a track opens with its lesson, so it cannot be used to jump the lesson order.
    """
    rows = db.session.execute(
        select(Track, Lesson.slug).join(Lesson, Lesson.track_version_id == Track.current_version_id)
        .where(Track.archived_at.is_(None), Lesson.assessment_slug == assessment_slug)).all()
    if not rows:
        return None
    assigned = set(db.session.scalars(select(Assignment.track_id).where(
        Assignment.user_id == user.id, Assignment.track_id.in_([t.id for t, _ in rows]))))
    reasons = []
    for track, lesson_slug in rows:
        if track.id not in assigned:
            continue
        state = track_outline(user, track).state_of(lesson_slug)
        if state.locked_reason is None:
            return None
        reasons.append(state.locked_reason + ".")
    if reasons:
        return reasons[0]
    return "This knowledge check belongs to a track that is not assigned to you."
