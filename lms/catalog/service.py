"""Catalog operations: completing lessons and applying content. Flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select

from lms.accounts.models import User
from lms.catalog import assignments, loader, sync, team_tallies
from lms.catalog.models import (
    Assignment,
    CourseCompletion,
    Lesson,
    LessonCompletion,
    Track,
    TrackCompletion,
    TrackVersion,
)
from lms.catalog.progress import live_outline, track_outline
from lms.core import clock, events
from lms.core.errors import Invalid, Locked, NotFound
from lms.core.upsert import insert_new
from lms.extensions import db


@dataclass(frozen=True)
class LessonDone:
    """What marking a lesson complete led to, for the page that follows."""

    lesson_id: int
    track_title: str
    track_done: bool  # every lesson of the track's current version is done
    next_lesson_slug: str | None  # the first lesson still to do, in track order


def complete_lesson(*, user: User, track_slug: str, lesson_slug: str) -> LessonDone:
    """Mark a lesson of an assigned track complete; finishing a course or track records it.

    Repeating it (a double click, a resent form) records nothing twice and fails nothing.
    """
    outline = live_outline(user, track_slug)
    track = outline.track
    if outline.assignment is None:
        raise NotFound("This track is not assigned to you.")
    state = outline.state_of(lesson_slug)
    if state.locked_reason:
        raise Locked(state.locked_reason + ".")
    if state.lesson.assessment_slug:
        raise Invalid("This lesson completes when you pass its knowledge check.")
    _record_completion(user.id, track.id, state.lesson)
    # The outline was read before this completion: the lessons left are the others not done.
    left = [other for other in outline.lessons if not other.done and other is not state]
    return LessonDone(lesson_id=state.lesson.id, track_title=outline.version.title,
                      track_done=not left,
                      next_lesson_slug=left[0].lesson.slug if left else None)


def complete_knowledge_check(*, user_id: int, assessment_slug: str) -> int:
    """Complete the lessons that are this knowledge check, in the person's assigned tracks.

    Passing counts even if the learner reached the check ahead of the lesson order.
    """
    rows = db.session.execute(
        select(Track.id, Lesson).join(Assignment, Assignment.track_id == Track.id)
        .join(Lesson, Lesson.track_version_id == Track.current_version_id)
        .where(Assignment.user_id == user_id, Track.archived_at.is_(None),
               Lesson.assessment_slug == assessment_slug)).all()
    for track_id, lesson in rows:
        _record_completion(user_id, track_id, lesson)
    return len(rows)


def _record_completion(user_id: int, track_id: int, lesson: Lesson) -> bool:
    """Record the lesson, and its course and track when they are now complete.

    Each is an insert that does nothing when the row exists (a double click, two tabs, a
    completion carried forward from an earlier version), and each is announced only by the
    call that inserted it. True if the lesson completion is new.
    """
    now = clock.now()
    if not insert_new(LessonCompletion, {"user_id": user_id, "lesson_id": lesson.id,
                                         "completed_at": now}, ["user_id", "lesson_id"]):
        return False
    team_tallies.lesson_done(user_id, track_id, lesson.id)
    events.lesson_completed.send(user_id, lesson_id=lesson.id)

    if db.session.scalar(_LEFT_IN_COURSE, {"user_id": user_id, "course_id": lesson.course_id}):
        return True
    if insert_new(CourseCompletion, {"user_id": user_id, "course_id": lesson.course_id,
                                     "completed_at": now}, ["user_id", "course_id"]):
        events.course_completed.send(user_id, course_id=lesson.course_id)
    left_in_track = db.session.scalar(
        _LEFT_IN_VERSION, {"user_id": user_id, "version_id": lesson.track_version_id})
    if left_in_track == 0 and insert_new(
            TrackCompletion, {"user_id": user_id, "track_id": track_id,
                              "track_version_id": lesson.track_version_id, "completed_at": now},
            ["user_id", "track_version_id"]):
        team_tallies.track_completed(user_id, track_id)
        events.track_completed.send(user_id, track_version_id=lesson.track_version_id)
    return True


def _lessons_left(scope):
    """How many lessons in `scope` the person has not completed (built once, run often)."""
    done = select(LessonCompletion.lesson_id).where(
        LessonCompletion.user_id == bindparam("user_id"))
    return select(func.count()).select_from(Lesson).where(scope, Lesson.id.not_in(done))


_LEFT_IN_COURSE = _lessons_left(Lesson.course_id == bindparam("course_id"))
_LEFT_IN_VERSION = _lessons_left(Lesson.track_version_id == bindparam("version_id"))


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
