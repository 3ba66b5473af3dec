"""Strict scoping: a partner's people and progress are visible only to that partner and
the vendor. Every route that takes an identifier is listed here; a new one must be added."""

from pathlib import Path

import pytest
from sqlalchemy import select

from lms.accounts import permissions
from lms.accounts import service as accounts
from lms.catalog.service import complete_lesson
from lms.extensions import db
from lms.journeys import service as journeys
from tests.factories import login, make_organisation, make_user
from tests.journeys.support import milestone, org_journey, person_journey

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
    # Onboarding journeys (the journey tests below and tests/journeys/test_views.py prove
    # the cross-partner 404s)
    "/journeys/<int:journey_id>": "journey",
    "/journeys/milestones/<int:milestone_id>/sign-off": "journey",
    # A sign-off's file is scoped by the partner it was given for, not where the journey is
    # now (tests/journeys/test_views.py: a mover's old partner keeps its files, the new one
    # never gets them).
    "/journeys/milestones/<int:milestone_id>/evidence": "journey",
    "/journeys/milestones/<int:milestone_id>/due": "vendor only",
    "/organisations/<int:organisation_id>/onboarding": "organisation",
    "/organisations/<int:organisation_id>/onboarding/start": "vendor only",
    # Readiness (tests/readiness/test_views.py proves the cross-partner 404s)
    "/organisations/<int:organisation_id>/readiness": "organisation",
    # The partner scorecard: vendor admins and channel managers only; everyone else gets
    # 404 (tests/scorecard/test_views.py proves it for every one of these). The API routes
    # take a bearer token instead of a session.
    "/scorecard/export.<any(csv, json):fmt>": "vendor only",
    "/scorecard/partners/<int:organisation_id>": "vendor only",
    "/scorecard/imports/<int:import_id>": "vendor only",
    "/scorecard/imports/<int:import_id>/revert": "vendor only",
    "/scorecard/periods/<int:period_id>": "vendor only",
    "/scorecard/periods/<int:period_id>/scorecard.<any(csv, json):fmt>": "vendor only",
    "/scorecard/webhooks/<int:endpoint_id>": "vendor only",
    "/scorecard/webhooks/<int:endpoint_id>/deactivate": "vendor only",
    "/scorecard/api-tokens/<int:token_id>/revoke": "vendor only",
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


@pytest.mark.parametrize("viewer", ["nw_admin", "nw_learner", "rival_admin"])
def test_sessions_are_only_ever_ones_own(client, app, two_partners, viewer):
    """/account/sessions and its two actions take no identifier in the path: the session
    to end comes in the form, and only the signed-in person's own can be listed or ended."""
    from sqlalchemy import select

    from lms.accounts import sessions
    from lms.accounts.models import UserSession

    w = two_partners
    victim = w["rival_learner"]
    victims_browser = login(app.test_client(), victim)
    victim_sessions = set(db.session.scalars(
        select(UserSession.id).where(UserSession.user_id == victim.id)))
    login(client, w[viewer])
    page = client.get("/account/sessions").get_data(as_text=True)
    assert page.count('data-session-current=') == 1
    assert not any(key in page for key in victim_sessions)
    for key in victim_sessions:
        assert client.post("/account/sessions/end", data={"session_id": key}).status_code == 404
    assert client.post("/account/sessions/end-others").status_code == 303
    assert victims_browser.get("/learning").status_code == 200
    assert len(sessions.active(victim.id, current_secret=None)) == len(victim_sessions)


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


# --- onboarding journeys ---------------------------------------------------------------------


@pytest.fixture
def journeys_world(two_partners):
    """The two partners' journeys, with evidence on file at the rival."""
    w = two_partners
    rival_journey = org_journey(w["rival"])
    plan = milestone(rival_journey, "joint-business-plan")
    journeys.sign_off(plan.id, actor=w["rival_admin"], upload=journeys.Upload(
        "rival-plan.pdf", "application/pdf", b"%PDF rival secrets"))
    return {**w, "rival_journey": rival_journey, "rival_plan": plan,
            "rival_person_journey": person_journey(w["rival_learner"]),
            "nw_journey": org_journey(w["northwind"]),
            "nw_person_journey": person_journey(w["nw_learner"])}


def _journey_requests(w) -> list[tuple[str, str, dict | None]]:
    """Every journey route with an identifier, pointed at the rival's records."""
    rival_step = milestone(w["rival_journey"], "portal-access")
    rival_person_step = milestone(w["rival_person_journey"], "meet-your-admin")
    return [
        ("GET", f"/journeys/{w['rival_journey'].id}", None),
        ("GET", f"/journeys/{w['rival_person_journey'].id}", None),
        ("POST", f"/journeys/milestones/{rival_step.id}/sign-off",
         {f"m{rival_step.id}-note": "sneaky"}),
        ("POST", f"/journeys/milestones/{rival_person_step.id}/sign-off",
         {f"m{rival_person_step.id}-note": "sneaky"}),
        ("GET", f"/journeys/milestones/{w['rival_plan'].id}/evidence", None),
        ("POST", f"/journeys/milestones/{rival_step.id}/due",
         {"due_on": "2026-12-31", "reason": "sneaky"}),
        ("GET", f"/organisations/{w['rival'].id}/onboarding", None),
        ("POST", f"/organisations/{w['rival'].id}/onboarding/start",
         {"template_id": w["rival_journey"].template_id, "user_id": 0}),
    ]


def test_the_journey_requests_cover_every_journey_route(app, journeys_world):
    adapter = app.url_map.bind("lms.test")
    covered = {adapter.match(url, method=method, return_rule=True)[0].rule
               for method, url, _ in _journey_requests(journeys_world)}
    journey_rules = {rule.rule for rule in app.url_map.iter_rules()
                     if rule.arguments and rule.endpoint.startswith("journeys.")}
    assert covered == journey_rules
    assert len(journey_rules) == 6 and journey_rules <= set(ROUTES_WITH_IDS)


@pytest.mark.parametrize("viewer", ["nw_admin", "nw_learner"])
def test_other_partners_journeys_are_not_found(client, journeys_world, viewer):
    w = journeys_world
    login(client, w[viewer])
    requests = _journey_requests(w)
    for method, url, data in requests:
        response = client.open(url, method=method, data=data)
        assert response.status_code == 404, (method, url)
        for secret in (b"Rival", b"Rufus", b"Rita", b"rival secrets"):
            assert secret not in response.data, (url, secret)
    # Nothing of the rival's changed.
    rival_steps = [milestone(w["rival_journey"], "portal-access"),
                   milestone(w["rival_person_journey"], "meet-your-admin")]
    for step in rival_steps:
        db.session.refresh(step)
        assert step.done_at is None and step.note is None
    assert str(rival_steps[0].due_at.date()) != "2026-12-31"
    assert len(journeys.journeys_of(w["rival_learner"].id)) == 1


def test_a_learner_sees_only_their_own_journey(client, journeys_world):
    w = journeys_world
    login(client, w["nw_learner"])
    assert client.get(f"/journeys/{w['nw_person_journey'].id}").status_code == 200
    # The organisation's journey and a colleague's are for admins.
    colleague = make_user(w["northwind"], job_role="support")
    for url in (f"/journeys/{w['nw_journey'].id}",
                f"/journeys/{person_journey(colleague).id}",
                f"/organisations/{w['northwind'].id}/onboarding", "/onboarding"):
        assert client.get(url).status_code == 404, url


def test_a_partner_admin_sees_their_organisation_and_staff_journeys(client, journeys_world):
    w = journeys_world
    login(client, w["nw_admin"])
    for url in (f"/journeys/{w['nw_journey'].id}", f"/journeys/{w['nw_person_journey'].id}",
                f"/organisations/{w['northwind'].id}/onboarding", "/onboarding/mine"):
        response = client.get(url, follow_redirects=True)
        assert response.status_code == 200, url
        for secret in (b"Rival", b"Rufus", b"Rita", b"rival.example"):
            assert secret not in response.data, (url, secret)
    assert "Nils Learner" in client.get(f"/organisations/{w['northwind'].id}/onboarding") \
        .get_data(as_text=True)


@pytest.mark.parametrize("role", ["channel_manager", "vendor_admin"])
def test_vendor_staff_see_every_partners_journeys(client, journeys_world, role):
    w = journeys_world
    login(client, make_user(role=role))
    for url in (f"/journeys/{w['rival_journey'].id}",
                f"/journeys/{w['rival_person_journey'].id}",
                f"/organisations/{w['rival'].id}/onboarding",
                f"/journeys/milestones/{w['rival_plan'].id}/evidence"):
        response = client.get(url)
        assert response.status_code == 200, (role, url)
    assert client.get(f"/journeys/milestones/{w['rival_plan'].id}/evidence").data \
        == b"%PDF rival secrets"
    page = client.get(f"/organisations/{w['rival'].id}/onboarding").get_data(as_text=True)
    assert "Rufus Rivallearner" in page
    assert client.get("/onboarding").status_code == 200


def test_an_author_sees_no_partners_people_or_evidence(client, journeys_world):
    """Authors work on content: another partner's staff, journeys and evidence do not exist
    for them (the rights table gives them no partner right)."""
    w = journeys_world
    login(client, make_user(role="author"))
    for url in (f"/journeys/{w['rival_journey'].id}",
                f"/journeys/milestones/{w['rival_plan'].id}/evidence",
                f"/organisations/{w['rival'].id}/onboarding",
                f"/organisations/{w['rival'].id}/staff", f"/people/{w['rival_learner'].id}",
                f"/organisations/{w['rival'].id}/readiness",
                f"/organisations/{w['rival'].id}/certifications", "/onboarding"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"Rufus" not in response.data and b"rival secrets" not in response.data
    assert client.get("/admin/organisations").status_code == 403
    assert client.get("/catalogue").status_code == 200
    # Below the door too: the scoping helper gives authors no partner's rows, so a
    # partner's certificate (whose PDF route any signed-in person may ask) is not found.
    from datetime import UTC, datetime

    from tests.certifications.support import insert_certificate
    held = insert_certificate(w["rival_learner"], "sales-professional",
                              issued_at=datetime(2026, 1, 5, tzinfo=UTC))
    assert client.get(f"/certifications/{held.public_id}/certificate.pdf").status_code == 404


# --- roles: one rights table, the README and every route agree ---------------------------------

# Routes that need no right: public pages, or pages any signed-in person may open about
# content or their own records (each checks ownership itself, proven in its domain's tests).
OPEN_ENDPOINTS = {
    "static", "accounts.home", "accounts.login", "accounts.logout",
    "accounts.forgot_password", "accounts.reset_password", "accounts.accept_invitation",
    "catalog.track", "catalog.lesson", "catalog.asset",
    "assessments.index", "assessments.start_page", "assessments.resume",
    "assessments.question", "assessments.review", "assessments.submit", "assessments.result",
    "certifications.mine", "certifications.certificate_pdf",
    "verify.search", "verify.certificate", "certifications_api.certificate",
    "certifications_api.verify_many", "scorecard_api.current", "scorecard_api.push_metrics",
    # Anyone signed in, on their own sessions only (test_sessions_are_only_ever_ones_own).
    "accounts.my_sessions", "accounts.end_session", "accounts.end_other_sessions",
}


def test_the_readme_role_table_is_the_rights_table():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert permissions.role_table() in readme, (
        "README's role table differs from lms.accounts.permissions.RIGHTS: paste "
        "role_table() into README.md")


def test_every_route_declares_its_right_or_is_open(app):
    undeclared = sorted(
        endpoint for endpoint, view in app.view_functions.items()
        if not hasattr(view, "right") and endpoint not in OPEN_ENDPOINTS)
    assert undeclared == [], "give these views a right (lms.accounts.permissions.require)"
    for endpoint in OPEN_ENDPOINTS:
        assert endpoint in app.view_functions, f"{endpoint} no longer exists"
        assert not hasattr(app.view_functions[endpoint], "right"), endpoint


@pytest.fixture
def role_world(journeys_world):
    from lms.assessments.models import Assessment

    w = journeys_world
    users = {"learner": w["nw_learner"], "partner_admin": w["nw_admin"]}
    for role in ("author", "channel_manager", "vendor_admin"):
        users[role] = make_user(role=role)
    plan = milestone(w["nw_journey"], "joint-business-plan")
    journeys.sign_off(plan.id, actor=w["nw_admin"], upload=journeys.Upload(
        "plan.pdf", "application/pdf", b"%PDF northwind plan"))
    # Values a URL's arguments take: Northwind's own records, so that a role holding a
    # right for its own organisation passes (other partners' records are proven above).
    values = {
        "organisation_id": w["northwind"].id, "user_id": w["nw_learner"].id,
        "journey_id": w["nw_journey"].id,
        "milestone_id": plan.id,
        "slug": db.session.scalar(select(Assessment.slug).limit(1)), "fmt": "csv",
    }
    return users, values


def _url(rule, values) -> tuple[str, bool]:
    """The rule's URL with the world's values (or a number nothing has), and whether every
    argument named a real record."""
    arguments = {name: values.get(name, 987654) for name in rule.arguments}
    return rule.build(arguments)[1], all(name in values for name in rule.arguments)


def test_every_route_admits_exactly_the_roles_of_its_right(app, client, role_world):
    """For every route with a right and every role: a role without the right is refused
    (403, or 404 where the page hides), and one with it, for its own organisation, gets
    the page."""
    users, values = role_world
    checked = 0
    for rule in app.url_map.iter_rules():
        right = getattr(app.view_functions[rule.endpoint], "right", None)
        if right is None:
            continue
        method = "GET" if "GET" in rule.methods else "POST"
        url, real = _url(rule, values)
        reach = permissions.RIGHTS[right].reach
        for role, user in users.items():
            login(client, user)
            status = client.open(url, method=method).status_code
            if role not in reach:
                assert status in (403, 404), (rule.rule, role, right, status)
            elif method == "GET" and real and reach[role] != permissions.OWN:
                assert status not in (403, 404), (rule.rule, role, right, status)
            checked += 1
    assert checked >= 5 * 50
