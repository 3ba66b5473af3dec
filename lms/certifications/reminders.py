"""Expiry reminders to holders and the weekly expiry digest to their partner admins.

Both are periodic jobs (`lms tick`): idempotent, safe to run as often as cron likes.
A reminder goes out exactly once per certificate and milestone (the unique key on
`certificate_notice`); a digest once per organisation and ISO week (`certificate_expiry_digest`).

Milestones follow the program's current reminder schedule (`reminder_days`, e.g.
[90, 30, 7, 0]): "expiry-90", "expiry-30", "expiry-7", and "expired" for 0 (on expiry,
sent only while the certificate can still be renewed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError

from lms.accounts.models import Organisation, User
from lms.certifications import eligibility, notices, service
from lms.certifications.eligibility import Check
from lms.certifications.models import (
    Certificate,
    CertificateEvent,
    CertificateNotice,
    ExpiryDigest,
    Program,
    ProgramVersion,
)
from lms.core import clock, mail, settings
from lms.core.web import relative_days as when  # "in 98 days", as the pages say it
from lms.extensions import db

EXPIRED = "expired"
DIGEST_HORIZON_DAYS = 90


def milestone_name(days: int) -> str:
    return EXPIRED if days == 0 else f"expiry-{days}"


def milestone_days(name: str) -> int | None:
    """The days before expiry a reminder milestone stands for; None for other notices."""
    if name == EXPIRED:
        return 0
    prefix, _, days = name.partition("-")
    return int(days) if prefix == "expiry" and days.isdigit() else None


EXPIRED_NOTICE_LATE = timedelta(days=7)


def due_milestones(expires_at: datetime, reminder_days: list[int], now: datetime
                   ) -> list[tuple[str, int]]:
    """(milestone, days) whose moment has arrived, earliest milestone first."""
    return [(milestone_name(days), days) for days in sorted(set(reminder_days), reverse=True)
            if expires_at - timedelta(days=days) <= now]


def certificates_url() -> str:
    return f"{current_app.config['BASE_URL']}/certifications"


# --- what a renewal still needs --------------------------------------------------------------


def renewal_needs(certificate: Certificate, now: datetime) -> list[Check]:
    """The named checks a renewal of `certificate` needs, done or not, as of `now`.

    Renewal follows the program's current version (a renewal is issued against it) and any
    delta track the certificate was flagged for.
    """
    program = db.session.get(Program, certificate.program_id)
    version = program.current_version or certificate.program_version
    facts = service.gather_facts(certificate.user_id, [version], now)
    return eligibility.renewal_checks(facts, version.renewal,
                                      window_opened_at=certificate.renewal_opens_at,
                                      delta_track=certificate.delta_track)


# --- reminders -------------------------------------------------------------------------------


def send_due_reminders(now: datetime | None = None) -> int:
    """Send each certificate's due expiry reminder once; returns how many were sent."""
    now = now or clock.now()
    schedules = [days for (days,) in db.session.execute(
        select(ProgramVersion.reminder_days)
        .join(Program, Program.current_version_id == ProgramVersion.id)
        .where(Program.archived_at.is_(None)))]
    if not schedules:
        return 0
    horizon = max(max(days, default=0) for days in schedules)
    # One query for every candidate: valid or in grace, its first reminder already due,
    # not finished with (no "expired" notice yet), held by someone still active.
    finished = exists().where(CertificateNotice.certificate_id == Certificate.id,
                              CertificateNotice.milestone == EXPIRED)
    candidates = db.session.execute(
        select(Certificate, ProgramVersion.reminder_days, User.email)
        .join(Program, Program.id == Certificate.program_id)
        .join(ProgramVersion, ProgramVersion.id == Program.current_version_id)
        .join(User, User.id == Certificate.user_id)
        .where(Certificate.revoked_at.is_(None), Certificate.superseded_at.is_(None),
               Certificate.expires_at <= now + timedelta(days=horizon),
               # Without a grace period there is no moment between expiry and its end:
               # the expiry notice may then go out for a few days after it.
               or_(Certificate.grace_ends_at > now,
                   and_(Certificate.grace_ends_at == Certificate.expires_at,
                        Certificate.expires_at > now - EXPIRED_NOTICE_LATE)),
               Program.archived_at.is_(None), User.active.is_(True), ~finished)
        .order_by(Certificate.expires_at, Certificate.id)).all()
    if not candidates:
        return 0
    noted: dict[int, set[str]] = {}
    for certificate_id, milestone in db.session.execute(
            select(CertificateNotice.certificate_id, CertificateNotice.milestone).where(
                CertificateNotice.certificate_id.in_([c.id for c, _, _ in candidates]))):
        noted.setdefault(certificate_id, set()).add(milestone)
    sent = 0
    for certificate, reminder_days, email in candidates:
        # Never go back: a milestone added to the schedule after a later one went out is moot.
        latest_done = min((days for name in noted.get(certificate.id, ())
                           if (days := milestone_days(name)) is not None), default=None)
        due = [(name, days) for name, days in due_milestones(
            certificate.expires_at, reminder_days, now)
            if latest_done is None or days < latest_done]
        if not due:
            continue
        # Only the latest one is news; the earlier ones are passed over for good (a job
        # that did not run for weeks must not send three reminders at once).
        *earlier, (milestone, _) = due
        for name, _ in earlier:
            if notices.record(certificate, name, skipped=True):
                db.session.add(CertificateEvent(
                    certificate_id=certificate.id, at=now, kind="notice",
                    detail=f"{name}: skipped, {milestone} was already due"))
        sent += _remind(certificate, milestone, email, now)
    db.session.flush()
    return sent


def _remind(certificate: Certificate, milestone: str, email: str, now: datetime) -> bool:
    checks = renewal_needs(certificate, now)
    expires_on = f"{certificate.expires_at:%-d %b %Y}"
    context = dict(checks=checks, remaining=[c for c in checks if not c.done],
                   done=[c for c in checks if c.done], certificates_url=certificates_url(),
                   expires_when=when(certificate.expires_at, now),
                   window_open=now >= certificate.renewal_opens_at)
    if milestone == EXPIRED:
        subject = (f"Expired: {certificate.program_name} — renew by "
                   f"{certificate.grace_ends_at:%-d %b %Y}")
        template = "certificate_expired"
    else:
        subject = f"{certificate.program_name} expires on {expires_on} — time to renew"
        template = "certificate_reminder"
    return notices.notify(certificate, milestone, to=email, subject=subject,
                          template=template, **context)


# --- the weekly digest to partner admins -----------------------------------------------------


@dataclass(frozen=True)
class DigestLine:
    holder_name: str
    program_name: str
    expires_at: datetime
    status: str  # "expiring", "active" or "expired"
    done: int
    total: int
    line: str


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def _digest_line(certificate: Certificate, holder_name: str, now: datetime) -> DigestLine:
    checks = renewal_needs(certificate, now)
    done = sum(1 for check in checks if check.done)
    day = f"{certificate.expires_at:%-d %b %Y}"
    if certificate.expires_at <= now:
        status = "expired"
        dated = (f"expired {day} ({when(certificate.expires_at, now)}; renewable until "
                 f"{certificate.grace_ends_at:%-d %b %Y})")
    else:
        status = "expiring" if now >= certificate.renewal_opens_at else "active"
        dated = f"expires {day} ({when(certificate.expires_at, now)})"
    line = (f"{holder_name} — {certificate.program_name} — {dated} — "
            f"renewal: {done} of {len(checks)} done")
    return DigestLine(holder_name, certificate.program_name, certificate.expires_at, status,
                      done, len(checks), line)


def send_weekly_digests(now: datetime | None = None) -> int:
    """Once per ISO week, mail each organisation's partner admins who expires when.

    Covers the organisation's active staff whose certificates expire within 90 days or
    expired and are still renewable. Returns how many messages were sent.
    """
    now = now or clock.now()
    week = iso_week(now)
    already = select(ExpiryDigest.organisation_id).where(ExpiryDigest.week == week)
    rows = db.session.execute(
        select(Certificate, User.organisation_id, User.full_name)
        .join(User, User.id == Certificate.user_id)
        .join(Program, Program.id == Certificate.program_id)
        .where(Certificate.revoked_at.is_(None), Certificate.superseded_at.is_(None),
               Certificate.expires_at <= now + timedelta(days=DIGEST_HORIZON_DAYS),
               Certificate.grace_ends_at > now, Program.archived_at.is_(None),
               User.active.is_(True), User.organisation_id.is_not(None),
               User.organisation_id.not_in(already))
        .order_by(Certificate.expires_at, User.full_name, Certificate.id)).all()
    by_organisation: dict[int, list[tuple[Certificate, str]]] = {}
    for certificate, organisation_id, holder_name in rows:
        by_organisation.setdefault(organisation_id, []).append((certificate, holder_name))
    if not by_organisation:
        return 0
    admins: dict[int, list[User]] = {}
    for admin in db.session.scalars(
            select(User).where(User.organisation_id.in_(by_organisation),
                               User.role == "partner_admin", User.active.is_(True))
            .order_by(User.full_name, User.id)):
        admins.setdefault(admin.organisation_id, []).append(admin)
    sent = 0
    for organisation_id, certificates in by_organisation.items():
        if not admins.get(organisation_id):
            continue  # nobody to tell yet; an admin added later this week still gets it
        try:
            with db.session.begin_nested():  # claim the week (a concurrent run loses here)
                db.session.add(ExpiryDigest(organisation_id=organisation_id, week=week, at=now,
                                            certificates=len(certificates)))
        except IntegrityError:
            continue
        organisation = db.session.get(Organisation, organisation_id)
        lines = [_digest_line(certificate, name, now) for certificate, name in certificates]
        for admin in admins[organisation_id]:
            mail.send(admin.email,
                      f"Expiring certifications at {organisation.name}: {len(lines)} "
                      f"to renew (week {week})",
                      "expiry_digest", admin=admin, organisation=organisation, lines=lines,
                      week=week, horizon=DIGEST_HORIZON_DAYS,
                      certificates_url=f"{current_app.config['BASE_URL']}/staff/certifications",
                      vendor_name=settings.get("vendor_name"))
            sent += 1
    db.session.flush()
    return sent
