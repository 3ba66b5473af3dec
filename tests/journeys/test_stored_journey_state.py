"""What the writers keep on the journey for the onboarding lists: overdue_since (the earliest
due date among its open milestones), kept by starting, completing, signing off and moving
due dates, also when two milestones of one journey complete at once; and a sign-off's
evidence_left_behind, kept by a person moving to another partner."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.accounts import service as accounts
from lms.accounts.models import User
from lms.core import clock
from lms.core.jobs import commit
from lms.extensions import db
from lms.journeys import overview, service
from lms.journeys.models import Journey, JourneyMilestone
from tests.certifications.test_issuing import learner, pass_exam
from tests.factories import make_organisation, make_user
from tests.journeys.support import milestone, org_journey, person_journey, person_template
from tests.threads import at_once

DAY = timedelta(days=1)


def recounted(journey_id: int):
    """overdue_since as the milestones themselves say it."""
    return db.session.scalar(select(func.min(JourneyMilestone.due_at)).where(
        JourneyMilestone.journey_id == journey_id, JourneyMilestone.done_at.is_(None)))


def stored(journey_id: int):
    db.session.expire_all()
    return db.session.get(Journey, journey_id).overdue_since


def assert_kept(journey_id: int) -> None:
    assert stored(journey_id) == recounted(journey_id)


def test_starting_stores_the_first_due_date(frozen_clock):
    journey = org_journey(make_organisation("Starter"))
    assert journey.overdue_since == min(m.due_at for m in journey.milestones)
    assert_kept(journey.id)


def test_sign_offs_and_evidence_move_it_on_and_completion_clears_it(frozen_clock):
    vendor_admin = make_user(role="vendor_admin")
    partner = make_organisation("Progressing")
    journey = org_journey(partner)
    for key in ("agreement-signed", "portal-access", "joint-business-plan",
                "first-deal-registered"):
        service.sign_off(milestone(journey, key).id, actor=vendor_admin, note="Done",
                         upload=service.Upload("a.pdf", "application/pdf", b"%PDF"))
        assert_kept(journey.id)
    pass_exam(learner(partner, job_role="technical"))  # evidence: completed by refresh()
    assert_kept(journey.id)
    person = learner(partner, job_role="sales")
    assert_kept(person_journey(person).id)
    assert stored(journey.id) is not None
    # Finish every milestone left: nothing is open, nothing can be overdue.
    for open_one in db.session.scalars(select(JourneyMilestone).where(
            JourneyMilestone.journey_id == journey.id, JourneyMilestone.done_at.is_(None))):
        service.complete(open_one, at=clock.now())
    assert stored(journey.id) is None and db.session.get(Journey, journey.id).completed_at


def test_a_new_due_date_moves_it(frozen_clock):
    vendor_admin = make_user(role="vendor_admin")
    journey = org_journey(make_organisation("Rescheduled"))
    first = min(journey.milestones, key=lambda m: m.due_at)
    service.change_due_date(first.id, due_on=(clock.now() + 200 * DAY).date(),
                            reason="Holidays", actor=vendor_admin)
    assert_kept(journey.id)
    assert stored(journey.id) > first.journey.started_at + DAY
    service.change_due_date(first.id, due_on=clock.now().date(), reason="Back",
                            actor=vendor_admin)
    assert_kept(journey.id)


def test_the_lists_flag_overdue_from_the_stored_date(frozen_clock):
    partner = make_organisation("Late Partner")
    journey = org_journey(partner)
    due = stored(journey.id)
    lists = {"template_id": None, "stage": None, "stalled": False, "page": 1,
             "per_page": 50}
    before = overview.vendor_overview(overdue=True, now=due - DAY, **lists)
    after = overview.vendor_overview(overdue=True, now=due + DAY, **lists)
    assert (before.total, after.total) == (0, 1)
    assert after.rows[0].journey.id == journey.id and after.overdue_journeys == 1


def test_moving_partner_leaves_the_sign_offs_behind_and_coming_back_takes_them(
        frozen_clock):
    person_template("aa-shadowing", job_roles=["support"], milestones=[
        {"key": "shadow", "title": "Shadow a call", "due_days": 10, "owner": "partner_admin",
         "manual": {"evidence": "note"}}])
    old, new = make_organisation("Old Partner"), make_organisation("New Partner")
    admin = make_user(old, role="partner_admin", job_role="sales")
    person = learner(old, job_role="support")
    signable = person_journey(person).milestones
    service.sign_off(signable[0].id, actor=admin, note="Shadowed a call")
    assert service.evidence_left_behind(old.id) == []
    accounts.update_user(person.id, organisation_id=new.id, actor=make_user(role="vendor_admin"))
    assert [m.id for m in service.evidence_left_behind(old.id)] == [signable[0].id]
    assert service.evidence_left_behind(new.id) == []
    accounts.update_user(person.id, organisation_id=old.id, actor=make_user(role="vendor_admin"))
    assert service.evidence_left_behind(old.id) == []


THREADS = 2


@pytest.mark.committed
def test_two_milestones_of_one_journey_completed_at_once(app):
    """Each completion locks the journey and reads its milestones afresh: the second sees
    the first done, so the stage and overdue_since stored count both."""
    if db.engine.dialect.name == "sqlite":
        # SQLite runs one writer at a time: a reader that then writes is refused
        # ("database is locked") instead of racing, so there is no race to lose.
        pytest.skip("a race between writers needs PostgreSQL")
    organisation = make_organisation("Racing Milestones")
    vendor = make_user(role="vendor_admin")
    journey = org_journey(organisation)
    ids = [milestone(journey, key).id for key in ("agreement-signed", "portal-access")]
    journey_id, vendor_id = journey.id, vendor.id
    commit()
    db.session.rollback()

    both_read = threading.Barrier(THREADS, timeout=30)

    def work(index: int) -> bool:
        with app.app_context():
            # Both have read the journey's milestones (as refresh() has, for many journeys)
            # before either completes one: only the lock makes the second read them again.
            assert len(db.session.get(Journey, journey_id).milestones) > 2
            both_read.wait()
            signed = service.sign_off(ids[index], actor=db.session.get(User, vendor_id),
                                      note=f"Request {index}",
                                      upload=service.Upload("a.pdf", "application/pdf",
                                                            b"%PDF"))
            commit()
            return signed is not None

    assert at_once(THREADS, work, what="a sign-off") == [True] * THREADS
    db.session.rollback()
    db.session.expire_all()
    journey = db.session.get(Journey, journey_id)
    assert journey.current_stage == 1  # both of stage 0 done, whoever came second
    assert journey.overdue_since == recounted(journey_id)
