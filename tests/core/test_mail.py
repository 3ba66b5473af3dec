"""The outbox: every message recorded; SMTP failures never break the action that mailed."""



from sqlalchemy import select

from lms.accounts import service as accounts
from lms.core.mail import OutboxMessage, deliver_pending, redact
from lms.extensions import db
from tests.factories import login, make_organisation, make_user


def test_a_mail_server_that_is_down_does_not_fail_the_invitation(client, app):
    organisation = make_organisation()
    admin = make_user(organisation, role="partner_admin")
    login(client, admin)
    app.config["SMTP_URL"] = "smtp://127.0.0.1:1"  # nothing listens there
    try:
        response = client.post(f"/organisations/{organisation.id}/staff/invite", data={
            "full_name": "Nina New", "email": "nina@example.com", "job_role": "sales",
            "role": "learner"})
    finally:
        app.config["SMTP_URL"] = None
    assert response.status_code == 302
    assert accounts.get_user_by_email("nina@example.com") is not None
    message = db.session.scalar(select(OutboxMessage))
    assert message.sent_at is None and "SMTP unavailable" in message.last_error


def test_sign_in_links_are_redacted_once_sent():
    body = "Choose your password: http://lms.test/invitations/" + "a" * 43 + "\n"
    assert redact(body) == ("Choose your password: http://lms.test/invitations/"
                            "[link removed after sending]\n")


def test_messages_go_out_over_smtp_and_keep_no_secret(app, smtp_server):
    url, received = smtp_server
    organisation = make_organisation()
    admin = make_user(organisation, role="partner_admin")
    _, secret = accounts.invite_user(organisation_id=organisation.id, email="x@example.com",
                                     full_name="X", job_role="sales", invited_by=admin)
    app.config["SMTP_URL"] = url
    try:
        assert deliver_pending() == 1
    finally:
        app.config["SMTP_URL"] = None
    assert len(received) == 1 and secret in received[0].content.decode()
    message = db.session.scalar(select(OutboxMessage))
    assert message.sent_at is not None and secret not in message.body_text


