"""A partner admin invites a colleague, who accepts the emailed link and signs in."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.e2e.support import invitation_link, log_in

ADMIN = "admin@northwind.example"
STAFF_URL = re.compile(r"/organisations/\d+/staff$")
DUPLICATE_MESSAGE = "This person is already on your team."


def _open_invite_form(page) -> None:
    page.get_by_role("link", name="+ Invite staff").click()
    expect(page).to_have_url(re.compile(r"/organisations/\d+/staff/invite$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Invite staff to Northwind Systems")


def _fill_invite_form(page, *, full_name: str, email: str, job_role: str) -> None:
    page.get_by_label("Full name").fill(full_name)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Job role").select_option(job_role)


def test_invited_colleague_sets_a_password_and_gets_technical_tracks(
        page, new_page, live_server, outbox):
    email = f"e2e-{uuid.uuid4().hex[:12]}@northwind.example"
    full_name = "Jordan Technical"
    password = "correct horse battery"

    log_in(page, ADMIN)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My team").click()
    expect(page).to_have_url(STAFF_URL)
    staff_url = page.url
    _open_invite_form(page)
    _fill_invite_form(page, full_name=full_name, email=email, job_role="technical")
    page.get_by_role("button", name="Send invitation").click()

    expect(page).to_have_url(staff_url)
    expect(page.locator(".flash-success")).to_contain_text(f"Invitation sent to {email}.")
    row = page.locator(f'tr[data-person="{email}"]')
    expect(row).to_contain_text(full_name)
    expect(row).to_contain_text("Technical")
    expect(row.locator(".badge-invited")).to_have_text("Invited")

    message = outbox(email)
    assert "invited" in message["subject"].lower()
    link = invitation_link(message["body_text"], live_server)

    invitee = new_page()  # a fresh context: not signed in as the admin
    invitee.goto(link)
    expect(invitee.get_by_role("heading", level=1)).to_have_text(f"Welcome, {full_name}")
    expect(invitee.locator(".auth .lead")).to_contain_text(email)
    invitee.get_by_label("New password").fill(password)
    invitee.get_by_label("Repeat the password").fill(password)
    invitee.get_by_role("button", name="Create my account").click()

    expect(invitee).to_have_url(re.compile(r"/learning$"))
    expect(invitee.locator(".flash-success")).to_contain_text(
        f"Welcome, {full_name}. Your learning plan is ready.")
    _expect_technical_plan(invitee)

    invitee.get_by_role("button", name="Sign out").click()
    expect(invitee).to_have_url(re.compile(r"/login$"))
    expect(invitee.locator(".flash-info")).to_contain_text("You are signed out.")

    log_in(invitee, email, password)
    expect(invitee).to_have_url(re.compile(r"/learning$"))
    expect(invitee.locator(".usermenu")).to_contain_text(full_name)
    _expect_technical_plan(invitee)

    # Back on the admin's side the person is now active.
    page.reload()
    expect(row.locator(".badge-completed")).to_have_text("Active")


def _expect_technical_plan(page) -> None:
    titles = page.locator("article.track-card h3")
    expect(titles.filter(has_text="Technical Associate")).to_have_count(1)
    expect(page.locator('article[data-track="technical-associate"]')).to_be_visible()
    expect(page.locator('article[data-track="partner-onboarding-essentials"]')).to_be_visible()
    # Sales Foundations is for sales and presales only.
    expect(page.locator('article[data-track="sales-foundations"]')).to_have_count(0)


def test_inviting_an_existing_address_keeps_the_form_and_names_the_field(page):
    log_in(page, ADMIN)
    page.goto("/staff")  # a partner admin's shortcut to their own team
    expect(page).to_have_url(STAFF_URL)
    _open_invite_form(page)
    _fill_invite_form(page, full_name="Lukas Again", email="LEARNER@NORTHWIND.EXAMPLE",
                      job_role="technical")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Send invitation").click()
    assert navigation.value.status == 409

    expect(page).to_have_url(re.compile(r"/organisations/\d+/staff/invite$"))
    email_field = page.get_by_label("Email", exact=True)
    expect(email_field).to_have_attribute("aria-invalid", "true")
    expect(email_field).to_have_accessible_description(DUPLICATE_MESSAGE)
    expect(page.locator("#email-error")).to_have_text(DUPLICATE_MESSAGE)
    expect(page.get_by_label("Full name")).to_have_value("Lukas Again")
    expect(email_field).to_have_value("LEARNER@NORTHWIND.EXAMPLE")
    expect(page.get_by_label("Job role")).to_have_value("technical")
