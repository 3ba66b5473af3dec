"""The demo's readiness forecast in the browser (issue 6, acceptance 2).

Northwind Systems meets Gold today on its only two Technical Associates, Elena Petrova and
Marco Bianchi, whose certificates both expire within 60 days (lms/demo/certificates.py),
and two newcomers who have until after that to finish Gold's track.
Its partner admin reads on *Readiness* when Northwind falls below Gold unless one of them
renews; the channel manager finds Northwind under the scorecard's "tier at risk" flag with
the same sentence.

The exam test issues and then revokes a Northwind certificate before this file runs, so
the test reads the stored fall date instead of assuming one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.support import log_in, query

PARTNER_ADMIN = "admin@northwind.example"  # Hannah Becker
CHANNEL_MANAGER = "channel@vendor.example"  # Daniel Okafor
PARTNER = "Northwind Systems"
EXPIRING = ("Elena Petrova", "Marco Bianchi")


def _stored(live_database) -> dict:
    rows = query(live_database,
                 "SELECT s.meets_tier, s.falls_below_on, o.id FROM readiness_score s "
                 "JOIN organisation o ON o.id = s.organisation_id WHERE o.name = ?",
                 (PARTNER,))
    assert len(rows) == 1
    return rows[0]


def _sentence(falls_below_on: str, newcomers: int) -> re.Pattern:
    day = datetime.fromisoformat(falls_below_on).replace(tzinfo=UTC)
    # ...and a week later unless the newest colleagues finish Gold's track (Lukas Meyer
    # first): as many as the "to keep Gold" box below names, never another number.
    who = ("1 new staff member finishes Partner Onboarding Essentials by then" if newcomers == 1
           else f"{newcomers} new staff finish Partner Onboarding Essentials, the first by then")
    return re.compile(rf"{PARTNER} falls below Gold on {day.day} {day:%B %Y} unless 1 of 2 "
                      rf"expiring .*Technical Associates renews, and on .* unless {who}\.")


def test_the_partner_admin_and_the_channel_manager_read_when_northwind_falls_below_gold(
        new_page, live_server, live_database):
    stored = _stored(live_database)
    assert stored["meets_tier"]
    falls = datetime.fromisoformat(stored["falls_below_on"]).replace(tzinfo=UTC)
    assert falls - datetime.now(UTC) < timedelta(days=90)
    page = new_page()
    log_in(page, PARTNER_ADMIN)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Readiness").click()
    expect(page).to_have_url(f"{live_server}/organisations/{stored['id']}/readiness")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Readiness at {PARTNER}")
    expect(page.get_by_text("Meets Gold", exact=True)).to_be_visible()
    box = page.locator("[data-renewals]").inner_text()
    newcomers = int(re.search(r"(\d+) new staff", box).group(1))
    sentence = _sentence(stored["falls_below_on"], newcomers)
    expect(page.get_by_text(sentence).first).to_be_visible()
    # The forecast: below Gold in 60 days if nobody renews, Gold kept if they do; the two
    # whose renewal would keep it are named.
    in_60_days = page.locator("tr", has_text="In 60 days")
    expect(in_60_days).to_contain_text("below Gold")
    expect(in_60_days).to_contain_text("keeps Gold")
    for name in EXPIRING:
        expect(in_60_days.get_by_role("link", name=name)).to_be_visible()
    # By 90 days the newest staff's time for Gold's track has run out too (Lukas Meyer has
    # not finished it), so renewing alone no longer keeps Gold.
    in_90_days = page.locator("tr", has_text="In 90 days")
    expect(in_90_days.locator("[data-newcomers]")).to_be_visible()
    expect(in_90_days.get_by_role("link", name="Lukas Meyer")).to_be_visible()
    expect(in_90_days).not_to_contain_text("keeps Gold")
    page.screenshot(path=str(_shots() / "northwind-readiness.png"), full_page=True)
    page.context.close()

    page = new_page()
    log_in(page, CHANNEL_MANAGER)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Scorecard").click()
    page.get_by_label("Risk flag").select_option(label="The tier is at risk")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("tbody tr", has_text=PARTNER)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Tier at risk")
    row.get_by_role("link", name=PARTNER).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(PARTNER)
    expect(page.locator('li.sc-flag[data-flag="tier_at_risk"]')).to_contain_text(sentence)
    page.screenshot(path=str(_shots() / "northwind-scorecard.png"), full_page=True)


def _shots():
    folder = SCREENSHOTS / "readiness"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
