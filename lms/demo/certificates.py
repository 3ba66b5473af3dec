"""Demo certification histories: people certified long enough ago for every lifecycle state.

Each person sat the exam on a date in the past, so their certificate was issued then (by
the same event listener as in real use) and is now active, inside its renewal window,
renewed, in its grace period or lapsed. Northwind's only two Technical Associates expire
within the next two months: Gold asks for one, so unless one of them renews, Northwind
falls below Gold when the second expires (the readiness forecast and the scorecard's
"tier at risk" flag say so).
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from lms.accounts import service as accounts
from lms.accounts.models import Organisation, User
from lms.certifications import service as certifications
from lms.certifications.models import Certificate
from lms.core import clock
from lms.demo import exams
from lms.extensions import db

EXAM = "technical-associate-exam"
RENEWAL_EXAM = "technical-associate-renewal"

# (email, name, organisation, job role, days since the exam, days before expiry it renewed)
HISTORIES = [
    ("elena.petrova@northwind.example", "Elena Petrova", "Northwind Systems", "technical",
     710, None),  # expires in about 20 days: renewal window open, nothing done yet
    ("marco.bianchi@northwind.example", "Marco Bianchi", "Northwind Systems", "presales",
     672, None),  # expires in about 58 days
    ("yuki.hamada@harbor.example", "Yuki Hamada", "Harbor Managed Services", "technical",
     760, 50),  # renewed 50 days before expiry: the old certificate is superseded
    ("pierre.laurent@bluepeak.example", "Pierre Laurent", "Bluepeak Integrators", "technical",
     742, None),  # expired about 12 days ago, renewable during the grace period
    ("omar.farouk@harbor.example", "Omar Farouk", "Harbor Managed Services", "technical",
     830, None),  # lapsed: expired and past the grace period
]
REVOKED = ("lena.kowalski@bluepeak.example", "Lena Kowalski", "Bluepeak Integrators",
           "Exam sat by a colleague on this person's account (confirmed by the partner).")


def load_histories(password_hash: str, rng: random.Random, admin: User) -> int:
    """Create the people above with their backdated exams and certificates; idempotent."""
    created = 0
    now = clock.now()
    # Oldest first, so each partner's journey counts its certified staff in date order.
    for email, name, org_name, job_role, days_ago, renewed_before in sorted(
            HISTORIES, key=lambda history: -history[4]):
        if accounts.get_user_by_email(email) is not None:
            continue
        with clock.frozen(now - timedelta(days=days_ago + 3)):
            user = _person(email, name, org_name, job_role, password_hash)
            clock.advance(timedelta(days=3))
            exams.take_until_passed(user, EXAM, 2.5, rng)
        created += 1
        if renewed_before is None:
            continue
        first = db.session.scalar(select(Certificate).where(Certificate.user_id == user.id))
        if first is not None:
            with clock.frozen(first.expires_at - timedelta(days=renewed_before)):
                exams.take_until_passed(user, RENEWAL_EXAM, 2.5, rng)
    email, name, org_name, reason = REVOKED
    if accounts.get_user_by_email(email) is None:
        with clock.frozen(now - timedelta(days=40)):
            user = _person(email, name, org_name, "technical", password_hash)
            clock.advance(timedelta(days=1))
            exams.take_until_passed(user, EXAM, 2.5, rng)
        certificate = db.session.scalar(select(Certificate).where(Certificate.user_id == user.id))
        if certificate is not None:
            with clock.frozen(now - timedelta(days=6)):
                certifications.revoke(certificate.id, reason=reason, actor=admin)
        created += 1
    return created


def _person(email: str, name: str, org_name: str, job_role: str, password_hash: str) -> User:
    organisation = db.session.scalar(
        select(Organisation).where(Organisation.name_key == org_name.lower()))
    user = accounts.create_user(email=email, full_name=name, role="learner",
                                organisation_id=organisation.id, job_role=job_role)
    user.password_hash = password_hash
    return user
