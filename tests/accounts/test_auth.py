"""Sign-in, throttling, invitations and password resets, through the web pages."""

import re
from datetime import timedelta

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
