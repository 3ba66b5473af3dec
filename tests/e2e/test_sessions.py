"""A person signed in on a laptop and a phone sees both sessions and ends the phone's; the
page fits a 390 px wide screen."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.support import log_in

PERSON = "sofia.rossi@northwind.example"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1")


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_ending_the_phones_session_from_the_laptop(new_page):
    laptop = new_page()
    phone = new_page(viewport={"width": 390, "height": 844}, user_agent=IPHONE,
                     is_mobile=True, has_touch=True, device_scale_factor=2)
    log_in(laptop, PERSON)
    log_in(phone, PERSON)

    phone.goto("/account/sessions")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your sessions")
    current = phone.locator('[data-session-current="yes"]')
    expect(current).to_contain_text("Safari on iOS")
    expect(current).to_contain_text("This browser")
    assert _fits(phone), "the sessions page scrolls sideways at 390 px"

    laptop.get_by_role("link", name="Sessions").click()
    expect(laptop).to_have_url(re.compile(r"/account/sessions$"))
    expect(laptop.locator('[data-session-current="yes"]')).to_contain_text("Chrome on Linux")
    phone_card = laptop.locator('[data-session-current="no"]', has_text="Safari on iOS")
    expect(phone_card).to_have_count(1)
    phone_card.get_by_role("button", name=re.compile("^End this session")).click()
    expect(laptop.locator(".flash-success")).to_contain_text("That session has ended")
    expect(laptop.locator('[data-session-current="no"]', has_text="Safari on iOS")) \
        .to_have_count(0)

    phone.goto("/learning")
    expect(phone).to_have_url(re.compile(r"/login"))  # signed out on the phone
    laptop.goto("/learning")
    expect(laptop).to_have_url(re.compile(r"/learning$"))  # still signed in here
