"""Assignments added at the same moment by two writers: one row each, no unique violation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from lms.catalog import assignments
from lms.catalog.models import Assignment
from lms.core.jobs import commit
from lms.extensions import db
from tests.factories import make_organisation, make_user
from tests.threads import at_once

THREADS = 6


def assigned(user_id: int) -> list[int]:
    return sorted(db.session.scalars(select(Assignment.track_id)
                                     .where(Assignment.user_id == user_id)))


@pytest.mark.committed
def test_simultaneous_reevaluations_assign_each_track_once(app):
    learner = make_user(make_organisation(), job_role="technical")
    user_id = learner.id
    expected = assigned(user_id)
    assert expected  # the shipped audiences give a technical learner tracks
    db.session.execute(delete(Assignment).where(Assignment.user_id == user_id))
    commit()

    def work(_index: int) -> int:
        with app.app_context():
            changes = assignments.reevaluate(user_ids=[user_id])
            commit()
            return changes.added

    added = at_once(THREADS, work, what="a re-evaluation")
    db.session.rollback()
    assert assigned(user_id) == expected
    assert sum(added) == len(expected)  # each assignment announced by the one that added it


def test_assigning_by_hand_twice_keeps_one_assignment_with_the_latest_due_date(frozen_clock):
    learner = make_user(make_organisation(), job_role="sales")
    admin = make_user(role="vendor_admin")
    track_id = db.session.scalar(select(Assignment.track_id)
                                 .where(Assignment.user_id == learner.id).limit(1))
    for days in (10, 20):
        assignments.assign_manually(user_id=learner.id, track_id=track_id,
                                    due_at=frozen_clock + timedelta(days=days),
                                    assigned_by=admin)
    [row] = db.session.scalars(select(Assignment).where(
        Assignment.user_id == learner.id, Assignment.track_id == track_id))
    assert row.manual and row.by_rule  # by hand, beside the rule that gave it first
    assert row.due_at == frozen_clock + timedelta(days=20)
