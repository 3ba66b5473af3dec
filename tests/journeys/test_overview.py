"""The vendor's onboarding overview: every partner's journey, filtered and paged, the funnel
of partners per stage with the median days each stage takes, and the headline times.
(Its constant number of queries is proved in tests/test_query_counts.py.)"""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest

from lms.core import clock
from lms.extensions import db
from lms.journeys import medians, overview, service
from tests.certifications.support import insert_certificate
from tests.certifications.test_issuing import learner, pass_exam
from tests.factories import login, make_organisation, make_user
from tests.journeys.support import (
    add_template,
    announce_certificate,
    milestone,
    org_journey,
    template,
)

DAY = timedelta(days=1)


def vendor_overview(**filters) -> overview.Overview:
    arguments = {"template_id": None, "stage": None, "overdue": False, "stalled": False,
                 "page": 1, "per_page": 50, "now": clock.now(), **filters}
    return overview.vendor_overview(**arguments)


@pytest.fixture
def three_partners(frozen_clock):
    """One partner just started, one through its first stage, one complete."""
    vendor_admin = make_user(role="vendor_admin")
    fresh, moving, done = (make_organisation(name) for name in ("Fresh", "Moving", "Done"))
    clock.advance(4 * DAY)
    for organisation in (moving, done):
        journey = org_journey(organisation)
        for key in ("agreement-signed", "portal-access"):
            service.sign_off(milestone(journey, key).id, actor=vendor_admin,
                             upload=service.Upload("a.pdf", "application/pdf", b"%PDF"))
    clock.advance(6 * DAY)  # day 10
    journey = org_journey(done)
    service.sign_off(milestone(journey, "joint-business-plan").id, actor=vendor_admin,
                     note="Agreed")
    service.sign_off(milestone(journey, "first-deal-registered").id, actor=vendor_admin,
                     note="Deal 4711")
    staff = [learner(done, job_role="technical"), learner(done, job_role="sales"),
             learner(done, job_role="sales")]
    pass_exam(staff[0])  # the first Technical Associate
    clock.advance(10 * DAY)  # day 20
    for person in staff[1:]:
        announce_certificate(insert_certificate(person, "sales-professional",
                                                issued_at=clock.now()))
    assert org_journey(done).completed_at == clock.now()
    clock.advance(2 * DAY)  # day 22: Fresh has not moved for 21 days
    medians.recompute()  # as the periodic job does
    return {"fresh": fresh, "moving": moving, "done": done, "vendor_admin": vendor_admin}


def test_the_funnel_counts_partners_per_stage_with_median_days(three_partners):
    data = vendor_overview()
    assert data.template.code == "partner-onboarding"
    assert (data.started, data.completed, data.total) == (3, 1, 3)
    assert [(s.name, s.reached, s.at) for s in data.funnel] == [
        ("Week 1: access and orientation", 3, 1), ("Days 8–30: foundations", 2, 1),
        ("Day 90: first certifications and first deal", 1, 0)]
    # Stage 0 took both partners 4 days; stage 1 six more; stage 2 ten more (Done only).
    assert [s.median_days for s in data.funnel] == [4.0, 6.0, 10.0]
    assert data.median_days_to_complete == 20.0
    assert data.median_days_to_first_certification == 10.0
    # People: the three certified staff joined on day 10, certified on days 10 and 20.
    assert data.person_median_days_to_first_certification == 10.0
    assert (data.overdue_journeys, data.stalled_journeys) == (1, 1)  # Fresh


def test_rows_come_most_urgent_first_with_their_next_step(three_partners):
    data = vendor_overview()
    assert [(r.subject_name, r.stage_name, r.done, r.total, r.overdue, r.stalled)
            for r in data.rows] == [
        ("Fresh", "Week 1: access and orientation", 0, 6, 2, True),
        ("Moving", "Days 8–30: foundations", 2, 6, 0, False),
        ("Done", "Complete", 6, 6, 0, False)]
    fresh, moving, done = data.rows
    assert (fresh.next_title, moving.next_title, done.next_title) \
        == ("Partner agreement signed", "Joint business plan agreed", None)
    assert moving.next_due_at == moving.journey.started_at + 30 * DAY
    assert fresh.organisation.name == "Fresh"


@pytest.mark.parametrize(("filters", "names"), [
    ({"stage": 0}, ["Fresh"]), ({"stage": 1}, ["Moving"]), ({"stage": 3}, ["Done"]),
    ({"overdue": True}, ["Fresh"]), ({"stalled": True}, ["Fresh"]),
    ({"stage": 1, "overdue": True}, [])])
def test_filters(three_partners, filters, names):
    data = vendor_overview(**filters)
    assert [r.subject_name for r in data.rows] == names
    assert data.total == len(names)
    assert data.started == 3  # the funnel ignores the filters


def test_paging(three_partners):
    pages = [vendor_overview(per_page=2, page=page) for page in (1, 2, 3)]
    assert [(p.page, p.pages, p.total) for p in pages] == [(1, 2, 3), (2, 2, 3), (2, 2, 3)]
    assert [r.subject_name for r in pages[0].rows + pages[1].rows] == ["Fresh", "Moving",
                                                                       "Done"]


def test_another_organisation_template_can_be_chosen(three_partners):
    other = add_template({
        "code": "zz-msp-onboarding", "name": "MSP onboarding", "scope": "organisation",
        "audience": {"partner_types": ["msp"]},
        "stages": [{"name": "Kick-off", "milestones": [
            {"key": "kick-off", "title": "Kick-off call", "due_days": 3, "owner": "vendor",
             "manual": {}}]}]})
    make_organisation("Managed Co", partner_type="msp")
    assert [t.code for t in vendor_overview().templates] == ["partner-onboarding",
                                                             "zz-msp-onboarding"]
    data = vendor_overview(template_id=other.id)
    assert [r.subject_name for r in data.rows] == ["Managed Co"]
    assert [(s.name, s.reached) for s in data.funnel] == [("Kick-off", 1)]


def test_the_page_shows_the_funnel_and_the_table(client, three_partners):
    login(client, make_user(role="channel_manager"))
    response = client.get("/onboarding")
    assert response.status_code == 200
    page = unescape(response.get_data(as_text=True))
    assert "Partners reaching each stage of Partner onboarding" in page
    assert "<svg" in page and "median 4.0 d" in page
    assert "Medians as of " in page and "taken again every 15 minutes" in page
    assert [name for name in ("Fresh", "Moving", "Done") if f'data-partner="{name}"' in page] \
        == ["Fresh", "Moving", "Done"]
    filtered = unescape(client.get("/onboarding?stalled=1").get_data(as_text=True))
    assert 'data-partner="Fresh"' in filtered and 'data-partner="Moving"' not in filtered
    staged = unescape(client.get("/onboarding?stage=1").get_data(as_text=True))
    assert 'data-partner="Moving"' in staged and 'data-partner="Fresh"' not in staged


def test_the_overview_with_no_organisation_template(client, frozen_clock):
    # As after a sync that made the only organisation template a person's one.
    template("partner-onboarding").scope = "person"
    db.session.flush()
    data = vendor_overview()
    assert data.template is None and data.rows == []
    login(client, make_user(role="vendor_admin"))
    assert "No organisation journey is defined" in client.get("/onboarding") \
        .get_data(as_text=True)


def test_the_medians_are_taken_by_the_periodic_job_and_say_when(three_partners):
    """The page reads the medians the periodic job stored, with their time; the job takes
    them again once they are MEDIANS_EVERY old, and a change shows from then on."""
    taken = clock.now()
    assert vendor_overview().medians_as_of == taken
    assert medians.recompute_due() == 0  # fresh: nothing to do
    # Moving finishes its second stage 18 days after its first, Done took 6: not shown yet.
    moving = three_partners["moving"]
    for key in ("joint-business-plan", "first-deal-registered"):
        service.sign_off(milestone(org_journey(moving), key).id,
                         actor=three_partners["vendor_admin"], note="Done")
    pass_exam(learner(moving, job_role="technical"))
    assert org_journey(moving).current_stage == 2
    assert [s.median_days for s in vendor_overview().funnel] == [4.0, 6.0, 10.0]
    clock.advance(medians.MEDIANS_EVERY)
    assert medians.recompute_due() > 0
    data = vendor_overview()
    assert data.medians_as_of == clock.now() and data.funnel[1].median_days == 12.0


def test_the_page_says_when_no_medians_were_taken_yet(client, frozen_clock):
    login(client, make_user(role="vendor_admin"))
    make_organisation("Brand New")
    data = vendor_overview()
    assert data.medians_as_of is None and data.funnel[0].median_days is None
    assert "Medians are not taken yet" in client.get("/onboarding").get_data(as_text=True)
