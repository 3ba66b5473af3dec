"""A partner's staff list: one page of people with their progress, and the team's figures.

A partner of thousands pays for one page: the people are searched, sorted (by the
organisation + lower(full_name) index) and paged in SQL, their progress is counted for that
page only (`progress.staff_progress`). The headcount (and the unsearched list's total) is
the tally the writes keep (accounts.headcount); the progress figures above the list are
still three aggregates over the partner's own staff, never rows brought back to Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select

from lms.accounts import headcount, scoping
from lms.accounts.models import User, active_staff
from lms.catalog.models import Assignment, Lesson, LessonCompletion, Track, TrackCompletion
from lms.catalog.progress import staff_progress
from lms.core.pages import Window, window
from lms.extensions import db


def staff_page(organisation_id: int, *, actor: User, search: str | None, page: int,
               per_page: int) -> Window:
    """One page of a partner's people by name, searched by name or email, with progress."""
    statement = select(User).where(User.organisation_id == organisation_id)
    # Unsearched, everyone at the partner is listed: the headcount the writes keep is the
    # total (a COUNT would read every one of a big partner's people).
    total = None if search else sum(headcount.headcount(organisation_id).values())
    if search:
        text = search.lower()
        statement = statement.where(or_(
            func.lower(User.full_name).contains(text, autoescape=True),
            User.email.contains(text, autoescape=True)))  # emails are stored lower-cased
    found = window(db.session, scoping.scope_users(
        statement.order_by(func.lower(User.full_name), User.id), actor),
        page=page, per_page=per_page, total=total, scalars=True)
    return Window(staff_progress(found.rows), found.total, found.page, found.pages,
                  found.per_page)


@dataclass(frozen=True)
class TeamFigures:
    """The tiles above the list, over the partner's active staff as readiness counts them
    (accounts.models.active_staff): not the deactivated, nor invitations still pending."""

    active: int
    pending: int  # active accounts whose invitation is not yet accepted
    completed: int  # assigned live tracks completed
    overdue: int  # assigned live tracks past due and not completed
    done_lessons: int
    total_lessons: int

    @property
    def percent_done(self) -> int:
        return round(100 * self.done_lessons / self.total_lessons) if self.total_lessons else 0


def team_figures(organisation_id: int, now: datetime) -> TeamFigures:
    """The team's figures: the headcount from the tallies, the progress in three aggregate
    queries over this partner's staff only."""
    people = headcount.headcount(organisation_id)
    counted = select(User.id).where(User.organisation_id == organisation_id, active_staff())
    live = and_(Track.id == Assignment.track_id, Track.archived_at.is_(None))
    # EXISTS probes per assignment (user_id leads both indexes) rather than joining every
    # completion of every version: the planner keeps to this partner's rows.
    completed = select(TrackCompletion.id).where(
        TrackCompletion.user_id == Assignment.user_id,
        TrackCompletion.track_id == Assignment.track_id).exists()
    completed_count, overdue = db.session.execute(
        select(func.count().filter(completed),
               func.count().filter(and_(~completed, Assignment.due_at < now)))
        .select_from(Assignment).join(Track, live)
        .where(Assignment.user_id.in_(counted))).one()
    total_lessons = db.session.scalar(
        select(func.count()).select_from(Assignment).join(Track, live)
        .join(Lesson, Lesson.track_version_id == Track.current_version_id)
        .where(Assignment.user_id.in_(counted)))
    # A completed lesson counts when its track's current version holds it and the track is
    # assigned to that person: as staff_progress counts it, person by person.
    assigned = select(Assignment.id).where(Assignment.user_id == LessonCompletion.user_id,
                                           Assignment.track_id == Track.id).exists()
    done_lessons = db.session.scalar(
        select(func.count()).select_from(LessonCompletion)
        .join(Lesson, Lesson.id == LessonCompletion.lesson_id)
        .join(Track, and_(Track.current_version_id == Lesson.track_version_id,
                          Track.archived_at.is_(None)))
        .where(LessonCompletion.user_id.in_(counted), assigned))
    return TeamFigures(active=people["joined"], pending=people["invited"],
                       completed=completed_count or 0, overdue=overdue or 0,
                       done_lessons=done_lessons or 0, total_lessons=total_lessons or 0)
