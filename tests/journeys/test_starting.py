"""Journeys start by themselves: a new partner gets the organisation journey that fits it, a
new person the one for their job role; vendor admins may also start one by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.accounts import service as accounts
from lms.accounts.models import Organisation, User
from lms.catalog.models import Assignment, Track
from lms.core import clock
from lms.core.errors import Conflict, Invalid, NotFound
from lms.extensions import db
from lms.journeys import service
from lms.journeys.models import Journey
from tests.factories import login, make_organisation, make_user
from tests.journeys.support import (
    add_template,
    events,
    journeys_for,
    milestone,
    org_journey,
    person_journey,
    person_template,
    template,
)


def test_a_new_partner_starts_partner_onboarding(frozen_clock):
    organisation = make_organisation("Northwind")
    journey = org_journey(organisation)
    assert journey.template_version.template.code == "partner-onboarding"
    assert (journey.scope, journey.subject_key, journey.user_id) \
        == ("organisation", f"organisation:{organisation.id}", None)
    assert journey.started_at == journey.last_progress_at == frozen_clock
    assert journey.started_by_id is None
    assert (journey.current_stage, journey.stage_count) == (0, 3)
    assert journey.stalls_at == frozen_clock + timedelta(days=21)
    assert journey.completed_at is None and journey.first_certified_at is None
    assert [(m.key, m.stage_index, m.kind, m.owner, (m.due_at - frozen_clock).days)
            for m in journey.milestones] == [
        ("agreement-signed", 0, "manual", "vendor", 7),
        ("portal-access", 0, "manual", "partner_admin", 7),
        ("joint-business-plan", 1, "manual", "partner_admin", 30),
        ("first-technical-associate", 1, "certified_staff", "partner_admin", 45),
        ("two-sales-professionals", 2, "certified_staff", "partner_admin", 90),
        ("first-deal-registered", 2, "manual", "partner_admin", 90)]
    counted = milestone(journey, "two-sales-professionals")
    assert (counted.target, counted.required_count) == ("sales-professional", 2)
    signed = milestone(journey, "agreement-signed")
    assert signed.evidence == "file" and "countersigned" in signed.instructions
    [started] = events(journey)
    assert (started.kind, started.detail, started.actor_id) \
        == ("started", "Partner onboarding (version 1)", None)


def test_creating_a_partner_in_the_admin_ui_starts_its_journey(client, frozen_clock):
    login(client, make_user(role="vendor_admin"))
    response = client.post("/admin/organisations/new", data={
        "name": "Browser Partner", "partner_type": "si", "tier": "silver", "region": "apac",
        "status": "active"})
    assert response.status_code == 302
    organisation = db.session.scalar(select(Organisation).where(
        Organisation.name == "Browser Partner"))
    assert org_journey(organisation).template_version.name == "Partner onboarding"


@pytest.mark.parametrize(("job_role", "code"), [
    ("sales", "new-sales"), ("presales", "new-presales"), ("technical", "new-technical"),
    ("support", "new-support")])
def test_a_new_person_starts_the_journey_for_their_job_role(frozen_clock, job_role, code):
    organisation = make_organisation()
    person = make_user(organisation, job_role=job_role)
    journey = person_journey(person)
    assert journey.template_version.template.code == code
    assert (journey.scope, journey.subject_key, journey.organisation_id) \
        == ("person", f"person:{person.id}", organisation.id)
    assert journey.started_at == frozen_clock and journey.stage_count == 3


def test_partner_admins_get_a_journey_and_vendor_staff_none(frozen_clock):
    organisation = make_organisation()
    admin = make_user(organisation, role="partner_admin", job_role="presales")
    assert person_journey(admin).template_version.template.code == "new-presales"
    for role in ("vendor_admin", "channel_manager", "author"):
        assert journeys_for(user_id=make_user(role=role).id) == []


def test_inviting_a_person_starts_their_journey(frozen_clock):
    organisation = make_organisation()
    admin = make_user(organisation, role="partner_admin")
    person, _secret = accounts.invite_user(
        organisation_id=organisation.id, email="newbie@example.com", full_name="New Bie",
        job_role="technical", invited_by=admin)
    assert person_journey(person).template_version.template.code == "new-technical"


def test_inviting_through_the_staff_page_starts_their_journey(client, frozen_clock):
    organisation = make_organisation()
    login(client, make_user(organisation, role="partner_admin"))
    response = client.post(f"/organisations/{organisation.id}/staff/invite", data={
        "full_name": "Invited Person", "email": "invited@example.com", "job_role": "support",
        "role": "learner"})
    assert response.status_code == 302
    person = accounts.get_user_by_email("invited@example.com")
    journey = person_journey(person)
    assert journey.template_version.template.code == "new-support"
    # Its track milestones have the tracks to work on.
    assigned = set(db.session.scalars(select(Track.slug).join(
        Assignment, Assignment.track_id == Track.id).where(Assignment.user_id == person.id)))
    assert {"partner-onboarding-essentials", "support-essentials"} <= assigned


def test_the_most_specific_organisation_audience_wins(frozen_clock):
    add_template({
        "code": "aa-platinum-onboarding", "name": "Platinum onboarding",
        "scope": "organisation", "audience": {"tiers": ["platinum"]},
        "stages": [{"name": "Kick-off", "milestones": [
            {"key": "kick-off", "title": "Kick-off call", "due_days": 3, "owner": "vendor",
             "manual": {}}]}]})
    add_template({
        "code": "ab-platinum-emea", "name": "Platinum EMEA onboarding",
        "scope": "organisation", "audience": {"tiers": ["platinum"], "regions": ["emea"]},
        "stages": [{"name": "Kick-off", "milestones": [
            {"key": "kick-off", "title": "Kick-off call", "due_days": 3, "owner": "vendor",
             "manual": {}}]}]})
    gold = make_organisation(tier="gold", region="emea")
    platinum_apac = make_organisation(tier="platinum", region="apac")
    platinum_emea = make_organisation(tier="platinum", region="emea")
    assert org_journey(gold).template_version.name == "Partner onboarding"
    assert org_journey(platinum_apac).template_version.name == "Platinum onboarding"
    assert org_journey(platinum_emea).template_version.name == "Platinum EMEA onboarding"
    # One journey each: only the best fit starts.
    assert [len(journeys_for(organisation_id=o.id))
            for o in (gold, platinum_apac, platinum_emea)] == [1, 1, 1]


def test_an_audience_for_everyone_loses_to_one_for_the_job_role(frozen_clock):
    welcome = [{"key": "welcome", "title": "Say hello", "due_days": 1, "owner": "person",
                "manual": {}}]
    # Sorted first by code, but it fits everyone: the job role's own journey is more specific.
    person_template("aa-everyone", job_roles=[], milestones=welcome)
    organisation = make_organisation()
    assert person_journey(make_user(organisation, job_role="sales")) \
        .template_version.template.code == "new-sales"
    # Equally specific: the first by code wins.
    person_template("aa-sales-too", job_roles=["sales"], milestones=welcome)
    assert person_journey(make_user(organisation, job_role="sales")) \
        .template_version.template.code == "aa-sales-too"


def test_an_archived_template_starts_nothing(frozen_clock):
    onboarding = template("partner-onboarding")
    onboarding.archived_at = clock.now()
    db.session.flush()
    organisation = make_organisation()
    assert journeys_for(organisation_id=organisation.id) == []
    with pytest.raises(NotFound):
        service.start(onboarding.id, organisation_id=organisation.id)


def test_starting_twice_is_refused_and_leaves_one_journey(frozen_clock):
    organisation = make_organisation()
    onboarding = template("partner-onboarding")
    with pytest.raises(Conflict) as refused:
        service.start(onboarding.id, organisation_id=organisation.id,
                      actor=make_user(role="vendor_admin"))
    assert refused.value.field == "template_id"
    assert "already been started" in refused.value.message
    # The automatic paths are idempotent too.
    assert service.start_for_organisation(organisation.id) is None
    person = make_user(organisation)
    assert service.start_for_person(person.id) is None
    assert db.session.scalar(select(func.count()).select_from(Journey).where(
        Journey.organisation_id == organisation.id, Journey.scope == "organisation")) == 1
    assert len(journeys_for(user_id=person.id)) == 1
    assert len(person_journey(person).milestones) == 5  # none doubled either


def test_a_vendor_admin_starts_a_journey_by_hand(frozen_clock):
    organisation = make_organisation()
    person = make_user(organisation, job_role="sales")
    vendor_admin = make_user(role="vendor_admin", full_name="Val Vendor")
    clock.advance(timedelta(days=3))
    journey = service.start(template("new-technical").id, user_id=person.id,
                            actor=vendor_admin)
    assert journey.started_by_id == vendor_admin.id
    assert journey.started_at == clock.now()
    assert {j.template_version.template.code for j in journeys_for(user_id=person.id)} \
        == {"new-sales", "new-technical"}
    [started] = events(journey)
    assert started.actor_id == vendor_admin.id
    assert started.detail == "New engineer onboarding (version 1) started by hand"


@pytest.mark.parametrize("case", ["org-with-person", "person-without-person",
                                  "person-elsewhere", "vendor-person", "no-organisation"])
def test_starting_by_hand_for_the_wrong_subject_is_refused_with_a_field(frozen_clock, case):
    organisation, elsewhere = make_organisation(), make_organisation()
    person = make_user(organisation)
    stranger = make_user(elsewhere)
    org_template, person_tpl = template("partner-onboarding"), template("new-technical")
    calls = {
        "org-with-person": (org_template, {"organisation_id": organisation.id,
                                           "user_id": person.id}, "user_id"),
        "person-without-person": (person_tpl, {"organisation_id": organisation.id},
                                  "user_id"),
        "person-elsewhere": (person_tpl, {"organisation_id": organisation.id,
                                          "user_id": stranger.id}, "user_id"),
        "vendor-person": (person_tpl, {"user_id": make_user(role="channel_manager").id},
                          "user_id"),
        "no-organisation": (org_template, {"organisation_id": None}, "organisation_id"),
    }
    chosen, subject, field = calls[case]
    before = db.session.scalar(select(func.count()).select_from(Journey))
    with pytest.raises(Invalid) as refused:
        service.start(chosen.id, actor=make_user(role="vendor_admin"), **subject)
    assert refused.value.field == field
    assert db.session.scalar(select(func.count()).select_from(Journey)) == before


def test_the_start_page_starts_a_journey_and_explains_a_refusal(client, frozen_clock):
    organisation = make_organisation()
    person = make_user(organisation, job_role="sales", full_name="Sam Seller")
    login(client, make_user(role="vendor_admin"))
    url = f"/organisations/{organisation.id}/onboarding/start"
    refused = client.post(url, data={"template_id": template("partner-onboarding").id,
                                     "user_id": person.id})
    assert refused.status_code == 422
    assert "is for a whole organisation, not one person" in refused.get_data(as_text=True)
    assert len(journeys_for(organisation_id=organisation.id)) == 1

    twice = client.post(url, data={"template_id": template("partner-onboarding").id,
                                   "user_id": 0})
    assert twice.status_code == 422
    assert "already been started" in twice.get_data(as_text=True)

    response = client.post(url, data={"template_id": template("new-support").id,
                                      "user_id": person.id})
    assert response.status_code == 303
    started = journeys_for(user_id=person.id, code="new-support")[0]
    assert response.headers["Location"].endswith(f"/journeys/{started.id}")
    assert started.started_by_id is not None


@pytest.mark.parametrize("role", ["channel_manager", "partner_admin", "learner"])
def test_only_vendor_admins_start_by_hand(client, frozen_clock, role):
    organisation = make_organisation()
    person = make_user(organisation, job_role="sales")
    viewer = make_user(organisation if role in ("partner_admin", "learner") else None,
                       role=role)
    login(client, viewer)
    response = client.post(f"/organisations/{organisation.id}/onboarding/start",
                           data={"template_id": template("new-support").id,
                                 "user_id": person.id})
    assert response.status_code == 404
    assert journeys_for(user_id=person.id, code="new-support") == []


def test_a_person_without_a_fitting_template_gets_none(frozen_clock):
    organisation = make_organisation()
    template("new-sales").archived_at = clock.now()
    db.session.flush()
    seller = make_user(organisation, job_role="sales")  # created all the same
    assert db.session.get(User, seller.id).job_role == "sales"
    assert journeys_for(user_id=seller.id) == []
    assert service.start_for_person(seller.id) is None
