"""The onboarding lists: a partner's staff journeys and the vendor's overview are paged in
SQL, milestones are counted for the page's journeys only, and the statements do not grow."""

from __future__ import annotations

import re

import pytest

from lms.core import clock
from lms.journeys import overview, views
from tests.factories import login, make_organisation, make_user
from tests.journeys.support import insert_partners_onboarding

PER_PAGE = 10
JOB_ROLES = ("sales", "presales", "technical", "support")


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(views, "PER_PAGE", PER_PAGE)


def _get(client, count_queries, url: str) -> tuple[int, str]:
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return counter.count, response.get_data(as_text=True)


def test_partner_onboarding_pages_staff_journeys_with_constant_queries(
        client, count_queries, frozen_clock, small_pages):
    small, large = make_organisation("Small Partner"), make_organisation("Large Partner")
    for organisation, staff in ((small, 5), (large, 60)):
        for i in range(staff):
            make_user(organisation, job_role=JOB_ROLES[i % 4], full_name=f"Joiner {i:03d}")
    counts = {}
    for organisation, shown, total in ((small, 5, 5), (large, PER_PAGE, 60)):
        url = f"/organisations/{organisation.id}/onboarding"
        login(client, make_user(role="vendor_admin"))
        counts[organisation.name, "vendor"], page = _get(client, count_queries, url)
        assert page.count("data-staff-journey=") == shown
        if total > shown:
            assert f"{shown} of {total} staff journeys" in page and "Page 1 of 6" in page
            # Starting a journey by hand asks for a person's ID: no list of all the staff.
            assert "Person ID" in page and "Joiner 059" not in page
        login(client, make_user(organisation, role="partner_admin", job_role="sales"))
        counts[organisation.name, "admin"], _ = _get(client, count_queries, url)
    assert counts["Small Partner", "vendor"] == counts["Large Partner", "vendor"], counts
    assert counts["Small Partner", "admin"] == counts["Large Partner", "admin"], counts
    # The last page, and past it, show the rest (61 journeys with the admin's own).
    last = client.get(f"/organisations/{large.id}/onboarding?page=99").get_data(as_text=True)
    assert "Page 7 of 7" in last and last.count("data-staff-journey=") == 1


def test_staff_journeys_count_each_rows_milestones(frozen_clock):
    partner = make_organisation("Counted Partner")
    for i in range(12):
        make_user(partner, job_role=JOB_ROLES[i % 4])
    pages = [overview.staff_journeys(partner.id, clock.now(), page=n, per_page=5)
             for n in (1, 2, 3)]
    assert [(p.total, p.pages, len(p.rows)) for p in pages] == [(12, 3, 5), (12, 3, 5),
                                                                (12, 3, 2)]
    rows = [row for p in pages for row in p.rows]
    assert len({row.journey.id for row in rows}) == 12  # no journey on two pages, none missed
    for row in rows:
        assert row.total == len(row.journey.milestones) > 0
        assert row.done == sum(1 for m in row.journey.milestones if m.done_at is not None)


def test_vendor_overview_is_paged_with_constant_queries(client, count_queries, frozen_clock,
                                                       small_pages):
    login(client, make_user(role="vendor_admin"))
    insert_partners_onboarding(5, prefix="Few", now=clock.now())
    few, page = _get(client, count_queries, "/onboarding")
    assert page.count("data-partner=") == 5
    insert_partners_onboarding(55, prefix="More", now=clock.now())
    many, page = _get(client, count_queries, "/onboarding")
    assert page.count("data-partner=") == PER_PAGE and "Page 1 of 6 · 60 partners" in page
    assert few == many, (few, many)
    last = client.get("/onboarding?page=999").get_data(as_text=True)
    assert "Page 6 of 6" in last and last.count("data-partner=") == PER_PAGE
    for url in ("/onboarding?overdue=1", "/onboarding?stalled=1&page=2", "/onboarding?stage=1"):
        assert _get(client, count_queries, url)[0] == many, url
    # Every page, those where one urgency group (overdue, open, finished) ends and the next
    # begins too, in the same statements: each group's part is read in one UNION ALL.
    seen = []
    for number in range(1, 7):
        count, page = _get(client, count_queries, f"/onboarding?page={number}")
        assert count == many, number
        seen += re.findall(r'data-partner="([^"]+)"', page)
    assert len(seen) == len(set(seen)) == 60  # no partner twice, none missed


def test_the_urgency_groups_page_as_the_one_sorted_list(frozen_clock):
    """Paged by group, the rows are those of one list sorted unfinished first, then overdue
    first, then by start: as the page sorted before overdue_since was stored."""
    insert_partners_onboarding(23, prefix="Order", now=clock.now())
    now = clock.now()
    pages = [overview.vendor_overview(template_id=None, stage=None, overdue=False,
                                      stalled=False, page=n, per_page=4, now=now).rows
             for n in range(1, 7)]
    rows = [row for page in pages for row in page]
    expected = sorted(rows, key=lambda r: (r.journey.completed_at is not None, r.overdue == 0,
                                           r.journey.started_at, r.journey.id))
    assert [r.journey.id for r in rows] == [r.journey.id for r in expected]
    assert {r.overdue > 0 for r in rows} == {True, False}  # both groups were there
