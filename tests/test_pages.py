"""Every page renders for every role that may open it (no 500s hiding in templates)."""

import pytest

from lms.catalog.service import complete_lesson
from tests.factories import login, make_organisation, make_user

PAGES = {
    "learner": ["/learning", "/tracks/partner-onboarding-essentials",
                "/tracks/partner-onboarding-essentials/lessons/partner-program-overview"],
    "partner_admin": ["/learning", "/staff", "/organisations/{org}/staff",
                      "/organisations/{org}/staff/invite", "/people/{learner}"],
    "vendor_admin": ["/admin/organisations", "/admin/organisations/new",
                     "/admin/organisations/{org}/edit", "/admin/users", "/admin/users/new",
                     "/admin/users/{learner}/edit", "/admin/outbox", "/catalogue",
                     "/organisations/{org}/staff", "/people/{learner}",
                     "/tracks/solution-architecture",
                     "/tracks/solution-architecture/lessons/sizing-a-deployment"],
    "channel_manager": ["/admin/organisations", "/catalogue", "/organisations/{org}/staff",
                        "/people/{learner}"],
    "author": ["/catalogue", "/assessments", "/tracks/technical-associate"],
}


@pytest.mark.parametrize("role", sorted(PAGES))
def test_pages_render(client, role):
    organisation = make_organisation()
    learner = make_user(organisation)
    complete_lesson(user=learner, track_slug="partner-onboarding-essentials",
                    lesson_slug="partner-program-overview")
    viewer = learner if role == "learner" else make_user(
        organisation if role == "partner_admin" else None, role=role)
    login(client, viewer)
    for template in PAGES[role]:
        url = template.format(org=organisation.id, learner=learner.id)
        response = client.get(url, follow_redirects=True)
        assert response.status_code == 200, url


def test_anonymous_pages(client):
    for url in ("/login", "/password/forgot"):
        assert client.get(url).status_code == 200
    assert client.get("/learning").status_code == 302
    assert client.get("/").headers["Location"].endswith("/login")
    assert client.get("/no-such-page").status_code == 404
    as_json = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert as_json.status_code == 404 and as_json.json["error"] == "Not Found"
