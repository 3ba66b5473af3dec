"""Everyone can use every page: a phone's width, the Menu button, skip links, and the axe check.

Every page any browser test opens is already checked with axe-core by the `new_page` fixture
(accessibility.py); the first tests here prove that check catches what it should. The phone
tests open each role's main pages 390 px wide: nothing may scroll sideways (the page or a
table inside its card), and every link of the main navigation must be reachable through the
Menu button. Their screenshots land in test-results/e2e/ as phone-<role>-<page>.png.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.support import log_in

PHONE = {"width": 390, "height": 844}

# Each role's demo account (README) and the links its main navigation must offer.
ROLES = {
    "learner": ("learner@northwind.example",
                ["My learning", "Exams", "Certifications", "Onboarding"]),
    "partner_admin": ("admin@northwind.example",
                      ["My learning", "Exams", "Certifications", "Onboarding", "My team",
                       "Readiness"]),
    "vendor_admin": ("admin@vendor.example",
                     ["Partners", "Catalogue", "Assessments", "Onboarding", "Certificates",
                      "Scorecard", "People", "Outbox"]),
    "author": ("author@vendor.example", ["Catalogue", "Assessments"]),  # content only
    "channel_manager": ("channel@vendor.example",
                        ["Partners", "Catalogue", "Assessments", "Onboarding", "Certificates",
                         "Scorecard"]),
}

LOW_CONTRAST = '<p id="faint" style="color:#c0c0c0;background:#ffffff">Hard to read</p>'


# --- the axe check itself --------------------------------------------------------------------

def test_the_axe_check_reports_what_a_page_shows_as_it_loads(new_page, auditor, live_server):
    page = new_page()
    # A page served with grey-on-white text, as if a template had shipped it.
    page.route("**/axe-self-test", lambda route: route.fulfill(
        content_type="text/html",
        body=f'<!doctype html><html lang="en"><title>t</title><main>{LOW_CONTRAST}</main>'))
    page.goto("/axe-self-test")  # returns once the load-time check has reported

    found = [(f.rule, f.impact, f.target, f.url, f.moment) for f in auditor.findings]
    assert found == [("color-contrast", "serious", "#faint",
                      f"{live_server}/axe-self-test", "as it loaded")]
    assert "contrast" in auditor.findings[0].summary
    report = auditor.report()
    assert "color-contrast [serious]" in report and "#faint" in report
    assert f"{live_server}/axe-self-test" in report
    auditor.findings.clear()  # expected here; anything else still fails the test
    page.goto("/login")  # so the end-of-test check sees a clean page


def test_the_axe_check_sees_a_page_as_the_test_leaves_it(new_page, auditor, live_server):
    page = new_page()
    page.goto("/login")
    assert auditor.findings == [] and auditor.checked == [f"{live_server}/login"]
    page.evaluate("html => document.querySelector('main').insertAdjacentHTML('beforeend', html)",
                  LOW_CONTRAST)
    auditor.check(page)  # what the fixture does for every open page at the end of a test
    assert [(f.rule, f.target, f.moment) for f in auditor.findings] == [
        ("color-contrast", "#faint", "at the end of the test")]
    auditor.findings.clear()
    page.goto("/login")


# --- phones ----------------------------------------------------------------------------------

def _no_sideways_scroll(page, *, inside_boxes: bool = True) -> None:
    widths = page.evaluate("""() => ({
        page: [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth],
        boxes: [...document.querySelectorAll('.table-wrap, .card, table')]
          .filter((box) => box.scrollWidth > box.clientWidth + 1)
          .map((box) => `${box.tagName.toLowerCase()}.${[...box.classList].join('.')}: ` +
                        `${box.scrollWidth} > ${box.clientWidth}`),
    })""")
    scroll_width, client_width = widths["page"]
    assert scroll_width <= client_width, f"{page.url} scrolls sideways: {widths}"
    if inside_boxes:
        assert widths["boxes"] == [], f"{page.url}: content wider than its box: {widths['boxes']}"


def _open_menu(page):
    """The Menu button shows the main navigation and says so (aria-expanded)."""
    menu = page.get_by_role("button", name="Menu")
    navigation = page.get_by_role("navigation", name="Main")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(navigation).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(navigation).to_be_visible()
    return navigation


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_s_main_pages_fit_a_phone(new_page, role):
    email, links = ROLES[role]
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    log_in(page, email)
    _no_sideways_scroll(page)
    # The header stays a header: brand and Menu on one row, the person's block on another,
    # and the brand's words whole (it once shrank to one letter a line, 454 px tall).
    header = page.locator("header.topbar").bounding_box()
    assert header["height"] <= 140, f"the header is {header['height']} px tall at 390 px"
    brand = page.locator("header .brand").bounding_box()
    assert brand["width"] >= 200 and brand["height"] <= 60, brand
    navigation = _open_menu(page)
    names = [name.strip() for name in navigation.get_by_role("link").all_inner_texts()]
    assert names == links
    for name in links:
        link = navigation.get_by_role("link", name=name, exact=True)
        expect(link).to_be_in_viewport(ratio=1)  # whole, not cut off at the edge
    page.get_by_role("button", name="Menu").click()  # the same button closes it
    expect(navigation).to_be_hidden()

    for name in links:
        navigation = _open_menu(page)
        with page.expect_navigation():
            navigation.get_by_role("link", name=name, exact=True).click()
        expect(page.get_by_role("navigation", name="Main")).to_be_hidden()  # closed again
        _no_sideways_scroll(page)
        slug = re.sub(r"\W+", "-", name.lower()).strip("-")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"phone-{role}-{slug}.png"), full_page=True)


def test_the_menu_works_with_the_keyboard(new_page):
    page = new_page(viewport=PHONE)
    log_in(page, "admin@northwind.example")
    menu = page.get_by_role("button", name="Menu")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    for _ in range(4):  # then the brand, then the Menu button
        if menu.evaluate("button => button === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(menu).to_be_focused()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="My learning")).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()


def test_without_javascript_a_phone_shows_every_link(new_page):
    page = new_page(viewport=PHONE, java_script_enabled=False)
    log_in(page, "admin@vendor.example")
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    navigation = page.get_by_role("navigation", name="Main")
    for name in ROLES["vendor_admin"][1]:
        expect(navigation.get_by_role("link", name=name, exact=True)).to_be_in_viewport(ratio=1)
    _no_sideways_scroll(page, inside_boxes=False)  # tables scroll in their cards without it


def test_skip_to_content_moves_the_keyboard_past_the_header(new_page):
    page = new_page()
    log_in(page, "admin@vendor.example")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    focused_in_main = page.evaluate(
        "() => document.querySelector('main').contains(document.activeElement)")
    assert focused_in_main
