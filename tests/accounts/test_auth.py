"""Sign-in, throttling, invitations and password resets, through the web pages."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.accounts import service as accounts
from lms.accounts.models import Invitation, LoginAttempt, PasswordReset, User
from lms.core import clock
from lms.core.mail import OutboxMessage
from lms.extensions import db
from tests.factories import PASSWORD, login, make_organisation, make_user


def _sign_in(client, email, password):
    return client.post("/login", data={"email": email, "password": password})


def _last_link(address: str, kind: str) -> str:
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == address)
                                 .order_by(OutboxMessage.id.desc())).first()
    return re.search(rf"http://lms\.test(/{kind}/\S+)", message.body_text)[1]


def test_sign_in_lands_a_learner_on_my_learning(client):
    learner = make_user(make_organisation(), email="Ana@Example.com", password=PASSWORD)
    response = _sign_in(client, "  ana@EXAMPLE.com ", PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/")
    assert client.get("/", follow_redirects=True).request.path == "/learning"
    assert db.session.get(User, learner.id).last_login_at is not None


def test_wrong_password_rerenders_with_the_email_and_a_message(client):
    make_user(make_organisation(), email="ana@example.com", password=PASSWORD)
    response = _sign_in(client, "ana@example.com", "wrong-password")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "do not match an account" in page
    assert 'value="ana@example.com"' in page


def test_sign_in_is_throttled_after_repeated_failures(client, app):
    make_user(make_organisation(), email="ana@example.com", password=PASSWORD)
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        assert _sign_in(client, "ana@example.com", "nope-nope-nope").status_code == 422
    # Even the right password is refused while the window lasts...
    response = _sign_in(client, "ana@example.com", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.get_data(as_text=True)
    # ...and works again once it has passed.
    clock.set_now(clock.now() + timedelta(minutes=app.config["LOGIN_FAILURE_WINDOW_MINUTES"] + 1))
    assert _sign_in(client, "ana@example.com", PASSWORD).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == limit + 1


def test_deactivated_person_cannot_sign_in_and_loses_their_session(client):
    admin = make_user(role="vendor_admin")
    learner = make_user(make_organisation(), email="ana@example.com", password=PASSWORD)
    login(client, learner)
    accounts.set_active(learner.id, False, actor=admin)
    # The open session stops working at once.
    assert client.get("/learning").status_code == 302
    response = _sign_in(client, "ana@example.com", PASSWORD)
    assert response.status_code == 403
    assert "deactivated" in response.get_data(as_text=True)


def test_duplicate_email_is_refused_case_insensitively():
    organisation = make_organisation()
    make_user(organisation, email="ana@example.com")
    before = db.session.scalar(select(func.count()).select_from(User))
    try:
        make_user(organisation, email="ANA@Example.COM")
    except accounts.Conflict as error:
        assert error.field == "email"
    else:
        raise AssertionError("a second account with the same email was created")
    assert db.session.scalar(select(func.count()).select_from(User)) == before


def test_invitation_sets_a_password_once_and_expires(client):
    organisation = make_organisation()
    admin = make_user(organisation, role="partner_admin")
    user, _ = accounts.invite_user(organisation_id=organisation.id, email="new@example.com",
                                   full_name="New Person", job_role="technical",
                                   invited_by=admin)
    link = _last_link("new@example.com", "invitations")
    page = client.get(link)
    assert page.status_code == 200
    assert "Welcome, New Person" in page.get_data(as_text=True)

    # A mismatch re-renders with a message and changes nothing.
    response = client.post(link, data={"password": "long-enough-pw", "confirm": "different-pw1"})
    assert response.status_code == 200
    assert "The two passwords differ." in response.get_data(as_text=True)
    assert db.session.get(User, user.id).password_hash is None

    response = client.post(link, data={"password": "long-enough-pw", "confirm": "long-enough-pw"})
    assert response.status_code == 302
    assert db.session.get(User, user.id).has_password

    reused = client.get(link)
    assert reused.status_code == 409
    assert "already been used" in reused.get_data(as_text=True)


def test_expired_invitation_says_so(client):
    organisation = make_organisation()
    admin = make_user(organisation, role="partner_admin")
    accounts.invite_user(organisation_id=organisation.id, email="late@example.com",
                         full_name="Late Person", job_role="sales", invited_by=admin)
    link = _last_link("late@example.com", "invitations")
    clock.set_now(clock.now() + timedelta(days=15))
    response = client.post(link, data={"password": "long-enough-pw", "confirm": "long-enough-pw"})
    assert response.status_code == 422
    assert "expired" in response.get_data(as_text=True)
    assert accounts.get_user_by_email("late@example.com").password_hash is None


def test_unknown_invitation_token_is_not_found(client):
    assert client.get("/invitations/not-a-token").status_code == 404


def test_password_reset_is_single_use_and_expires(client):
    make_user(make_organisation(), email="ana@example.com", password=PASSWORD)
    response = client.post("/password/forgot", data={"email": "ana@example.com"})
    assert response.status_code == 302
    link = _last_link("ana@example.com", "password/reset")
    # Only the hash is stored: the link's secret is nowhere in the database.
    secret = link.rsplit("/", 1)[1]
    assert db.session.scalar(select(PasswordReset.token_hash)) != secret

    response = client.post(link, data={"password": "a-new-password", "confirm": "a-new-password"})
    assert response.status_code == 302
    assert _sign_in(client, "ana@example.com", "a-new-password").status_code == 302
    assert client.get(link).status_code == 409  # reused

    client.post("/logout")
    client.post("/password/forgot", data={"email": "ana@example.com"})
    second = _last_link("ana@example.com", "password/reset")
    clock.set_now(clock.now() + timedelta(minutes=61))
    response = client.post(second, data={"password": "other-password", "confirm": "other-password"})
    assert response.status_code == 422
    assert "expired" in response.get_data(as_text=True)


def test_forgot_password_does_not_reveal_whether_an_account_exists(client):
    known = client.post("/password/forgot", data={"email": "nobody@example.com"})
    assert known.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_invitation_records_only_a_token_hash():
    organisation = make_organisation()
    admin = make_user(organisation, role="partner_admin")
    _, secret = accounts.invite_user(organisation_id=organisation.id, email="x@example.com",
                                     full_name="X", job_role="sales", invited_by=admin)
    stored = db.session.scalar(select(Invitation.token_hash))
    assert secret not in stored and len(stored) == 64


def test_short_password_is_refused_next_to_the_field(client):
    organisation = make_organisation()
    admin = make_user(organisation, role="partner_admin")
    accounts.invite_user(organisation_id=organisation.id, email="s@example.com",
                         full_name="S", job_role="sales", invited_by=admin)
    link = _last_link("s@example.com", "invitations")
    response = client.post(link, data={"password": "short", "confirm": "short"})
    assert "Use at least 10 characters." in response.get_data(as_text=True)


def test_sign_in_returns_only_to_local_pages(client):
    make_user(make_organisation(), email="ana@example.com", password=PASSWORD)
    for target, expected in [("/tracks/x", "/tracks/x"), ("//evil.example/", "/"),
                             ("/\t/evil.example/", "/"), ("/\\evil.example", "/"),
                             ("https://evil.example/", "/"), ("javascript:alert(1)", "/")]:
        client.post("/logout")
        response = client.post(f"/login?next={target}",
                               data={"email": "ana@example.com", "password": PASSWORD})
        assert response.headers["Location"] == expected, target


# --- rate limits, Retry-After, links of deactivated people --------------------------------

def _forgot(client, email, address="198.51.100.7"):
    return client.post("/password/forgot", data={"email": email},
                       environ_base={"REMOTE_ADDR": address})


def _mails_to(address: str) -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.to_address == address))


def test_forgot_password_is_limited_per_email_and_says_when_to_come_back(client, app,
                                                                        frozen_clock):
    make_user(make_organisation(), email="ana@example.com", password=PASSWORD)
    limit = app.config["PASSWORD_RESET_MAX_REQUESTS"]
    answers = [_forgot(client, "ana@example.com", address=f"198.51.100.{n}")
               for n in range(15)]  # from many addresses: the email's own limit holds
    assert [a.status_code for a in answers] == [302] * limit + [429] * (15 - limit)
    assert _mails_to("ana@example.com") == limit
    refused = answers[-1]
    window = app.config["LOGIN_FAILURE_WINDOW_MINUTES"] * 60
    assert 0 < int(refused.headers["Retry-After"]) <= window + 1
    assert "Too many password reset requests" in refused.get_data(as_text=True)
    assert 'value="ana@example.com"' in refused.get_data(as_text=True)  # form kept as typed
    # After the window, requests are accepted again.
    clock.advance(timedelta(seconds=int(refused.headers["Retry-After"])))
    assert _forgot(client, "ana@example.com").status_code == 302
    assert _mails_to("ana@example.com") == limit + 1


def test_forgot_password_answers_alike_for_known_and_unknown_addresses(client, app,
                                                                      frozen_clock):
    make_user(make_organisation(), email="ana@example.com", password=PASSWORD)
    limit = app.config["PASSWORD_RESET_MAX_REQUESTS"]
    for email in ("ana@example.com", "nobody@example.com"):
        answers = [_forgot(client, email, address=f"203.0.113.{n}") for n in range(limit + 1)]
        assert [a.status_code for a in answers] == [302] * limit + [429], email
        flash = client.get("/login").get_data(as_text=True)
        assert "Too many" not in flash
    known = _forgot(client, "ana@example.com").get_data(as_text=True)
    unknown = _forgot(client, "nobody@example.com").get_data(as_text=True)
    assert known.replace("ana@example.com", "EMAIL") == \
        unknown.replace("nobody@example.com", "EMAIL")


def test_forgot_password_is_limited_per_client_address(client, app, frozen_clock):
    limit = app.config["PASSWORD_RESET_MAX_REQUESTS"]
    answers = [_forgot(client, f"person{n}@example.com") for n in range(4 * limit + 1)]
    assert [a.status_code for a in answers] == [302] * (4 * limit) + [429]
    assert "Retry-After" in answers[-1].headers
    # Another address is not held back.
    assert _forgot(client, "someone@example.com", address="192.0.2.1").status_code == 302


def test_a_throttled_sign_in_says_when_to_come_back(client, app, frozen_clock):
    make_user(make_organisation(), email="ana@example.com", password=PASSWORD)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        _sign_in(client, "ana@example.com", "nope-nope-nope")
        clock.advance(timedelta(minutes=1))
    refused = _sign_in(client, "ana@example.com", PASSWORD)
    assert refused.status_code == 429
    # The first failure leaves the 15-minute window 11 minutes from now.
    window = app.config["LOGIN_FAILURE_WINDOW_MINUTES"]
    assert int(refused.headers["Retry-After"]) == (window - app.config["LOGIN_MAX_FAILURES"]) \
        * 60 + 1
    assert f"Try again in {window - app.config['LOGIN_MAX_FAILURES']} minutes" in \
        refused.get_data(as_text=True)
    as_json = client.post("/login", data={"email": "ana@example.com", "password": PASSWORD},
                          headers={"Accept": "application/json"})
    assert as_json.status_code == 429 and "Retry-After" in as_json.headers


def test_every_429_must_say_when_to_come_back(app):
    """TooManyRequests cannot be made without Retry-After, and the one error handler sends it
    (for pages and JSON alike)."""
    from lms.core.errors import TooManyRequests

    with pytest.raises(TypeError):
        TooManyRequests("Slow down.")
    error = TooManyRequests("Slow down.", retry_after=42)
    assert error.headers == {"Retry-After": "42"}

    def answer(accept: str):
        with app.test_request_context("/anywhere", headers={"Accept": accept}):
            return app.make_response(app.handle_user_exception(error))

    page, data = answer("text/html"), answer("application/json")
    assert (page.status_code, page.headers["Retry-After"]) == (429, "42")
    assert (data.status_code, data.headers["Retry-After"]) == (429, "42")
    assert data.json["retry_after"] == 42


def test_a_reset_link_requested_before_deactivation_never_works_after(client, frozen_clock):
    admin = make_user(role="vendor_admin")
    ana = make_user(make_organisation(), email="ana@example.com", password=PASSWORD)
    _forgot(client, "ana@example.com")
    link = _last_link("ana@example.com", "password/reset")
    accounts.set_active(ana.id, False, actor=admin)
    form = {"password": "taken-over-pw", "confirm": "taken-over-pw"}
    assert client.post(link, data=form).status_code in (403, 409)
    accounts.set_active(ana.id, True, actor=admin)  # reactivated: the old link stays dead
    assert client.post(link, data=form).status_code == 409
    assert _sign_in(client, "ana@example.com", PASSWORD).status_code == 302


def test_an_invitation_for_a_deactivated_person_never_works(client, frozen_clock):
    organisation = make_organisation()
    partner_admin = make_user(organisation, role="partner_admin")
    admin = make_user(role="vendor_admin")
    invited, _ = accounts.invite_user(organisation_id=organisation.id, email="new@example.com",
                                      full_name="New Person", job_role="sales",
                                      invited_by=partner_admin)
    link = _last_link("new@example.com", "invitations")
    accounts.set_active(invited.id, False, actor=admin)
    form = {"password": "long-enough-pw", "confirm": "long-enough-pw"}
    assert client.post(link, data=form).status_code in (403, 404)
    accounts.set_active(invited.id, True, actor=admin)
    assert client.post(link, data=form).status_code == 404
    assert db.session.get(User, invited.id).password_hash is None
