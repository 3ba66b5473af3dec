"""The readiness page: who may open it (never another partner's), what it shows, and a
query count that does not grow with the staff."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from lms.accounts.models import User
from lms.catalog.models import Assignment, Track
from lms.extensions import db
from lms.readiness import service
from tests.assessments.support import plain
from tests.certifications.support import insert_certificate, insert_staff_with_certificates
from tests.certifications.test_issuing import complete_track
from tests.factories import login, make_organisation, make_user
from tests.readiness.support import ONBOARDING_TRACK, TA

DAY = timedelta(days=1)


@pytest.fixture
def partners(frozen_clock):
    northwind = make_organisation("Northwind Ready", tier="silver")
    rival = make_organisation("Rival Ready", tier="gold")
    w = {
        "northwind": northwind, "rival": rival,
        "nw_admin": make_user(northwind, role="partner_admin", full_name="Nora Admin"),
        "nw_seller": make_user(northwind, job_role="sales", full_name="Sven Seller"),
        "nw_new": make_user(northwind, job_role="technical", full_name="Nina Newcomer"),
        "rival_admin": make_user(rival, role="partner_admin", full_name="Rita Rivaladmin"),
        "rival_learner": make_user(rival, full_name="Rufus Rivallearner"),
    }
    # Sven's Sales Professional certificate expires in 35 days: Northwind keeps Silver today
    # and falls below it then, unless he renews.
    w["certificate"] = insert_certificate(w["nw_seller"], "sales-professional",
                                          issued_at=frozen_clock - 330 * DAY)
    for person in ("nw_admin", "nw_seller"):
        complete_track(w[person], ONBOARDING_TRACK)
    # Everyone joined long enough ago to be held to the tiers' tracks (see new_staff_days).
    for key in ("nw_admin", "nw_seller", "nw_new", "rival_admin", "rival_learner"):
        w[key].created_at = frozen_clock - 200 * DAY
    service.recompute([northwind.id, rival.id])
    return w


def _page(client, organisation) -> str:
    response = client.get(f"/organisations/{organisation.id}/readiness")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_partner_admin_sees_their_readiness_explained(client, partners):
    w = partners
    html = _page(login(client, w["nw_admin"]), w["northwind"])
    text = plain(html)
    score = service.current(w["northwind"].id)
    assert '<svg class="gauge gauge-' in html and f"{score.total:g}" in text
    for label in ("Certification coverage", "Certification currency",
                  "Required-track completion", "Onboarding progress"):
        assert label in text
    assert 'data-component="certification_coverage"' in html
    # Gaps to keep Silver and to reach Gold, with the people behind them as links.
    assert "To keep Silver" in text and "To reach Gold" in text
    assert "1 staff member has not finished Partner Onboarding Essentials" in text
    assert f'href="/people/{w["nw_new"].id}">Nina Newcomer</a>' in html
    # The forecast: both scenarios at each horizon, and the sentence.
    assert 'data-horizon="30"' in html and 'data-horizon="90"' in html
    assert "If nobody renews" in text and "If everyone in a renewal window renews" in text
    assert "Rubric version 1" in text
    assert '>Readiness</a>' in html  # the partner admin's nav link


def test_the_verdict_names_the_day_and_the_renewal(client, partners, frozen_clock):
    w = partners
    # Northwind's own onboarding done, so Silver is met today and only the expiry threatens it.
    from lms.journeys.models import Journey

    journey = db.session.scalar(select(Journey).where(
        Journey.organisation_id == w["northwind"].id, Journey.scope == "organisation"))
    for milestone in journey.milestones:
        milestone.done_at = frozen_clock - DAY
    journey.completed_at = frozen_clock - DAY
    complete_track(w["nw_new"], ONBOARDING_TRACK)
    service.recompute([w["northwind"].id])
    html = _page(login(client, w["nw_admin"]), w["northwind"])
    day = w["certificate"].expires_at
    sentence = (f"Northwind Ready falls below Silver on {day.day} {day:%B} unless the "
                "expiring Kestrel Certified Sales Professional renews.")
    verdict = re.search(r"data-verdict>([^<]*)<", html).group(1)
    assert verdict.strip() == sentence
    renewals = html[html.index("data-renewals"):html.index("</ul>", html.index("data-renewals"))]
    assert f'href="/people/{w["nw_seller"].id}">Sven Seller</a>' in renewals
    assert "Meets Silver" in plain(html)


@pytest.mark.parametrize("viewer", ["nw_admin", "nw_seller"])
def test_another_partners_readiness_is_not_found(client, partners, viewer):
    w = partners
    login(client, w[viewer])
    response = client.get(f"/organisations/{w['rival'].id}/readiness")
    assert response.status_code == 404
    assert b"Rival" not in response.data and b"Rufus" not in response.data


def test_learners_do_not_see_even_their_own_partners_readiness(client, partners):
    w = partners
    login(client, w["nw_seller"])
    assert client.get(f"/organisations/{w['northwind'].id}/readiness").status_code == 404
    assert client.get("/organisations/999999/readiness").status_code == 404


def test_the_page_shows_nothing_of_another_partner(client, partners):
    w = partners
    html = _page(login(client, w["nw_admin"]), w["northwind"])
    for secret in ("Rival", "Rufus", "Rita"):
        assert secret not in html


@pytest.mark.parametrize("role", ["vendor_admin", "channel_manager"])
def test_vendor_staff_see_any_partner(client, partners, role):
    login(client, make_user(role=role))
    assert "Readiness at Rival Ready" in plain(_page(client, partners["rival"]))
    assert "Rufus Rivallearner" in _page(client, partners["rival"])


def test_authors_see_no_partners_readiness(client, partners):
    login(client, make_user(role="author"))
    response = client.get(f"/organisations/{partners['rival'].id}/readiness")
    assert response.status_code == 404 and b"Rufus" not in response.data


def test_the_shortcut_leads_a_partner_admin_to_their_own(client, partners):
    login(client, partners["nw_admin"])
    response = client.get("/readiness")
    assert response.headers["Location"].endswith(
        f"/organisations/{partners['northwind'].id}/readiness")


def test_a_partner_not_scored_yet_is_computed_for_the_page(client, frozen_clock):
    fresh = make_organisation("Fresh Partner", tier="registered")
    login(client, make_user(fresh, role="partner_admin"))
    assert service.current(fresh.id) is None
    text = plain(_page(client, fresh))
    assert "Readiness at Fresh Partner" in text
    assert "brought up to date by the next recompute" in text
    assert service.current(fresh.id) is None  # a page view writes nothing


def _bulk_staff(organisation, count: int) -> None:
    """Staff assigned the onboarding track and not finished it (factories are too slow)."""
    db.session.execute(insert(User), [
        {"email": f"rd-{organisation.id}-{i}@example.com", "full_name": f"Staff {i}",
         "role": "learner", "organisation_id": organisation.id, "job_role": "technical"}
        for i in range(count)])
    track_id = db.session.scalar(select(Track.id).where(Track.slug == ONBOARDING_TRACK))
    ids = db.session.scalars(select(User.id).where(User.organisation_id == organisation.id,
                                                   User.email.like("rd-%"))).all()
    db.session.execute(insert(Assignment), [
        {"user_id": user_id, "track_id": track_id, "manual": True} for user_id in ids])
    db.session.flush()


def test_the_query_count_does_not_grow_with_the_staff(client, count_queries, frozen_clock):
    small, large = make_organisation("Small Ready"), make_organisation("Large Ready")
    _bulk_staff(small, 5)
    _bulk_staff(large, 400)
    # Certificates expiring within the forecast's horizons: the stored score keeps who, for
    # each horizon (the first 8 and how many).
    insert_staff_with_certificates(small, 3, TA, issued_at=frozen_clock - 680 * DAY)
    insert_staff_with_certificates(large, 150, TA, issued_at=frozen_clock - 680 * DAY)
    service.recompute([small.id, large.id])
    login(client, make_user(role="channel_manager"))
    counts = []
    for organisation_id in (small.id, large.id):
        with count_queries() as counter:
            response = client.get(f"/organisations/{organisation_id}/readiness")
        counts.append(counter.statements)
    html = response.get_data(as_text=True)
    assert len(counts[0]) == len(counts[1]), "\n\n".join(
        "\n".join(s[:100].replace("\n", " ") for s in c) for c in counts)
    # It reads the stored row, not the partner's facts: nothing that grows with its staff.
    facts = ("certificate", "assignment", "track_completion", "journey")
    assert not [statement for statement in counts[1]
                if any(re.search(rf"\b(FROM|JOIN) {table}\b", statement) for table in facts)]
    # 550 staff could close the Solution Architect gap to Platinum, 8 of them named.
    assert "and 542 more" in plain(html)
    ninety = html[html.index('data-horizon="90"'):]
    assert "and 142 more" in plain(ninety[:ninety.index("</tr>")])  # 150 expiring, 8 named


def test_a_score_stored_before_explanations_is_worked_out_for_the_page(client, partners):
    """A row from before the explanation was stored (the migration leaves it empty) still
    shows everything: the page works it out until the next recompute fills the row."""
    def page() -> str:  # without the CSRF token, which is signed with the second
        html = _page(client, w["northwind"])
        return re.sub(r'name="csrf_token" value="[^"]*"', "", html)

    w = partners
    login(client, w["nw_admin"])
    before = page()
    score = service.current(w["northwind"].id)
    score.explanation = None
    db.session.flush()
    assert page() == before
    service.recompute([w["northwind"].id])
    assert service.current(w["northwind"].id).explanation is not None
    assert page() == before
