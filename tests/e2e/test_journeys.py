"""Onboarding journeys in the browser (issue 5, acceptance 1 and 4).

A vendor admin creates a partner and its journey starts; inviting a seller starts theirs;
the seller completes Partner Onboarding Essentials (knowledge check included) and the
milestone is done. A new partner's own admin signs off its manual milestones, and neither
they nor the demo's Northwind admin reach the other partner's.

Each test makes the partner it works on, so the demo's sign-offs do not matter. The new
seller, not the demo learner Lukas Meyer, completes the track: test_learner.py needs
Lukas's onboarding track unfinished, and runs after this file.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import yaml
from playwright.sync_api import expect

from tests.e2e.conftest import PROJECT_ROOT, SCREENSHOTS
from tests.e2e.support import invitation_link, log_in, query
from tests.e2e.test_exam import answer_and_next, drawn_items, start_attempt, submit_from_review

VENDOR_ADMIN = "admin@vendor.example"
DEMO_PARTNER_ADMIN = "admin@northwind.example"  # Hannah Becker at Northwind Systems
DEMO_PARTNER = "Northwind Systems"
PASSWORD = "correct horse battery"
JOURNEYS = PROJECT_ROOT / "content" / "journeys"
TRACK = "partner-onboarding-essentials"
CHECK_TITLE = "Knowledge check: the Kestrel Partner Program"  # its lesson's assessment
CHECK_QUESTIONS = 15  # content/assessments/partner-program-check.yml
SHOTS = SCREENSHOTS / "journeys"  # besides the conftest's one shot per page, shots mid-test
STAFF_URL = re.compile(r"/organisations/(\d+)/staff$")
# Manual milestones of the partner journey (content/journeys/partner-onboarding.yml).
PLAN_KEY = "joint-business-plan"  # owner partner_admin, a note or a file
DEAL_KEY = "first-deal-registered"  # owner partner_admin, a note required
PORTAL_KEY = "portal-access"  # owner partner_admin, an optional note
VENDOR_KEY = "agreement-signed"  # owner vendor: not a partner admin's to sign


def _journey_file(code: str) -> dict:
    return yaml.safe_load((JOURNEYS / f"{code}.yml").read_text())


def _today() -> str:
    """Today as the `date` filter prints it ("5 Dec 2026"); the served app runs on UTC."""
    return f"{datetime.now(UTC):%d %b %Y}".lstrip("0")


def _unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def main_nav(page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def milestone(scope, key: str):
    return scope.locator(f'li[data-milestone="{key}"]')


def expect_stages(section, template: dict) -> None:
    """The timeline shows the template's stages in order, each with its milestones."""
    stages = section.locator("ol.journey-stages > li.jstage")
    expect(stages).to_have_count(len(template["stages"]))
    for index, stage in enumerate(template["stages"]):
        shown = stages.nth(index)
        expect(shown.locator(".jstage-head h3")).to_have_text(stage["name"])
        keys = [spec["key"] for spec in stage["milestones"]]
        expect(shown.locator("li[data-milestone]")).to_have_count(len(keys))
        for key in keys:
            expect(milestone(shown, key)).to_have_count(1)


def open_sign_off(item) -> None:
    """Unfold the milestone's "Sign off…" box when it is folded away."""
    box = item.locator("details.signoff-box")
    if box.count() and box.get_attribute("open") is None:
        box.locator("summary").click()
    expect(item.locator("form[data-signoff]")).to_be_visible()


def create_partner(page, name: str) -> int:
    """As a vendor admin: Partners -> + New organisation; its id (on its staff page)."""
    main_nav(page, "Partners")
    page.get_by_role("link", name="+ New organisation").click()
    expect(page).to_have_url(re.compile(r"/admin/organisations/new$"))
    page.get_by_label("Name").fill(name)
    page.get_by_label("Partner type").select_option("reseller")
    page.get_by_label("Tier").select_option("silver")
    page.get_by_label("Region").select_option("emea")
    page.get_by_role("button", name="Create organisation").click()
    expect(page).to_have_url(STAFF_URL)
    expect(page.locator(".flash-success")).to_contain_text(f"{name} created.")
    return int(STAFF_URL.search(page.url)[1])


def invite(page, *, full_name: str, job_role: str, access: str = "learner") -> str:
    """From a partner's staff page: invite someone; their address."""
    email = f"e2e-{uuid.uuid4().hex[:12]}@journeys.example"
    page.get_by_role("link", name="+ Invite staff").click()
    page.get_by_label("Full name").fill(full_name)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Job role").select_option(job_role)
    page.get_by_label("Access").select_option(access)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".flash-success")).to_contain_text(f"Invitation sent to {email}.")
    return email


def accept_invitation(new_page, outbox, live_server: str, email: str):
    """The invitee follows the mailed link and sets a password, in a browser of their own."""
    person = new_page()
    person.goto(invitation_link(outbox(email)["body_text"], live_server))
    person.get_by_label("New password").fill(PASSWORD)
    person.get_by_label("Repeat the password").fill(PASSWORD)
    person.get_by_role("button", name="Create my account").click()
    # Signed in, on their home page: My learning, or a partner admin's staff page.
    expect(person.locator(".flash-success")).to_contain_text("Your learning plan is ready.")
    return person


def open_partner_onboarding(page, live_server: str, name: str, organisation_id: int) -> None:
    """As vendor staff: Onboarding -> the partner's row (its staff page has no link)."""
    main_nav(page, "Onboarding")
    page.locator(f'tr[data-partner="{name}"]').get_by_role("link", name=name).click()
    expect(page).to_have_url(f"{live_server}/organisations/{organisation_id}/onboarding")


# --- acceptance 1 ------------------------------------------------------------------------

def test_new_partner_and_new_seller_start_journeys_and_the_track_completes_a_milestone(
        page, new_page, live_server, live_database, outbox):
    organisation = _journey_file("partner-onboarding")
    seller_journey = _journey_file("new-sales")
    name = _unique("E2E Partner")

    # The vendor admin creates a partner on the Partners page.
    log_in(page, VENDOR_ADMIN)
    organisation_id = create_partner(page, name)

    # Its journey is on the vendor overview at once, started today, in the first stage.
    main_nav(page, "Onboarding")
    expect(page).to_have_url(re.compile(r"/onboarding$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Partner onboarding")
    row = page.locator(f'tr[data-partner="{name}"]')
    expect(row).to_contain_text("today")
    expect(row).to_contain_text(organisation["stages"][0]["name"])
    total = sum(len(stage["milestones"]) for stage in organisation["stages"])
    expect(row).to_contain_text(f"0 of {total}")
    shot(page, "1-vendor-overview")

    # Its onboarding page shows the journey with every stage and milestone.
    row.get_by_role("link", name=name).click()
    expect(page).to_have_url(f"{live_server}/organisations/{organisation_id}/onboarding")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Onboarding at {name}")
    section = page.locator("section.org-journey")
    expect(section).to_have_count(1)
    expect(section.locator("h2")).to_have_text(organisation["name"])
    expect(section).to_contain_text(f"Started {_today()}")
    expect_stages(section, organisation)
    expect(section.locator('li[data-milestone][data-state="done"]')).to_have_count(0)
    expect(page.locator("#staff + .card")).to_contain_text(
        f"Nobody at {name} has an onboarding journey yet.")
    shot(page, "1-new-partner-onboarding")

    # The vendor admin invites the partner's first seller; their journey is in the
    # partner's staff journeys at once.
    full_name = "Robin Seller"
    page.locator(".crumbs").get_by_role("link", name=name).click()
    expect(page).to_have_url(STAFF_URL)
    email = invite(page, full_name=full_name, job_role="sales")
    open_partner_onboarding(page, live_server, name, organisation_id)
    staff = page.get_by_role("table", name="Staff journeys")
    staff_row = staff.locator("tr[data-staff-journey]").filter(has_text=full_name)
    expect(staff_row).to_have_count(1)
    expect(staff_row).to_contain_text(seller_journey["name"])
    expect(staff_row).to_contain_text(f"since {_today()}")
    expect(staff_row).to_contain_text(seller_journey["stages"][0]["name"])
    seller_total = sum(len(stage["milestones"]) for stage in seller_journey["stages"])
    expect(staff_row).to_contain_text(f"0 of {seller_total}")
    shot(page, "2-staff-journeys")

    # The seller accepts the invitation and opens their onboarding.
    seller = accept_invitation(new_page, outbox, live_server, email)
    main_nav(seller, "Onboarding")
    expect(seller).to_have_url(re.compile(r"/journeys/\d+$"))
    journey_url = seller.url
    expect(seller.get_by_role("heading", level=1)).to_have_text(seller_journey["name"])
    expect_stages(seller.locator("main"), seller_journey)
    essentials = milestone(seller, "onboarding-essentials")
    expect(essentials).not_to_have_attribute("data-state", "done")
    shot(seller, "3-seller-journey-before")

    # ...follows the milestone to the track and works through it, knowledge check included.
    essentials.get_by_role("link", name="Open the track").click()
    expect(seller).to_have_url(re.compile(rf"/tracks/{TRACK}$"))
    complete_track(seller, live_database)

    # Back on the journey the milestone is done; the vendor sees the progress too.
    main_nav(seller, "Onboarding")
    expect(seller).to_have_url(journey_url)
    expect(essentials).to_have_attribute("data-state", "done")
    expect(essentials.locator(".badge-completed")).to_have_text("Done")
    expect(essentials).to_contain_text(f"Done {_today()} · on time")
    expect(essentials.get_by_role("link", name="Open the track")).to_have_count(0)
    shot(seller, "3-seller-journey-after")
    page.reload()
    expect(staff_row).to_contain_text(f"1 of {seller_total}")


def complete_track(page, database: Path) -> None:
    """From a track page: every lesson marked complete, then the knowledge check passed."""
    page.get_by_role("link", name=re.compile(r"^(Start|Continue): ")).click()
    for _ in range(30):
        expect(page).to_have_url(re.compile(rf"/tracks/{TRACK}/lessons/[\w-]+$"))
        check = page.get_by_role("link", name="Take the knowledge check →")
        if check.count():
            break
        title = page.get_by_role("heading", level=1).inner_text()
        page.get_by_role("button", name=re.compile(r"^Mark complete")).click()
        expect(page.get_by_role("heading", level=1)).not_to_have_text(title)
    else:
        raise AssertionError(f"no knowledge check lesson in {TRACK}")
    shot(page, "3-knowledge-check-lesson")
    check.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CHECK_TITLE)
    public_id = start_attempt(page, CHECK_TITLE)
    items = drawn_items(database, public_id)
    assert len(items) == CHECK_QUESTIONS
    for item in items:
        answer_and_next(page, public_id, item, CHECK_QUESTIONS, correct=True)
    submit_from_review(page, public_id, CHECK_QUESTIONS)
    expect(page.locator(".result").get_by_role("heading", level=1)).to_have_text("Passed")
    page.goto(f"/tracks/{TRACK}")
    expect(page.locator(".pagehead .badge-completed")).to_contain_text("Completed")


# --- acceptance 4 ------------------------------------------------------------------------

def test_a_partner_admin_signs_off_only_their_own_organisations_milestones(
        page, new_page, live_server, live_database, outbox):
    # A new partner, with a partner admin invited by the vendor admin.
    name = _unique("E2E Signing Partner")
    log_in(page, VENDOR_ADMIN)
    organisation_id = create_partner(page, name)
    admin_email = invite(page, full_name="Pat Admin", job_role="sales", access="partner_admin")
    admin = accept_invitation(new_page, outbox, live_server, admin_email)

    main_nav(admin, "Onboarding")
    own_url = f"{live_server}/organisations/{organisation_id}/onboarding"
    expect(admin).to_have_url(own_url)
    section = admin.locator("section.org-journey")
    plan, deal = milestone(section, PLAN_KEY), milestone(section, DEAL_KEY)
    # The vendor's own step is shown but not the partner admin's to sign.
    expect(milestone(section, VENDOR_KEY)).to_be_visible()
    expect(milestone(section, VENDOR_KEY).locator("form[data-signoff]")).to_have_count(0)
    shot(admin, "4-partner-onboarding-before")

    # A milestone that takes a note or a file, signed off with a note from this page.
    note = "Plan agreed with our channel manager: mid-market retail, EMEA north."
    open_sign_off(plan)
    plan.get_by_label("Note").fill(note)
    plan.get_by_role("button", name="Sign off", exact=True).click()
    expect(admin).to_have_url(re.compile(rf"{re.escape(own_url)}#milestone-\d+$"))
    expect(admin.locator(".flash-success")).to_contain_text("Signed off: Joint business plan")
    expect(plan).to_have_attribute("data-state", "done")
    expect(plan.locator(".jm-note")).to_have_text(note)
    expect(plan.locator("form[data-signoff]")).to_have_count(0)

    # A milestone that needs a note: without one the form comes back with the error.
    open_sign_off(deal)
    with admin.expect_navigation() as navigation:
        deal.get_by_role("button", name="Sign off", exact=True).click()
    assert navigation.value.status == 422
    deal = milestone(admin, DEAL_KEY)
    expect(deal).not_to_have_attribute("data-state", "done")
    expect(deal.locator(".field-error .error")).to_have_text(
        "Add a note saying how this was done.")
    expect(deal.locator("form[data-signoff]")).to_be_visible()
    shot(admin, "4-note-required-error")
    deal.get_by_label("Note").fill("Deal registration DR-2026-00042, Contoso Retail.")
    deal.get_by_role("button", name="Sign off", exact=True).click()
    expect(admin.locator(".flash-success")).to_contain_text("Signed off: First deal registered")
    expect(milestone(admin, DEAL_KEY)).to_have_attribute("data-state", "done")
    main_nav(admin, "Onboarding")
    expect(milestone(section, DEAL_KEY)).to_have_attribute("data-state", "done")
    expect(milestone(section, DEAL_KEY).locator(".jm-note")).to_contain_text("DR-2026-00042")
    shot(admin, "4-partner-onboarding-after")

    # The demo partner's onboarding is not found for them...
    [demo] = query(live_database, "SELECT id FROM organisation WHERE name = ?", (DEMO_PARTNER,))
    response = admin.goto(f"/organisations/{demo['id']}/onboarding")
    assert response is not None and response.status == 404
    expect(admin.locator(".error-page h1")).to_have_text("Not found")

    # ...nor theirs for the demo partner's admin: pages, and a forged sign-off with a valid
    # CSRF token (a bad token would be a 400), which changes nothing.
    [portal] = query(live_database, """
        SELECT journey_milestone.id, journey_milestone.journey_id, done_at, note
        FROM journey_milestone JOIN journey ON journey.id = journey_milestone.journey_id
        WHERE journey.organisation_id = ? AND journey.scope = 'organisation'
          AND journey_milestone.key = ?""", (organisation_id, PORTAL_KEY))
    assert portal["done_at"] is None
    other = new_page()
    log_in(other, DEMO_PARTNER_ADMIN)
    for url in (f"/organisations/{organisation_id}/onboarding",
                f"/journeys/{portal['journey_id']}"):
        response = other.goto(url)
        assert response is not None and response.status == 404, url
        expect(other.locator(".error-page h1")).to_have_text("Not found")
        expect(other.locator("main")).not_to_contain_text(name)
    shot(other, "4-other-partner-404")
    token = other.locator('.usermenu input[name="csrf_token"]').input_value()  # sign-out form
    forged = f"/journeys/milestones/{portal['id']}/sign-off"
    fields = {f"m{portal['id']}-note": "Not ours to sign."}
    assert other.request.post(forged, form={"csrf_token": "bogus", **fields}).status == 400
    response = other.request.post(forged, form={"csrf_token": token, **fields})
    assert response.status == 404, response.status
    [after] = query(live_database, "SELECT done_at, note FROM journey_milestone WHERE id = ?",
                    (portal["id"],))
    assert after == {"done_at": None, "note": None}
    # The partner's own admin still sees it open, with the sign-off offered.
    admin.goto(own_url)
    expect(milestone(section, PORTAL_KEY)).not_to_have_attribute("data-state", "done")
    expect(milestone(section, PORTAL_KEY).locator("details.signoff-box, form[data-signoff]")
           .first).to_be_attached()
