"""The certificate and assessment lists in a browser: paged, searched and filtered, at a
phone's width without sideways scrolling, and clean under axe-core (the `new_page` fixture
checks every page it opens)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.support import log_in, query
from tests.e2e.test_accessibility import PHONE, _no_sideways_scroll


def _northwind(live_database) -> int:
    # A bound pattern: psycopg would read a literal % in the SQL as a placeholder.
    return query(live_database, "SELECT id FROM organisation WHERE name LIKE ? "
                                "ORDER BY id LIMIT 1", ("Northwind%",))[0]["id"]


def test_the_register_filters_by_partner_name_and_pages_on_a_phone(new_page):
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    log_in(page, "admin@vendor.example")
    page.goto("/admin/certificates")
    _no_sideways_scroll(page)
    expect(page.get_by_text("Sorted newest first.")).to_be_visible()
    page.get_by_label("Partner", exact=True).fill("northwind")
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"partner=northwind"))
    rows = page.locator("tr[data-certificate]")
    expect(rows.first).to_be_visible()
    _no_sideways_scroll(page)
    page.goto("/admin/certificates?status=expiring")
    expect(page.get_by_text("Sorted soonest expiry first.")).to_be_visible()
    _no_sideways_scroll(page)


def test_a_partner_admin_pages_and_searches_their_staff_certificates(new_page, live_database):
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    log_in(page, "admin@northwind.example")
    page.goto("/staff/certifications")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Certifications at")
    _no_sideways_scroll(page)
    views = page.get_by_role("navigation", name="Which certificates")
    with page.expect_navigation():
        views.get_by_role("link", name=re.compile("To renew")).click()
    expect(page).to_have_url(re.compile(r"show=renew"))
    _no_sideways_scroll(page)
    page.get_by_label("Find a person").fill("marco")
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"show=renew.*q=marco|q=marco.*show=renew"))
    _no_sideways_scroll(page)
    organisation = _northwind(live_database)
    assert f"/organisations/{organisation}/certifications" in page.url


def test_assessment_lists_and_item_statistics_fit_a_phone(new_page):
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    log_in(page, "author@vendor.example")
    page.goto("/assessments")
    _no_sideways_scroll(page, inside_boxes=False)
    page.get_by_label("Find an assessment").fill("check")
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    expect(page.locator("tr[data-assessment]").first).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("link", name="Item statistics").first.click()
    expect(page.locator("tr[data-item]").first).to_be_visible()
    _no_sideways_scroll(page, inside_boxes=False)

    learner = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    log_in(learner, "learner@northwind.example")
    learner.goto("/assessments")
    expect(learner.get_by_role("heading", level=1)).to_have_text("Certification exams")
    _no_sideways_scroll(learner)
