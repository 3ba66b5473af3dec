"""The clock walked through a certificate's life: statuses, reminders over real SMTP (aiosmtpd
on 127.0.0.1), renewal early and in grace, a lapse, and the weekly digest to partner admins.

A Technical Associate certificate earned at the frozen moment (2 Mar 2026, 09:00 UTC) runs
24 months: its window opens 90 days before expiry (3 Dec 2027), it expires on 2 Mar 2028
and can be renewed in grace until 1 Apr 2028. Reminders: 90, 30 and 7 days before, and on expiry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select

from lms.assessments.service import start_attempt, submit
from lms.certifications import lifecycle, public_id, reminders, service, verification
from lms.certifications.models import Certificate, CertificateNotice, ExpiryDigest
from lms.certifications.reminders import send_due_reminders, send_weekly_digests
from lms.core import clock, mail
from lms.core.mail import OutboxMessage
from lms.extensions import db
from lms.schedule import PERIODIC_JOBS, run_periodic_jobs
from tests.certifications.test_issuing import (
    RENEWAL,
    TA_NAME,
    certificates,
    insert_completion,
    insert_pass,
    learner,
    pass_exam,
)
from tests.factories import make_organisation, make_user

EXPIRES = datetime(2028, 3, 2, 9, 0, tzinfo=UTC)
GRACE_ENDS = datetime(2028, 4, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass
class Received:
    to: list[str]
    subject: str
    body: str


@pytest.fixture
def smtp(app, smtp_server):
    """The real SMTP server (see tests/conftest.py), which the app sends to for this test."""
    url, envelopes = smtp_server
    app.config["SMTP_URL"] = url
    try:
        yield envelopes
    finally:
        app.config["SMTP_URL"] = None


def _read(envelope) -> Received:
    message = message_from_bytes(envelope.content, policy=policy.default)
    # Whitespace collapsed: a long subject comes back folded (RFC 5322).
    subject = " ".join(str(message["Subject"]).split())
    body = message.get_content().replace("\r\n", "\n")
    return Received(list(envelope.rcpt_tos), subject, body)


def at(moment: datetime) -> tuple[int, int, int]:
    """Move the clock to `moment` and run the reminder job twice, then deliver the mail.

    Returns (sent by the first run, sent by the second run, delivered over SMTP).
    """
    clock.set_now(moment)
    first = send_due_reminders()
    second = send_due_reminders()
    return first, second, mail.deliver_pending()


def headline(certificate: Certificate) -> str:
    return verification.statement(certificate).headline


def take(envelopes: list) -> list[Received]:
    """What arrived since the last look."""
    arrived = [_read(envelope) for envelope in envelopes]
    envelopes.clear()
    return arrived


def certified(received, **fields):
    user = learner(**fields)
    pass_exam(user)
    [certificate] = certificates(user.id)
    assert mail.deliver_pending() == 1
    [issued] = take(received)
    assert (issued.to, issued.subject) == ([user.email], f"You are certified: {TA_NAME}")
    return user, certificate


def milestones(certificate: Certificate) -> list[tuple[str, bool]]:
    return list(db.session.execute(select(CertificateNotice.milestone, CertificateNotice.skipped)
                                   .where(CertificateNotice.certificate_id == certificate.id)
                                   .order_by(CertificateNotice.id)).tuples())


def test_the_clock_walk_sends_each_milestone_exactly_once(smtp, frozen_clock):
    user, certificate = certified(smtp, full_name="Ada Byron")
    assert certificate.expires_at == EXPIRES
    display = public_id.display(certificate.public_id)

    # Before the first milestone: nothing.
    assert at(EXPIRES - 91 * DAY) == (0, 0, 0)
    assert lifecycle.status(certificate, clock.now()) == "active"
    assert headline(certificate) == "Valid until 2 March 2028"

    # 90 days before: the renewal window opens and the first reminder goes out, once.
    assert at(EXPIRES - 90 * DAY) == (1, 0, 1)
    assert lifecycle.status(certificate, clock.now()) == "expiring"
    assert headline(certificate) == "Valid, expiring on 2 March 2028"
    [reminder] = take(smtp)
    assert reminder.to == [user.email]
    assert reminder.subject == f"{TA_NAME} expires on 2 Mar 2028 — time to renew"
    assert "Your Kestrel Certified Technical Associate certificate expires on 2 Mar 2028 " \
           "(in 90 days)." in reminder.body
    assert "Its renewal window is open." in reminder.body
    assert "- Pass the Kestrel Technical Associate renewal exam — not attempted yet; " \
           "needs 70%" in reminder.body
    assert "http://lms.test/certifications" in reminder.body
    assert f"http://lms.test/verify/{display}" in reminder.body
    assert at(EXPIRES - 60 * DAY) == (0, 0, 0)

    for days, label in ((30, "in 30 days"), (7, "in 7 days")):
        assert at(EXPIRES - days * DAY) == (1, 0, 1)
        [reminder] = take(smtp)
        assert reminder.to == [user.email]
        assert reminder.subject == f"{TA_NAME} expires on 2 Mar 2028 — time to renew"
        assert f"(in {days} days)" in reminder.body, label
        assert lifecycle.status(certificate, clock.now()) == "expiring"

    # On expiry: expired, renewable in grace, and told so once.
    assert at(EXPIRES) == (1, 0, 1)
    assert lifecycle.status(certificate, clock.now()) == "expired"
    assert headline(certificate) == "Expired on 2 March 2028"
    assert verification.statement(certificate).renewable_until == GRACE_ENDS.date()
    [expired] = take(smtp)
    assert expired.to == [user.email]
    assert expired.subject == f"Expired: {TA_NAME} — renew by 1 Apr 2028"
    assert "You can still renew it until 1 Apr 2028." in expired.body
    assert "- Pass the Kestrel Technical Associate renewal exam" in expired.body

    # Inside grace and after it: nothing more.
    assert at(EXPIRES + 10 * DAY) == (0, 0, 0)
    assert lifecycle.renewable(certificate, clock.now())
    assert at(GRACE_ENDS + DAY) == (0, 0, 0)
    assert lifecycle.lapsed(certificate, clock.now())
    assert headline(certificate) == "Expired on 2 March 2028"
    assert verification.statement(certificate).renewable_until is None

    assert milestones(certificate) == [("issued", False), ("expiry-90", False),
                                       ("expiry-30", False), ("expiry-7", False),
                                       ("expired", False)]
    assert [e.detail for e in certificate.events if e.kind == "notice"][1:] == [
        f"expiry-90: {TA_NAME} expires on 2 Mar 2028 — time to renew",
        f"expiry-30: {TA_NAME} expires on 2 Mar 2028 — time to renew",
        f"expiry-7: {TA_NAME} expires on 2 Mar 2028 — time to renew",
        f"expired: Expired: {TA_NAME} — renew by 1 Apr 2028"]
    assert take(smtp) == []


def test_renewing_inside_the_window_keeps_the_remaining_time(smtp, frozen_clock):
    user, old = certified(smtp)
    assert at(EXPIRES - 90 * DAY)[0] == 1
    assert at(EXPIRES - 30 * DAY)[0] == 1
    take(smtp)

    clock.set_now(EXPIRES - 20 * DAY)
    pass_exam(user, RENEWAL)  # the event renews at once
    [_, renewal] = certificates(user.id)
    assert (renewal.cycle, renewal.renewal_of_id) == (2, old.id)
    assert renewal.issued_at == clock.now()
    assert renewal.expires_at == datetime(2030, 3, 2, 9, 0, tzinfo=UTC)  # old expiry + 24m
    assert old.superseded_at == clock.now()
    assert lifecycle.status(old, clock.now()) == "superseded"
    assert lifecycle.status(renewal, clock.now()) == "active"
    statement = verification.statement(old)
    assert statement.status == "superseded" and not statement.valid
    assert statement.superseded_by == public_id.display(renewal.public_id)
    assert statement.headline.startswith("Superseded by")
    assert statement.as_json()["superseded_by"]["url"] == \
        f"http://lms.test/verify/{public_id.display(renewal.public_id)}"
    assert {"kind": "renewal_of", "public_id": old.public_id,
            "expires_at": EXPIRES.isoformat()} in renewal.evidence
    assert [(e.kind, e.detail) for e in old.events if e.kind == "superseded"] == [
        ("superseded", f"renewed as {public_id.display(renewal.public_id)}")]
    assert mail.deliver_pending() == 1
    [renewed] = take(smtp)
    assert (renewed.to, renewed.subject) == ([user.email], f"Renewed: {TA_NAME}")
    assert "valid until 2 Mar 2030" in renewed.body

    # The old certificate's remaining milestones never go out.
    for moment in (EXPIRES - 7 * DAY, EXPIRES, EXPIRES + 10 * DAY):
        assert at(moment) == (0, 0, 0)
    assert take(smtp) == []
    assert [m for m, _ in milestones(old)] == ["issued", "expiry-90", "expiry-30"]
    # The renewal's own first reminder comes 90 days before its own expiry.
    assert at(renewal.expires_at - 91 * DAY) == (0, 0, 0)
    assert at(renewal.expires_at - 90 * DAY) == (1, 0, 1)
    [reminder] = take(smtp)
    assert reminder.subject == f"{TA_NAME} expires on 2 Mar 2030 — time to renew"


def test_renewing_in_grace_runs_from_the_renewal_day(smtp, frozen_clock):
    user, old = certified(smtp)
    assert at(EXPIRES)[0] == 1  # the earlier milestones are passed over (see below)
    [expired] = take(smtp)
    assert expired.subject == f"Expired: {TA_NAME} — renew by 1 Apr 2028"

    clock.set_now(EXPIRES + 10 * DAY)
    assert service.award_due(user.id) == []  # nothing passed yet
    pass_exam(user, RENEWAL)
    [_, renewal] = certificates(user.id)
    assert renewal.renewal_of_id == old.id
    assert renewal.issued_at == clock.now()
    assert renewal.expires_at == datetime(2030, 3, 12, 9, 0, tzinfo=UTC)  # from today
    assert lifecycle.status(old, clock.now()) == "superseded"
    assert verification.statement(old).superseded_by == public_id.display(renewal.public_id)
    assert at(EXPIRES + 20 * DAY) == (0, 0, 1)  # only the renewal notice is delivered
    assert [m.subject for m in take(smtp)] == [f"Renewed: {TA_NAME}"]


def test_after_the_grace_period_the_certification_lapses(smtp, frozen_clock):
    user, old = certified(smtp)
    assert at(GRACE_ENDS) == (0, 0, 0)  # too late even for the expiry notice
    assert lifecycle.lapsed(old, clock.now())
    insert_pass(user.id, RENEWAL)  # a renewal pass after the lapse (the exam is closed now)
    service.award_due(user.id)
    assert certificates(user.id) == [old]
    insert_pass(user.id)  # the certification exam, passed again after the lapse
    [renewed] = service.award_due(user.id)
    assert (renewed.cycle, renewed.renewal_of_id) == (2, None)
    assert renewed.expires_at == datetime(2030, 4, 1, 9, 0, tzinfo=UTC)
    assert verification.statement(old).headline == "Expired on 2 March 2028"
    mail.deliver_pending()
    assert [m.subject for m in take(smtp)] == [f"You are certified: {TA_NAME}"]


def test_when_several_milestones_are_due_only_the_latest_goes_out(frozen_clock):
    user = learner()
    pass_exam(user)
    [certificate] = certificates(user.id)
    # The job did not run for months: at 5 days before expiry, three reminders are due.
    clock.set_now(EXPIRES - 5 * DAY)
    assert send_due_reminders() == 1
    assert milestones(certificate) == [("issued", False), ("expiry-90", True),
                                       ("expiry-30", True), ("expiry-7", False)]
    [message] = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.template == "certificate_reminder")).all()
    assert "(in 5 days)" in message.body_text
    # The skipped ones never go out later; the next one comes on expiry.
    assert send_due_reminders() == 0
    clock.set_now(EXPIRES)
    assert send_due_reminders() == 1
    assert milestones(certificate)[-1] == ("expired", False)
    assert [e.detail for e in certificate.events if "skipped" in e.detail] == [
        "expiry-90: skipped, expiry-7 was already due",
        "expiry-30: skipped, expiry-7 was already due"]


def test_a_milestone_added_to_the_schedule_later_never_goes_back_in_time(frozen_clock):
    user = learner()
    pass_exam(user)
    [certificate] = certificates(user.id)
    clock.set_now(EXPIRES - 20 * DAY)
    assert send_due_reminders() == 1  # expiry-30 (expiry-90 skipped)
    # A new program version adds a 60-day reminder (written directly here; sync would
    # publish it the same way).
    version = certificate.program_version.program.current_version
    version.reminder_days = [90, 60, 30, 14, 7, 0]
    db.session.flush()
    assert send_due_reminders() == 0  # not the 60-day one, which is older than what went out
    clock.set_now(EXPIRES - 14 * DAY)
    assert send_due_reminders() == 1
    assert [m for m, skipped in milestones(certificate) if not skipped] == [
        "issued", "expiry-30", "expiry-14"]
    assert reminders.milestone_days("expiry-14") == 14
    assert reminders.milestone_days("expired") == 0
    assert reminders.milestone_days("delta-v2") is None
    assert reminders.milestone_days("issued") is None


def test_reminders_list_what_the_renewal_still_needs_and_what_is_done(frozen_clock):
    user = learner()
    pass_exam(user)
    clock.set_now(EXPIRES - 30 * DAY)
    submit(start_attempt(user, RENEWAL))  # no answers: 0%
    send_due_reminders()
    [message] = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.template == "certificate_reminder")).all()
    assert "What your renewal still needs:\n- Pass the Kestrel Technical Associate renewal " \
           "exam — best score 0%, needs 70%\n" in message.body_text
    assert "Already done" not in message.body_text


def test_revoked_superseded_and_inactive_holders_get_no_reminders(frozen_clock):
    revoked_holder, inactive_holder, holder = learner(), learner(), learner()
    for user in (revoked_holder, inactive_holder, holder):
        pass_exam(user)
    service.revoke(certificates(revoked_holder.id)[0].id, reason="Broke the exam rules",
                   actor=make_user())
    inactive_holder.active = False
    db.session.flush()
    clock.set_now(EXPIRES - 7 * DAY)
    assert send_due_reminders() == 1
    assert [m.to_address for m in db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.template == "certificate_reminder"))] == [holder.email]


def test_candidates_come_from_one_bounded_query(frozen_clock, count_queries):
    for _ in range(6):
        pass_exam(learner())
    clock.set_now(EXPIRES - 200 * DAY)  # nobody is due
    with count_queries() as counted:
        assert send_due_reminders() == 0
    # The reminder schedules, then the candidates: the same however many certificates.
    assert counted.count == 2, counted.statements
    clock.set_now(EXPIRES - 90 * DAY)
    assert send_due_reminders() == 6
    with count_queries() as counted:
        assert send_due_reminders() == 0  # all due ones done: no per-certificate work
    assert counted.count <= 3, counted.statements


def test_the_reminder_schedule_follows_the_program(frozen_clock):
    seller = learner(job_role="sales")
    insert_completion(seller.id, "partner-onboarding-essentials")
    insert_completion(seller.id, "sales-foundations")
    insert_pass(seller.id, "sales-foundations-check")
    [certificate] = service.award_due(seller.id)  # 12 months, reminders 60, 30, 7, 0
    clock.set_now(certificate.expires_at - 61 * DAY)
    assert send_due_reminders() == 0
    clock.set_now(certificate.expires_at - 60 * DAY)
    assert send_due_reminders() == 1
    assert [m for m, _ in milestones(certificate)] == ["issued", "expiry-60"]


def test_due_milestones_are_pure():
    due = reminders.due_milestones(EXPIRES, [0, 90, 7, 30], EXPIRES - 8 * DAY)
    assert due == [("expiry-90", 90), ("expiry-30", 30)]
    assert reminders.due_milestones(EXPIRES, [90, 0], EXPIRES) == [("expiry-90", 90),
                                                                   ("expired", 0)]
    assert reminders.iso_week(datetime(2027, 1, 1, tzinfo=UTC)) == "2026-W53"
    assert reminders.when(EXPIRES, EXPIRES - 98 * DAY) == "in 98 days"
    assert reminders.when(EXPIRES, EXPIRES + 5 * DAY) == "5 days ago"


def job_named(job) -> str:
    return next(name for name, listed in PERIODIC_JOBS if listed is job)


@pytest.mark.skipif(not {send_due_reminders, send_weekly_digests,
                         service.award_due_everyone} <= {job for _, job in PERIODIC_JOBS},
                    reason="the certification jobs are not all in PERIODIC_JOBS yet")
def test_lms_tick_runs_the_certification_jobs(frozen_clock):
    organisation = make_organisation()
    make_user(organisation, role="partner_admin")
    user = learner(organisation)
    insert_pass(user.id)  # no event: the tick's safety net issues it
    results = dict(run_periodic_jobs())
    assert results[job_named(service.award_due_everyone)] == 1
    [certificate] = certificates(user.id)
    clock.set_now(certificate.expires_at - 90 * DAY)
    results = dict(run_periodic_jobs())
    assert results[job_named(send_due_reminders)] == 1
    assert results[job_named(send_weekly_digests)] == 1
    results = dict(run_periodic_jobs())  # once only
    assert results[job_named(send_due_reminders)] == results[job_named(send_weekly_digests)] == 0


# --- the weekly digest -----------------------------------------------------------------------


def test_the_weekly_digest_goes_to_each_partner_admin_once_a_week(smtp, frozen_clock):
    northwind = make_organisation("Northwind Secure")
    pat = make_user(northwind, role="partner_admin", full_name="Pat Admin")
    quinn = make_user(northwind, role="partner_admin", full_name="Quinn Admin")
    make_user(northwind, role="partner_admin").active = False
    ada = learner(northwind, full_name="Ada Byron")
    pass_exam(ada)
    quiet = make_organisation("Quiet Partner")  # nobody expiring: no digest
    make_user(quiet, role="partner_admin")
    elsewhere = make_organisation("Elsewhere Ltd")
    other = make_user(elsewhere, role="partner_admin", full_name="Other Admin")
    carla = learner(elsewhere, full_name="Carla Ng")
    pass_exam(carla)
    clock.advance(200 * DAY)
    bob = learner(northwind, full_name="Bob Stone")
    pass_exam(bob)  # expires in September 2028: not listed before then
    db.session.flush()
    mail.deliver_pending()
    take(smtp)

    tuesday = datetime(2028, 1, 4, 9, 0, tzinfo=UTC)  # week 2028-W01, 58 days before expiry
    clock.set_now(tuesday)
    assert send_weekly_digests() == 3
    assert mail.deliver_pending() == 3
    received = {r.to[0]: r for r in take(smtp)}
    assert set(received) == {pat.email, quinn.email, other.email}
    to_pat = received[pat.email]
    assert to_pat.subject == ("Expiring certifications at Northwind Secure: 1 to renew "
                              "(week 2028-W01)")
    assert "Hello Pat Admin," in to_pat.body
    assert (f"- Ada Byron — {TA_NAME} — expires 2 Mar 2028 (in 58 days) — "
            "renewal: 0 of 1 done\n") in to_pat.body
    assert "Bob Stone" not in to_pat.body and "Carla Ng" not in to_pat.body
    assert "http://lms.test/staff/certifications" in to_pat.body
    assert received[quinn.email].body.replace("Quinn", "Pat") == to_pat.body
    assert "Carla Ng" in received[other.email].body
    assert "Ada Byron" not in received[other.email].body
    assert db.session.scalars(select(ExpiryDigest.week)).all() == ["2028-W01"] * 2

    # Later the same week: nothing.
    clock.set_now(tuesday + 5 * DAY)
    assert send_weekly_digests() == 0
    # The next week: again, for each admin.
    clock.set_now(tuesday + 7 * DAY)
    assert send_weekly_digests() == 3
    mail.deliver_pending()
    assert len(take(smtp)) == 3

    # Ada renews, so she is no longer listed; Carla expires and is listed until her grace ends.
    pass_exam(ada, RENEWAL)
    clock.set_now(EXPIRES + 3 * DAY)
    assert send_weekly_digests() == 1  # Northwind has nobody to list this week
    mail.deliver_pending()
    [digest] = [r for r in take(smtp) if r.subject.startswith("Expiring")]
    assert digest.to == [other.email]
    assert (f"- Carla Ng — {TA_NAME} — expired 2 Mar 2028 (3 days ago; renewable until "
            "1 Apr 2028) — renewal: 0 of 1 done\n") in digest.body
    clock.set_now(GRACE_ENDS + 7 * DAY)
    assert send_weekly_digests() == 0  # lapsed: nothing to renew any more


def test_a_digest_shows_renewal_progress(frozen_clock):
    organisation = make_organisation()
    admin = make_user(organisation, role="partner_admin")
    holder = learner(organisation, full_name="Dee Renner")
    pass_exam(holder)
    certificate = certificates(holder.id)[0]
    clock.set_now(EXPIRES - 10 * DAY)
    line = reminders._digest_line(certificate, "Dee Renner", clock.now())
    assert line.line == (f"Dee Renner — {TA_NAME} — expires 2 Mar 2028 (in 10 days) — "
                         "renewal: 0 of 1 done")
    assert (line.status, line.done, line.total) == ("expiring", 0, 1)
    assert send_weekly_digests() == 1
    [message] = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.to_address == admin.email)).all()
    assert message.template == "expiry_digest"


def test_without_a_grace_period_the_expiry_notice_still_goes_out(frozen_clock):
    user = learner()
    pass_exam(user)
    [certificate] = certificates(user.id)
    certificate.grace_ends_at = certificate.expires_at  # as `grace_days: 0` dates it
    db.session.flush()
    clock.set_now(certificate.expires_at + timedelta(hours=5))
    assert send_due_reminders() == 1
    assert send_due_reminders() == 0
    [message] = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.template == "certificate_expired")).all()
    assert "no grace period" in message.body_text
