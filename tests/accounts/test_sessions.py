"""Sessions recorded on the server: sign-out ends every copy of the cookie, people see and
end their sessions, password/role/deactivation end them all, idle and absolute timeouts,
"last seen" written at most once a minute, and the public API stays session-free."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from lms.accounts import service as accounts
from lms.accounts import sessions
from lms.accounts.models import UserSession
from lms.core import clock
from lms.extensions import db
from tests.factories import PASSWORD, login, make_organisation, make_user

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
                "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1")


def sign_in(app, user, user_agent=FIREFOX, address="198.51.100.7"):
    """A fresh browser signed in through the real sign-in page."""
    browser = app.test_client()
    response = browser.post("/login", data={"email": user.email, "password": PASSWORD},
                            headers={"User-Agent": user_agent},
                            environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 302
    return browser


def copy_of(app, browser):
    """Another client holding a copy of `browser`'s session cookie."""
    thief = app.test_client()
    cookie = browser.get_cookie("session")
    thief.set_cookie("session", cookie.value)
    return thief


def signed_in(browser) -> bool:
    return browser.get("/learning").status_code == 200


def session_count(user) -> int:
    return db.session.scalar(select(func.count()).select_from(UserSession)
                             .where(UserSession.user_id == user.id))


@pytest.fixture
def ana(client, frozen_clock):
    return make_user(make_organisation(), email="ana@example.com", password=PASSWORD,
                     full_name="Ana Silva")


def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(client, app, ana):
    browser = sign_in(app, ana)
    thief = copy_of(app, browser)
    assert signed_in(browser) and signed_in(thief)
    assert browser.post("/logout").status_code == 302
    assert not signed_in(thief)  # the copy is dead too
    assert not signed_in(browser)
    assert session_count(ana) == 0


def test_only_a_hash_of_the_cookie_secret_is_stored(client, app, ana):
    browser = sign_in(app, ana)
    with browser.session_transaction() as cookie:
        secret = cookie["_user_id"]
    assert secret != str(ana.id) and len(secret) >= 40
    [row] = db.session.scalars(select(UserSession).where(UserSession.user_id == ana.id))
    assert row.id != secret and secret not in (row.id, row.user_agent, row.ip_address)
    assert (row.user_agent, row.ip_address) == ("Firefox on Windows", "198.51.100.7")


def test_a_cookie_naming_only_a_user_id_signs_nobody_in(client, ana):
    with client.session_transaction() as cookie:
        cookie["_user_id"] = str(ana.id)  # what Flask-Login stored before sessions were kept
    assert client.get("/learning").status_code == 302


def test_a_person_sees_their_sessions_and_ends_another_one(client, app, ana):
    laptop = sign_in(app, ana)
    phone = sign_in(app, ana, user_agent=SAFARI_PHONE, address="203.0.113.4")
    someone_else = make_user(make_organisation(), password=PASSWORD, email="bo@example.com")
    theirs = sign_in(app, someone_else)

    page = unescape(laptop.get("/account/sessions").get_data(as_text=True))
    assert page.count('data-session-current="yes"') == 1
    assert page.count('data-session-current="no"') == 1
    assert "Firefox on Windows" in page and "Safari on iOS" in page
    assert "203.0.113.4" in page and "This browser" in page
    assert 'href="/account/sessions"' in page  # reachable from the header

    phone_id = db.session.scalar(select(UserSession.id).where(
        UserSession.user_id == ana.id, UserSession.user_agent == "Safari on iOS"))
    # Nobody can end another person's session, even knowing its id.
    theirs_response = theirs.post("/account/sessions/end", data={"session_id": phone_id})
    assert theirs_response.status_code == 404 and signed_in(phone)

    ended = laptop.post("/account/sessions/end", data={"session_id": phone_id})
    assert ended.status_code == 303
    assert not signed_in(phone) and signed_in(laptop) and signed_in(theirs)
    assert "Safari on iOS" not in laptop.get("/account/sessions").get_data(as_text=True)


def test_sign_out_everywhere_else_keeps_only_this_browser(client, app, ana):
    laptop, phone, tablet = sign_in(app, ana), sign_in(app, ana), sign_in(app, ana)
    response = laptop.post("/account/sessions/end-others")
    assert response.status_code == 303
    assert signed_in(laptop) and not signed_in(phone) and not signed_in(tablet)
    assert session_count(ana) == 1


def test_ending_the_current_session_from_the_page_signs_out(client, app, ana):
    laptop = sign_in(app, ana)
    current = db.session.scalar(select(UserSession.id).where(UserSession.user_id == ana.id))
    response = laptop.post("/account/sessions/end", data={"session_id": current})
    assert response.status_code == 303 and response.headers["Location"].endswith("/login")
    assert not signed_in(laptop)


@pytest.mark.parametrize("change", ["password", "reset", "deactivate", "role", "partner"])
def test_password_change_deactivation_and_role_loss_end_every_session(client, app, ana,
                                                                      change):
    admin = make_user(role="vendor_admin")
    laptop, phone = sign_in(app, ana), sign_in(app, ana)
    if change == "password":
        accounts.set_password(ana.id, "another-long-password")
    elif change == "reset":
        accounts.request_password_reset(ana.email, ip_address="198.51.100.7")
        from tests.accounts.test_auth import _last_link

        link = _last_link(ana.email, "password/reset")
        accounts.reset_password(link.rsplit("/", 1)[1], "another-long-password")
    elif change == "deactivate":
        accounts.set_active(ana.id, False, actor=admin)
        accounts.set_active(ana.id, True, actor=admin)  # coming back does not revive them
    elif change == "role":
        accounts.update_user(ana.id, role="partner_admin", actor=admin)
    else:
        accounts.update_user(ana.id, organisation_id=make_organisation().id, actor=admin)
    assert not signed_in(laptop) and not signed_in(phone)
    assert session_count(ana) == 0


def test_other_changes_keep_sessions(client, app, ana):
    laptop = sign_in(app, ana)
    accounts.update_user(ana.id, full_name="Ana Souza", job_role="presales")
    assert signed_in(laptop)


def test_a_session_ends_after_the_idle_timeout(client, app, ana, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 30)
    monkeypatch.setitem(app.config, "SESSION_MAX_HOURS", 8)
    browser = sign_in(app, ana)
    for _ in range(3):  # used every 29 minutes: it lives on past the idle limit
        clock.advance(timedelta(minutes=29))
        assert signed_in(browser)
    clock.advance(timedelta(minutes=31))
    assert not signed_in(browser)
    # A timed-out session is not listed, and the next sign-in prunes its row.
    sign_in(app, ana)
    assert session_count(ana) == 1


def test_a_session_ends_after_the_absolute_timeout_however_busy(client, app, ana,
                                                                monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 30)
    monkeypatch.setitem(app.config, "SESSION_MAX_HOURS", 2)
    browser = sign_in(app, ana)
    for _ in range(5):  # busy every 20 minutes: 100 minutes in
        clock.advance(timedelta(minutes=20))
        assert signed_in(browser)
    clock.advance(timedelta(minutes=21))  # 121 minutes after sign-in
    assert not signed_in(browser)


def test_last_seen_is_written_at_most_once_a_minute(client, ana, count_queries):
    login(client, ana)
    [row] = db.session.scalars(select(UserSession).where(UserSession.user_id == ana.id))
    signed_at = row.last_seen_at

    def writes(pages: int) -> int:
        with count_queries() as counter:
            for _ in range(pages):
                assert client.get("/learning").status_code == 200
        return sum(1 for s in counter.statements
                   if s.lstrip().upper().startswith("UPDATE") and "user_session" in s)

    assert writes(5) == 0  # within the first minute: reads only
    clock.advance(timedelta(seconds=61))
    assert writes(5) == 1
    db.session.refresh(row)
    assert row.last_seen_at == clock.now() and row.last_seen_at > signed_at


def test_the_public_api_never_reads_a_session(client, ana, count_queries):
    login(client, ana)
    with count_queries() as counter:
        response = client.get("/api/v1/certificates/7K3M-9QPX-2B4D-ABCD")
    assert response.status_code in (404, 422)
    assert "Set-Cookie" not in response.headers
    assert not any("user_session" in s or "user_account" in s for s in counter.statements)


def test_the_sessions_page_needs_a_sign_in(client):
    response = client.get("/account/sessions")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/account/sessions/end-others").status_code == 302


def test_a_malformed_end_request_is_refused_without_ending_anything(client, app, ana):
    laptop = sign_in(app, ana)
    response = laptop.post("/account/sessions/end", data={"session_id": "x"})
    assert response.status_code == 303
    assert signed_in(laptop) and session_count(ana) == 1


@pytest.mark.parametrize(("agent", "summary"), [
    (FIREFOX, "Firefox on Windows"),
    (SAFARI_PHONE, "Safari on iOS"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86", "Edge on macOS"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome on Android"),
    ("curl/8.5.0", "curl"),
    ("", "Unknown browser"),
])
def test_user_agents_are_summarised(agent, summary):
    assert sessions.describe_user_agent(agent) == summary


def test_the_sessions_page_has_one_form_per_session_with_a_label(client, app, ana):
    laptop = sign_in(app, ana)
    sign_in(app, ana, user_agent=SAFARI_PHONE)
    page = laptop.get("/account/sessions").get_data(as_text=True)
    assert len(re.findall(r'<form method="post" action="/account/sessions/end">', page)) == 2
    assert "Sign out everywhere else" in page


def test_the_periodic_job_forgets_timed_out_sessions(client, app, ana, monkeypatch):
    from lms.schedule import PERIODIC_JOBS

    assert ("forget sessions that timed out", sessions.prune_expired) in PERIODIC_JOBS
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 30)
    monkeypatch.setitem(app.config, "SESSION_MAX_HOURS", 8)
    stale = sign_in(app, ana)
    clock.advance(timedelta(minutes=20))
    fresh = sign_in(app, ana)
    clock.advance(timedelta(minutes=15))  # stale: 35 minutes idle; fresh: 15
    assert sessions.prune_expired() == 1
    assert session_count(ana) == 1 and signed_in(fresh) and not signed_in(stale)
