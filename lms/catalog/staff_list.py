"""A partner's staff list: one page of people with their progress, and the team's figures.

A partner of thousands pays for one page: the people are searched, sorted (by the
organisation + lower(full_name) index) and paged in SQL, their progress is counted for that
page only (`progress.staff_progress`), and the figures above the list (and the unsearched
list's total) are tallies the writes keep (accounts.headcount, catalog.team_tallies).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from lms.accounts import headcount, scoping
from lms.accounts.models import User
from lms.catalog import team_tallies
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
    """The team's figures from the tallies the writes keep (accounts.headcount,
    catalog.team_tallies): three small statements, whatever the partner's size."""
    people = headcount.headcount(organisation_id)
    progress = team_tallies.figures(organisation_id)
    return TeamFigures(active=people["joined"], pending=people["invited"],
                       completed=progress["completed"],
                       overdue=team_tallies.overdue(organisation_id, now),
                       done_lessons=progress["done"], total_lessons=progress["lessons"])
