"""The outbox: every message recorded; SMTP failures never break the action that mailed."""



from sqlalchemy import delete, select

from lms.accounts import service as accounts
from lms.core import mail, tallies
from lms.core.mail import OUTBOX_TALLIES, OutboxMessage, deliver_pending, redact
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




def _kept() -> dict:
    return {(template, status): messages for status, name in OUTBOX_TALLIES.items()
            for template, messages in tallies.counts(name).items() if messages}


def _counted() -> dict:
    counts: dict = {}
    for message in db.session.scalars(select(OutboxMessage)):
        key = (message.template, mail.status_of(message))
        counts[key] = counts.get(key, 0) + 1
    return counts


def test_the_outbox_tallies_match_a_recount_after_every_kind_of_write(app, smtp_server):
    """Recording, a delivery that fails (mail server down), one that succeeds: the counts
    the outbox page shows stay those of the messages, and a recount rebuilds the same."""
    url, _received = smtp_server
    person = make_user(make_organisation())
    words = {"user": person, "inviter": person, "team": "Team", "link": "http://lms.test/x"}
    for n in range(3):
        mail.send(f"p{n}@example.com", "Hello", "invitation" if n else "password_reset",
                  **words)
    assert _kept() == _counted() == {("invitation", "queued"): 2,
                                     ("password_reset", "queued"): 1}
    app.config["SMTP_URL"] = "smtp://127.0.0.1:1"  # nothing listens there
    try:
        assert deliver_pending() == 0
    finally:
        app.config["SMTP_URL"] = None
    assert _kept() == _counted() == {("invitation", "failed"): 2,
                                     ("password_reset", "failed"): 1}
    mail.send("late@example.com", "Hello", "invitation", **words)
    app.config["SMTP_URL"] = url
    try:
        assert deliver_pending(limit=2) == 2  # two of four: the rest wait
        assert _kept() == _counted()
        assert deliver_pending() == 2
    finally:
        app.config["SMTP_URL"] = None
    assert _kept() == _counted() == {("invitation", "sent"): 3, ("password_reset", "sent"): 1}
    assert tallies.differences(OUTBOX_TALLIES.values()) == {}
    total = tallies.summed(OUTBOX_TALLIES.values())
    db.session.execute(delete(tallies.Tally).where(tallies.Tally.name.in_(
        list(OUTBOX_TALLIES.values()))))  # as after a bulk load
    result = app.test_cli_runner().invoke(args=["tallies", "rebuild", *OUTBOX_TALLIES.values()])
    assert result.exit_code == 0, result.output
    assert _kept() == _counted() and total == 4
