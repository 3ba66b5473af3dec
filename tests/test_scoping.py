"""Strict scoping: a partner's people and progress are visible only to that partner and
the vendor. Every route that takes an identifier is listed here; a new one must be added."""

import pytest

from lms.accounts import service as accounts
from lms.catalog.service import complete_lesson
from tests.factories import login, make_organisation, make_user

# Every URL rule with a parameter, with what the parameter identifies. The first test fails
# when a route is added without a line here, so nobody forgets to prove its scoping.
ROUTES_WITH_IDS = {
    "/organisations/<int:organisation_id>/staff": "organisation",
    "/organisations/<int:organisation_id>/staff/invite": "organisation",
    "/people/<int:user_id>": "user",
    "/admin/organisations/<int:organisation_id>/edit": "organisation",
    "/admin/users/<int:user_id>/edit": "user",
    # Not partner data: content shared by every partner, or a token from an email.
    "/tracks/<slug>": "content",
    "/tracks/<slug>/lessons/<lesson_slug>": "content",
    "/tracks/<slug>/lessons/<lesson_slug>/complete": "content",
    "/assets/<sha256>/<path:filename>": "content",
    "/assessments/<slug>": "content",
    "/assessments/<slug>/start": "content",
    "/assessments/<slug>/statistics": "content",
    "/assessments/<slug>/statistics.csv": "content",
    # Attempts are looked up by an unguessable id and served to their owner only
    # (tests/assessments prove a stranger gets 404).
    "/attempts/<public_id>": "own attempt",
    "/attempts/<public_id>/questions/<int:position>": "own attempt",
    "/attempts/<public_id>/review": "own attempt",
    "/attempts/<public_id>/submit": "own attempt",
    "/attempts/<public_id>/result": "own attempt",
    "/invitations/<token>": "token",
    "/password/reset/<token>": "token",
    "/static/<path:filename>": "static",
    # Public verification: anyone may check a certificate by its unguessable public ID; the
    # answer is the public statement only (tests/certifications/test_verification.py proves
    # no email, reason or evidence is ever shown, and unknown = malformed 404).
    "/verify/<public_id>": "public certificate",
    "/api/v1/certificates/<public_id>": "public certificate",
    # Certifications pages (tests/certifications/test_views*.py prove the cross-partner 404s)
    "/certifications/<public_id>/certificate.pdf": "user",
    "/organisations/<int:organisation_id>/certifications": "organisation",
    "/admin/certificates/<int:certificate_id>": "vendor only",
    "/admin/certificates/<int:certificate_id>/revoke": "vendor only",
    # Onboarding journeys (tests/journeys/test_views.py proves the cross-partner 404s)
    "/journeys/<int:journey_id>": "journey",
    "/journeys/milestones/<int:milestone_id>/sign-off": "journey",
    "/journeys/milestones/<int:milestone_id>/evidence": "journey",
    "/journeys/milestones/<int:milestone_id>/due": "vendor only",
    "/organisations/<int:organisation_id>/onboarding": "organisation",
    "/organisations/<int:organisation_id>/onboarding/start": "vendor only",
}


@pytest.fixture
def two_partners():
    northwind = make_organisation("Northwind Test", tier="gold")
    rival = make_organisation("Rival Reseller", tier="silver")
    world = {
        "northwind": northwind,
        "rival": rival,
        "nw_admin": make_user(northwind, role="partner_admin", full_name="Nora Admin"),
        "nw_learner": make_user(northwind, full_name="Nils Learner"),
        "rival_admin": make_user(rival, role="partner_admin", full_name="Rita Rivaladmin"),
        "rival_learner": make_user(rival, full_name="Rufus Rivallearner",
                                   email="rufus@rival.example"),
    }
    # The rival learner has progress, so there is something to leak.
    complete_lesson(user=world["rival_learner"], track_slug="partner-onboarding-essentials",
                    lesson_slug="partner-program-overview")
    return world


def test_every_route_with_an_identifier_is_covered(app):
    rules = {rule.rule for rule in app.url_map.iter_rules() if rule.arguments}
    assert rules == set(ROUTES_WITH_IDS), (
        "routes changed: add them to ROUTES_WITH_IDS and prove their scoping")


@pytest.mark.parametrize("viewer", ["nw_admin", "nw_learner"])
def test_other_partners_records_are_not_found(client, two_partners, viewer):
    w = two_partners
    login(client, w[viewer])
    urls = [
        f"/organisations/{w['rival'].id}/staff",
        f"/organisations/{w['rival'].id}/staff/invite",
        f"/people/{w['rival_learner'].id}",
        f"/people/{w['rival_admin'].id}",
    ]
    for url in urls:
        response = client.get(url)
        # Another partner's identifiers do not exist for them (learners do not see
        # partner-admin pages at all, and are told the same).
        assert response.status_code == 404, url
        assert b"Rival" not in response.data and b"Rufus" not in response.data, url


def test_partner_admin_cannot_change_another_partners_people(client, two_partners):
    w = two_partners
    login(client, w["nw_admin"])
    target = w["rival_learner"]
    for data in ({"action": "deactivate"}, {"action": "job_role", "role-job_role": "support"},
                 {"action": "assign", "assign-track_id": "1"}, {"action": "resend"}):
        assert client.post(f"/people/{target.id}", data=data).status_code == 404
    assert client.post(f"/organisations/{w['rival'].id}/staff/invite", data={
        "full_name": "Sneaky", "email": "sneaky@example.com", "job_role": "sales",
        "role": "learner"}).status_code == 404
    assert accounts.get_user_by_email("sneaky@example.com") is None
    refreshed = accounts.get_user_by_email("rufus@rival.example")
    assert refreshed.active and refreshed.job_role == "sales"


def test_learner_sees_only_themself(client, two_partners):
    w = two_partners
    login(client, w["nw_learner"])
    assert client.get(f"/people/{w['nw_learner'].id}").status_code == 404  # admin pages
    assert client.get(f"/people/{w['nw_admin'].id}").status_code == 404


def test_vendor_only_pages_refuse_partner_roles(client, two_partners):
    w = two_partners
    for viewer in ("nw_admin", "nw_learner"):
        login(client, w[viewer])
        for url in (f"/admin/organisations/{w['rival'].id}/edit",
                    f"/admin/users/{w['rival_learner'].id}/edit", "/admin/organisations",
                    "/admin/users", "/admin/outbox", "/catalogue"):
            response = client.get(url)
            assert response.status_code == 403, url
            assert b"Rival" not in response.data


def test_pages_a_partner_admin_can_open_show_nothing_of_another_partner(client, two_partners):
    w = two_partners
    login(client, w["nw_admin"])
    pages = ["/learning", "/staff", f"/organisations/{w['northwind'].id}/staff",
             f"/organisations/{w['northwind'].id}/staff/invite",
             f"/people/{w['nw_learner'].id}", "/tracks/partner-onboarding-essentials",
             "/tracks/partner-onboarding-essentials/lessons/partner-program-overview"]
    for url in pages:
        response = client.get(url, follow_redirects=True)
        assert response.status_code == 200, url
        for secret in (b"Rival", b"Rufus", b"Rita", b"rival.example"):
            assert secret not in response.data, (url, secret)


def test_partner_admin_sees_own_staff(client, two_partners):
    w = two_partners
    login(client, w["nw_admin"])
    page = client.get(f"/organisations/{w['northwind'].id}/staff").get_data(as_text=True)
    assert "Nils Learner" in page and "Nora Admin" in page


def test_vendor_staff_see_every_partner(client, two_partners):
    w = two_partners
    login(client, make_user(role="channel_manager"))
    page = client.get(f"/organisations/{w['rival'].id}/staff").get_data(as_text=True)
    assert "Rufus Rivallearner" in page
    assert client.get(f"/people/{w['rival_learner'].id}").status_code == 200
    # ...but only vendor admins change people.
    assert client.post(f"/people/{w['rival_learner'].id}",
                       data={"action": "deactivate"}).status_code == 403
