"""Rule-based assignment from audiences, re-evaluated on change, beside manual assignment."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from lms.accounts import service as accounts
from lms.catalog import assignments
from lms.catalog.audience import Person, matches
from lms.catalog.models import Assignment, Track
from lms.catalog.service import complete_lesson
from lms.core import clock
from lms.core.errors import Invalid
from lms.extensions import db
from tests.factories import login, make_organisation, make_user


def _assigned(user) -> set[str]:
    return set(db.session.scalars(
        select(Track.slug).join(Assignment, Assignment.track_id == Track.id)
        .where(Assignment.user_id == user.id)))


@pytest.mark.parametrize(("audience", "expected"), [
    ({}, True),
    ({"job_roles": []}, True),
    ({"job_roles": ["sales"]}, True),
    ({"job_roles": ["technical"]}, False),
    ({"tiers": ["gold", "platinum"], "job_roles": ["sales"]}, True),
    ({"tiers": ["platinum"], "job_roles": ["sales"]}, False),
    ({"partner_types": ["msp"]}, False),
    ({"regions": ["emea"], "partner_types": ["reseller"]}, True),
])
def test_audience_matching(audience, expected):
    person = Person(partner_type="reseller", tier="gold", region="emea", job_role="sales")
    assert matches(audience, person) is expected


def test_new_person_gets_tracks_for_their_role_and_tier():
    gold = make_organisation(tier="gold")
    presales = make_user(gold, job_role="presales")
    assert _assigned(presales) == {"partner-onboarding-essentials", "sales-foundations",
                                   "technical-associate", "solution-architecture"}
    silver_support = make_user(make_organisation(tier="silver"), job_role="support")
    assert _assigned(silver_support) == {"partner-onboarding-essentials",
                                         "technical-associate", "support-essentials"}


def test_rule_assignment_is_due_after_the_tracks_window(frozen_clock):
    learner = make_user(make_organisation())
    due = db.session.scalar(select(Assignment.due_at).join(Track)
                            .where(Assignment.user_id == learner.id,
                                   Track.slug == "partner-onboarding-essentials"))
    assert due == frozen_clock + timedelta(days=14)


def test_role_change_reassigns_tracks_not_started():
    learner = make_user(make_organisation(), job_role="sales")
    assert "sales-foundations" in _assigned(learner)
    accounts.change_job_role(learner.id, "technical")
    assert "sales-foundations" not in _assigned(learner)  # never started: unassigned
    assert "technical-associate" in _assigned(learner)


def test_started_track_is_kept_when_the_rule_stops_applying():
    learner = make_user(make_organisation(tier="gold"), job_role="presales")
    for lesson in ("partner-program-overview", "tiers-and-benefits"):
        complete_lesson(user=learner, track_slug="partner-onboarding-essentials",
                        lesson_slug=lesson)
    track = db.session.scalar(select(Track).where(Track.slug == "partner-onboarding-essentials"))
    track.audience = {"tiers": ["platinum"]}
    solution = db.session.scalar(select(Track).where(Track.slug == "solution-architecture"))
    solution.audience = {"tiers": ["platinum"]}
    changes = assignments.reevaluate(user_ids=[learner.id])
    assert "partner-onboarding-essentials" in _assigned(learner)  # started: kept
    assert "solution-architecture" not in _assigned(learner)  # never started: removed
    assert changes.kept_started == 1 and changes.removed == 1


def test_tier_change_assigns_and_unassigns():
    organisation = make_organisation(tier="silver")
    learner = make_user(organisation, job_role="technical")
    assert "solution-architecture" not in _assigned(learner)
    accounts.update_organisation(organisation.id, name=organisation.name,
                                 partner_type=organisation.partner_type, tier="platinum",
                                 region=organisation.region, status="active")
    assert "solution-architecture" in _assigned(learner)
    accounts.update_organisation(organisation.id, name=organisation.name,
                                 partner_type=organisation.partner_type, tier="silver",
                                 region=organisation.region, status="active")
    assert "solution-architecture" not in _assigned(learner)


def test_manual_assignment_survives_rules_and_keeps_its_due_date(frozen_clock):
    organisation = make_organisation(tier="silver")
    admin = make_user(organisation, role="partner_admin")
    learner = make_user(organisation, job_role="sales")
    track = db.session.scalar(select(Track).where(Track.slug == "solution-architecture"))
    due = frozen_clock + timedelta(days=30)
    assignments.assign_manually(user_id=learner.id, track_id=track.id, due_at=due,
                                assigned_by=admin)
    assignments.reevaluate(user_ids=[learner.id])
    assignment = db.session.scalar(select(Assignment).where(
        Assignment.user_id == learner.id, Assignment.track_id == track.id))
    assert assignment.manual and not assignment.by_rule and assignment.due_at == due
    with pytest.raises(Invalid):
        assignments.assign_manually(user_id=learner.id, track_id=track.id,
                                    due_at=clock.now() - timedelta(days=1), assigned_by=admin)


def test_partner_admin_assigns_a_track_in_the_browser(client):
    organisation = make_organisation(tier="silver")
    admin = make_user(organisation, role="partner_admin")
    learner = make_user(organisation, job_role="sales", full_name="Sam Sales")
    track = db.session.scalar(select(Track).where(Track.slug == "technical-associate"))
    login(client, admin)
    response = client.post(f"/people/{learner.id}", data={
        "action": "assign", "assign-track_id": str(track.id), "assign-due_date": "2099-01-31"})
    assert response.status_code == 303
    assignment = db.session.scalar(select(Assignment).where(
        Assignment.user_id == learner.id, Assignment.track_id == track.id))
    assert assignment.manual
    assert assignment.due_at == datetime(2099, 1, 31, 23, 59, tzinfo=UTC)
    page = client.get(f"/people/{learner.id}").get_data(as_text=True)
    assert "Technical Associate" in page and "assigned by hand" in page


def test_past_due_date_rerenders_with_the_message(client):
    organisation = make_organisation()
    admin = make_user(organisation, role="partner_admin")
    learner = make_user(organisation)
    login(client, admin)
    track = db.session.scalar(select(Track).where(Track.slug == "technical-associate"))
    response = client.post(f"/people/{learner.id}", data={
        "action": "assign", "assign-track_id": str(track.id), "assign-due_date": "2001-01-01"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The due date must be in the future." in page
    assert 'value="2001-01-01"' in page
    assert "technical-associate" not in _assigned(learner)
