"""Certificates written straight to the tables, for page tests that need many or odd ones.
Like any bulk load that bypasses the services, each helper rebuilds the tallies and the
certificates' holders after it (`bulk_loaded`, as `lms tallies rebuild` does).

(The helpers that earn certificates for real, through exams and tracks, live at the top of
test_issuing.py.)
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select

from lms.accounts.models import Organisation, User
from lms.assessments.models import Assessment, Attempt
from lms.certifications import holders, lifecycle, public_id
from lms.certifications.models import Certificate, Program, ProgramVersion
from lms.core import tallies
from lms.extensions import db
from tests.assessments.support import current_version


def bulk_loaded() -> None:
    """Recount what the writes keep, after rows written behind the services' back."""
    tallies.rebuild()
    holders.rebuild()


def program_version(code: str) -> ProgramVersion:
    return db.session.scalar(select(ProgramVersion).join(
        Program, Program.current_version_id == ProgramVersion.id).where(Program.code == code))


def certificate_row(user: User, code: str, *, issued_at: datetime, cycle: int = 1,
                    renews: Certificate | None = None) -> dict:
    """The column values of a certificate issued at `issued_at` (for insert or Certificate())."""
    version = program_version(code)
    dates = lifecycle.dates_for(issued_at, validity_months=version.validity_months,
                                renewal_window_days=version.renewal_window_days,
                                grace_days=version.grace_days, renews=renews)
    organisation = db.session.get(Organisation, user.organisation_id) \
        if user.organisation_id else None
    return {
        "public_id": public_id.generate(), "user_id": user.id,
        "organisation_id": user.organisation_id,
        "program_id": version.program_id, "program_version_id": version.id, "cycle": cycle,
        "holder_name": user.full_name, "organisation_name": organisation.name if organisation
        else "", "program_code": code, "program_name": version.name,
        "program_level": version.level, "program_version_number": version.number,
        "issuer": "Kestrel Security", "issued_at": dates.issued_at,
        "expires_at": dates.expires_at, "renewal_opens_at": dates.renewal_opens_at,
        "grace_ends_at": dates.grace_ends_at, "evidence": [],
        "renewal_of_id": renews.id if renews else None,
    }


def insert_certificate(user: User, code: str, *, issued_at: datetime, cycle: int = 1,
                       renews: Certificate | None = None, **fields) -> Certificate:
    """One certificate row, no events or mail; `fields` override (e.g. revoked_at=...)."""
    certificate = Certificate(**{**certificate_row(user, code, issued_at=issued_at, cycle=cycle,
                                                   renews=renews), **fields})
    db.session.add(certificate)
    db.session.flush()
    bulk_loaded()
    return certificate


def insert_cycles(user: User, code: str, count: int, *, first_issued: datetime) -> None:
    """`count` certificates of one person in one program, each earned again after a lapse
    (bulk insert: a page test's long history)."""
    rows = []
    for cycle in range(1, count + 1):
        rows.append(certificate_row(user, code, issued_at=first_issued
                                    + timedelta(days=30 * (cycle - 1)), cycle=cycle))
    db.session.execute(insert(Certificate), rows)
    bulk_loaded()


def insert_staff_with_certificates(organisation: Organisation, count: int, code: str, *,
                                   issued_at: datetime) -> list[int]:
    """`count` people at `organisation`, each holding one certificate (bulk inserts)."""
    marker = secrets.token_hex(4)
    db.session.execute(insert(User), [
        {"email": f"cert-{marker}-{i}@example.com", "full_name": f"Holder {marker} {i}",
         "role": "learner", "organisation_id": organisation.id, "job_role": "technical"}
        for i in range(count)])
    users = db.session.scalars(select(User).where(User.email.like(f"cert-{marker}-%"))).all()
    db.session.execute(insert(Certificate), [
        certificate_row(user, code, issued_at=issued_at + timedelta(minutes=i))
        for i, user in enumerate(users)])
    bulk_loaded()
    return [user.id for user in users]


def insert_attempt(user_id: int, slug: str, *, percent: float, passed: bool,
                   at: datetime) -> Attempt:
    """A finished attempt with this score, written straight to the table (no events)."""
    version = current_version(slug)
    assessment = db.session.scalar(select(Assessment).where(Assessment.slug == slug))
    number = (db.session.scalar(select(func.max(Attempt.number)).where(
        Attempt.user_id == user_id, Attempt.assessment_id == assessment.id)) or 0) + 1
    attempt = Attempt(public_id=secrets.token_urlsafe(16), user_id=user_id,
                      assessment_id=assessment.id, assessment_version_id=version.id,
                      number=number, max_attempts=None, status="submitted",
                      started_at=at - timedelta(minutes=20), submitted_at=at,
                      score_points=percent / 5, max_points=20, percent=percent, passed=passed)
    db.session.add(attempt)
    db.session.flush()
    return attempt
