"""A learner works through the sequential onboarding track in the browser."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.support import log_in

LEARNER = "learner@northwind.example"
ONBOARDING = "partner-onboarding-essentials"
# The last lesson of the sequential onboarding track (content/tracks/.../track.yml): the demo
# learner has done 3 of 8 lessons, so it stays locked whatever else this session completes.
LAST_LESSON = "data-handling-and-export-controls"


def _progress(card) -> tuple[int, int]:
    """(shown percentage, aria-valuenow) of a My learning track card."""
    shown = card.locator(".progress-value").inner_text().strip()
    assert re.fullmatch(r"\d+%", shown), shown
    now = card.get_by_role("progressbar").get_attribute("aria-valuenow")
    assert now is not None
    return int(shown.rstrip("%")), int(now)


def test_marking_a_lesson_complete_moves_the_track_forward(page):
    log_in(page, LEARNER)
    expect(page).to_have_url(re.compile(r"/learning$"))
    expect(page.get_by_role("heading", name="My learning", level=1)).to_be_visible()

    card = page.locator(f'article[data-track="{ONBOARDING}"]')
    expect(card).to_be_visible()
    percent_before, valuenow_before = _progress(card)
    assert percent_before == valuenow_before
    assert percent_before < 100

    card.get_by_role("link", name=re.compile(r"^Continue")).click()
    expect(page).to_have_url(re.compile(rf"/tracks/{ONBOARDING}/lessons/[\w-]+$"))
    lesson_url = page.url
    lesson_title = page.get_by_role("heading", level=1).inner_text()

    page.get_by_role("button", name=re.compile(r"^Mark complete")).click()
    # Completing a lesson of an unfinished track moves on to the next lesson.
    expect(page).not_to_have_url(lesson_url)
    expect(page).to_have_url(re.compile(rf"/tracks/{ONBOARDING}/lessons/[\w-]+$"))
    expect(page.get_by_role("heading", level=1)).not_to_have_text(lesson_title)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My learning").click()
    expect(page).to_have_url(re.compile(r"/learning$"))
    card = page.locator(f'article[data-track="{ONBOARDING}"]')
    percent_after, valuenow_after = _progress(card)
    assert percent_after > percent_before
    assert valuenow_after > valuenow_before
    assert percent_after == valuenow_after


def test_a_locked_lesson_says_why_with_http_423(page):
    log_in(page, LEARNER)
    expect(page).to_have_url(re.compile(r"/learning$"))

    response = page.goto(f"/tracks/{ONBOARDING}/lessons/{LAST_LESSON}")
    assert response is not None
    assert response.status == 423

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Data handling and export controls is locked")
    expect(page.locator(".error-page")).to_contain_text(re.compile(r"Complete “.+” first\."))
    expect(page.get_by_role("button", name=re.compile(r"^Mark complete"))).to_have_count(0)
    back = page.get_by_role("link", name="Back to Partner Onboarding Essentials")
    expect(back).to_have_attribute("href", f"/tracks/{ONBOARDING}")
