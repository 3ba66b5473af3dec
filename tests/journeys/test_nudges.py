"""The clock moved: overdue milestones and stalled journeys are detected, and each nudge goes
out by mail (through the outbox) exactly once, to whoever owns the next step."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.core import clock
from lms.core.jobs import commit
from lms.extensions import db
from lms.journeys import nudges, overview, service, timeline
from lms.journeys.models import JourneyNudge
from tests.certifications.test_issuing import insert_completion
from tests.factories import make_organisation, make_user
from tests.journeys.support import events, milestone, org_journey, outbox, person_journey
from tests.threads import at_once

DAY = timedelta(days=1)


@pytest.fixture
def partner(frozen_clock):
    """A partner with two admins and a seller, and the vendor's team (one of them gone)."""
    organisation = make_organisation("Northwind")
    world = {
        "organisation": organisation,
        # Support engineers' first step is due on day 14: their own journeys stay quiet here.
        "admins": [make_user(organisation, role="partner_admin", job_role="support",
                             email=f"admin{i}@northwind.example") for i in (1, 2)],
        "seller": make_user(organisation, job_role="sales", email="seller@northwind.example"),
        "vendor": [make_user(role="vendor_admin", email="va@vendor.example"),
                   make_user(role="channel_manager", email="cm@vendor.example")],
    }
    gone = make_user(role="vendor_admin", email="gone@vendor.example")
    gone.active = False
    make_user(role="author", email="author@vendor.example")  # authors are not the team
    db.session.flush()
    return world


def mails(template_name: str, about: str = "") -> list[tuple[str, str]]:
    """(to, subject) of the mails sent with this template, whose subject starts with `about`."""
    return sorted((m.to_address, m.subject) for m in outbox(template_name)
                  if m.subject.startswith(about))


def test_an_overdue_milestone_is_nudged_once_to_its_owner(partner):
    seller = partner["seller"]
    journey = person_journey(seller)
    clock.advance(4 * DAY)
    assert nudges.sweep() == 0  # nothing is due yet
    clock.advance(2 * DAY)  # day 6: "meet your admin" was due on day 5

    assert nudges.sweep() == 1
    [message] = outbox("journey_overdue")
    assert message.to_address == "seller@northwind.example"
    assert message.subject == "Overdue: Meet your partner admin and agree your first deals " \
                              "to shadow"
    assert f"Hello {seller.full_name}," in message.body_text
    assert f"http://lms.test/journeys/{journey.id}" in message.body_text
    assert "sign it off on the journey page" in message.body_text
    [nudge] = db.session.scalars(select(JourneyNudge)).all()
    assert (nudge.milestone_id, nudge.condition, nudge.recipients, nudge.at) == (
        milestone(journey, "meet-your-admin").id, "overdue", ["seller@northwind.example"],
        clock.now())
    [logged] = events(journey, "nudged_overdue")
    assert logged.detail.endswith("told seller@northwind.example")

    for _ in range(3):  # again, and hours later: nothing more
        clock.advance(timedelta(hours=6))
        nudges.sweep()
    assert len(outbox("journey_overdue")) == 1


def test_overdue_steps_go_to_partner_admins_and_to_the_vendors_team(partner):
    clock.advance(8 * DAY)  # the organisation's week-1 steps were due on day 7
    nudges.sweep()
    by_step = {}
    for to, subject in mails("journey_overdue"):
        by_step.setdefault(subject, []).append(to)
    assert by_step == {
        # owner: vendor -> vendor admins and channel managers who are active
        "Overdue: Partner agreement signed": ["cm@vendor.example", "va@vendor.example"],
        # owner: partner_admin -> that partner's admins
        "Overdue: Partner admin named and portal access set up":
            ["admin1@northwind.example", "admin2@northwind.example"],
        # the seller's own step, from day 5
        "Overdue: Meet your partner admin and agree your first deals to shadow":
            ["seller@northwind.example"]}
    assert db.session.scalar(select(func.count()).select_from(JourneyNudge)) == 3
    assert nudges.sweep() == 0
    assert len(outbox("journey_overdue")) == 5


def test_without_a_partner_admin_the_vendors_team_hears(frozen_clock):
    organisation = make_organisation("Adminless")
    make_user(role="vendor_admin", email="va@vendor.example")
    leaver = make_user(organisation, job_role="sales", email="leaver@adminless.example")
    leaver.active = False
    db.session.flush()
    clock.advance(8 * DAY)
    nudges.sweep()
    sent = mails("journey_overdue")
    assert ("va@vendor.example", "Overdue: Partner admin named and portal access set up") \
        in sent
    # A person who has left: the vendor's team hears about their step instead.
    assert ("va@vendor.example", "Overdue: Meet your partner admin and agree your first "
                                 "deals to shadow") in sent
    assert not [to for to, _ in sent if to.endswith("adminless.example")]


def test_done_milestones_and_completed_journeys_are_not_nudged(partner):
    seller = partner["seller"]
    service.sign_off(milestone(person_journey(seller), "meet-your-admin").id, actor=seller)
    clock.advance(6 * DAY)
    assert nudges.sweep() == 0
    assert outbox("journey_overdue") == []


def test_a_stalled_journey_nudges_the_owner_of_its_next_step_once(partner):
    organisation = partner["organisation"]
    journey = org_journey(organisation)
    clock.advance(8 * DAY)
    nudges.sweep()  # the overdue ones, out of the way
    overdue_count = len(outbox("journey_overdue"))
    clock.advance(12 * DAY)  # day 20: 21 days without progress makes it stalled
    assert not timeline.stalled(completed_at=journey.completed_at, stalls_at=journey.stalls_at,
                                now=clock.now())
    nudges.sweep()
    assert mails("journey_stalled", "Partner onboarding") == []
    # (The people's own journeys stall after 14 days: they have their own nudges.)
    assert len(mails("journey_stalled", "New")) == 3

    clock.advance(DAY)  # day 21
    assert timeline.stalled(completed_at=journey.completed_at, stalls_at=journey.stalls_at,
                            now=clock.now())
    nudges.sweep()
    # The next step is the first stage's step due first (the vendor's, by position).
    assert mails("journey_stalled", "Partner onboarding") == [
        ("cm@vendor.example", "Partner onboarding has stalled: next, Partner agreement signed"),
        ("va@vendor.example", "Partner onboarding has stalled: next, Partner agreement signed")]
    [body] = [m.body_text for m in outbox("journey_stalled", to="va@vendor.example")
              if m.subject.startswith("Partner onboarding")]
    assert "Northwind's Partner onboarding has not moved for 21 days." in body
    assert "Partner agreement signed" in body
    nudges.sweep()
    clock.advance(5 * DAY)
    nudges.sweep()
    assert len(mails("journey_stalled", "Partner onboarding")) == 2
    assert len(outbox("journey_overdue")) > overdue_count  # later steps, once each

    # Progress, then a new stall: the new next step's owners are nudged, once.
    service.sign_off(milestone(journey, "agreement-signed").id, actor=partner["vendor"][0],
                     upload=service.Upload("agreement.pdf", "application/pdf", b"%PDF-1.4"))
    progress_day = clock.now()
    assert journey.stalls_at == progress_day + 21 * DAY
    clock.advance(20 * DAY)
    nudges.sweep()
    assert len(mails("journey_stalled", "Partner onboarding")) == 2
    clock.advance(DAY)
    nudges.sweep()
    new = [m for m in outbox("journey_stalled") if "portal access" in m.subject]
    assert sorted(m.to_address for m in new) == ["admin1@northwind.example",
                                                 "admin2@northwind.example"]
    assert new[0].subject == "Partner onboarding has stalled: next, Partner admin named " \
                             "and portal access set up"
    nudges.sweep()
    assert len(mails("journey_stalled", "Partner onboarding")) == 4
    assert [e.kind for e in events(journey, "nudged_stalled")] == ["nudged_stalled"] * 2


def test_progress_keeps_a_journey_from_stalling(partner):
    seller = partner["seller"]
    journey = person_journey(seller)
    clock.advance(10 * DAY)
    insert_completion(seller.id, "partner-onboarding-essentials")
    service.refresh(user_ids=[seller.id])
    clock.advance(13 * DAY)  # 23 days in, 13 since progress; new-sales stalls after 14
    db.session.refresh(journey)
    assert not timeline.stalled(completed_at=None, stalls_at=journey.stalls_at,
                                now=clock.now())
    nudges.sweep()
    assert [m.subject for m in outbox("journey_stalled")
            if m.to_address == "seller@northwind.example"] == []
    clock.advance(DAY)
    nudges.sweep()
    [stalled] = [m for m in outbox("journey_stalled")
                 if m.to_address == "seller@northwind.example"]
    # Its next step: the first stage's open step, not a later one due sooner.
    assert stalled.subject == "New seller onboarding has stalled: next, Meet your partner " \
                              "admin and agree your first deals to shadow"


def test_the_onboarding_table_shows_overdue_and_stalled(partner):
    clock.advance(22 * DAY)
    data = overview.vendor_overview(template_id=None, stage=None, overdue=False,
                                    stalled=False, page=1, per_page=50, now=clock.now())
    [row] = data.rows
    assert (row.subject_name, row.overdue, row.stalled) == ("Northwind", 2, True)
    assert (data.overdue_journeys, data.stalled_journeys) == (1, 1)
    [staff_row] = [r for r in overview.staff_journeys(partner["organisation"].id,
                                                      clock.now()).rows
                   if r.subject_name == partner["seller"].full_name]
    assert staff_row.stalled and staff_row.overdue == 2


@pytest.mark.committed
def test_sweeps_running_at_once_send_each_nudge_once(app, frozen_clock):
    organisation = make_organisation("Racing Partner")
    make_user(organisation, role="partner_admin", job_role="support",
              email="admin@racing.example")
    make_user(role="vendor_admin", email="va@racing-vendor.example")
    commit()
    clock.advance(8 * DAY)
    db.session.rollback()

    def work(_index: int) -> int:
        with app.app_context():
            sent = nudges.send_due_nudges()
            commit()
            return sent

    results = at_once(6, work, what="a sweep")
    db.session.rollback()
    assert sorted(results)[-1] >= 1 and sum(results) == 2  # two overdue steps, once each
    sent = [m for m in outbox("journey_overdue") if "racing" in m.to_address]
    assert sorted((m.to_address, m.subject) for m in sent) == [
        ("admin@racing.example", "Overdue: Partner admin named and portal access set up"),
        ("va@racing-vendor.example", "Overdue: Partner agreement signed")]


def test_the_sweep_is_a_periodic_job(partner):
    from lms.schedule import PERIODIC_JOBS

    [job] = [job for _name, job in PERIODIC_JOBS if job is nudges.sweep]
    clock.advance(6 * DAY)
    assert job() == 1  # the seller's first step is overdue
    assert job() == 0
    assert [m.to_address for m in outbox("journey_overdue")] == ["seller@northwind.example"]
