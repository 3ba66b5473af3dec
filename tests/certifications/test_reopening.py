"""A renewal window or a lapse reopens an assessment the person already passed, for real."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lms.assessments.models import Assessment
from lms.assessments.service import standing as assessment_standing
from lms.certifications import lifecycle
from lms.core import clock
from lms.extensions import db
from tests.certifications.test_issuing import (
    EXAM,
    SP,
    TA,
    certificates,
    complete_track,
    learner,
    pass_exam,
)


def _standing(user, slug):
    assessment = db.session.scalar(select(Assessment).where(Assessment.slug == slug))
    return assessment_standing(user, assessment)


def test_a_renewal_assessment_passed_before_opens_again_in_the_window(frozen_clock):
    seller = learner(job_role="sales")
    complete_track(seller, "partner-onboarding-essentials")
    complete_track(seller, "sales-foundations")  # includes passing sales-foundations-check
    [first] = certificates(seller.id, SP)
    check = "sales-foundations-check"  # also the Sales Professional renewal assessment
    assert not _standing(seller, check).can_start  # passed, and nothing reopens it yet

    clock.set_now(first.renewal_opens_at + timedelta(days=1))
    state = _standing(seller, check)
    assert state.can_start and state.passed_attempt is None

    pass_exam(seller, check)  # the pass inside the window renews at once
    old, renewal = certificates(seller.id, SP)
    assert old.superseded_at is not None and renewal.renewal_of_id == old.id
    assert lifecycle.status(renewal, clock.now()) == "active"
    assert not _standing(seller, check).can_start  # closed again until the next window


def test_after_a_lapse_the_exam_opens_with_a_fresh_attempt_limit(frozen_clock):
    engineer = learner()
    first_pass = pass_exam(engineer, EXAM)
    [first] = certificates(engineer.id, TA)
    assert first_pass.max_attempts == 3

    clock.set_now(first.grace_ends_at + timedelta(days=1))  # lapsed: renewal is over
    state = _standing(engineer, EXAM)
    assert state.can_start and state.attempts_left == 3

    again = pass_exam(engineer, EXAM)
    assert again.number == 2 and again.max_attempts == 4  # 1 before the lapse + 3 afresh
    lapsed, fresh = certificates(engineer.id, TA)
    assert fresh.cycle == 2 and fresh.renewal_of_id is None
    assert lifecycle.status(lapsed, clock.now()) == "expired"
    assert lifecycle.status(fresh, clock.now()) == "active"


def test_inside_the_window_the_initial_exam_stays_closed(frozen_clock):
    engineer = learner()
    pass_exam(engineer, EXAM)
    [first] = certificates(engineer.id, TA)
    clock.set_now(first.renewal_opens_at + timedelta(days=1))
    # Renewal has its own exam; the certification exam is not reopened by a window.
    assert not _standing(engineer, EXAM).can_start
    assert _standing(engineer, "technical-associate-renewal").can_start


def test_a_lapsed_program_without_an_exam_is_not_reissued_for_free(frozen_clock):
    """Solution Architect asks for a track and an active Technical Associate: after it
    lapses, waiting out the grace period must not be cheaper than renewing."""
    from lms.certifications import service
    from tests.certifications.test_issuing import RENEWAL, SA, insert_completion, standing

    architect = learner(job_role="presales")
    pass_exam(architect, EXAM)
    clock.advance(timedelta(days=30))
    insert_completion(architect.id, "solution-architecture")  # its prerequisites aside
    service.award_due(architect.id)
    [ta] = certificates(architect.id, TA)
    [sa] = certificates(architect.id, SA)

    clock.set_now(ta.renewal_opens_at + timedelta(days=1))  # SA's window is not open yet
    pass_exam(architect, RENEWAL)
    assert len(certificates(architect.id, TA)) == 2 and certificates(architect.id, SA) == [sa]

    clock.set_now(sa.grace_ends_at + timedelta(minutes=1))
    assert lifecycle.lapsed(sa, clock.now())
    assert service.award_due_everyone() == 0
    assert certificates(architect.id, SA) == [sa]
    state = standing(architect.id, SA)
    assert state.phase == "earn"
    assert [check.about for check in state.remaining] == [("assessment", RENEWAL)]
    assert _standing(architect, RENEWAL).can_start  # reopened by the lapse

    pass_exam(architect, RENEWAL)
    lapsed, fresh = certificates(architect.id, SA)
    assert fresh.cycle == 2 and fresh.renewal_of_id is None
    assert lifecycle.status(fresh, clock.now()) == "active"
