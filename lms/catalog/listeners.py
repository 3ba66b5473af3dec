"""Catalog reacts to account events: assignment rules are re-evaluated when people change."""

from lms.catalog import assignments, team_tallies
from lms.core import events


def connect() -> None:
    """Idempotent: blinker keeps one registration per receiver."""
    # Before user_changed: the figures move with the assignments the person has now.
    events.staff_moved.connect(team_tallies.on_staff_moved)
    events.user_created.connect(assignments.on_user_created)
    events.user_changed.connect(assignments.on_user_changed)
    events.organisation_changed.connect(assignments.on_organisation_changed)
