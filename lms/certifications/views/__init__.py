"""Certification pages: a person's own certifications and PDFs (learner), the vendor's
certificate register with revocation (register) and a partner admin's view of their staff's
certificates (partner). Shared here: the blueprint and how a certificate's time reads."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint

from lms.certifications.models import Certificate

bp = Blueprint("certifications", __name__)


def short_date(moment: datetime) -> str:
    """"2 Mar 2026", as the eligibility reasons write dates."""
    return f"{moment.day} {moment:%b %Y}"


def _days(count: int) -> str:
    return f"{count} day{'' if count == 1 else 's'}"


def countdown(certificate: Certificate, state: str, now: datetime) -> str:
    """Where a certificate stands in time, in words: "expires in 143 days", "expired ..."."""
    days = (certificate.expires_at.date() - now.date()).days
    if state == "revoked":
        return f"revoked on {short_date(certificate.revoked_at)}"
    if state == "superseded":
        return f"superseded by its renewal on {short_date(certificate.superseded_at)}"
    if state in ("active", "expiring"):
        text = "expires today" if days <= 0 else f"expires in {_days(days)}"
        return text + ("; renewal is open" if state == "expiring" else "")
    text = "expired today" if days == 0 else f"expired {_days(-days)} ago"
    if now < certificate.grace_ends_at:
        return f"{text}; renewable until {short_date(certificate.grace_ends_at)}"
    return f"{text}; earn it again to be certified"


# The pages register their routes on `bp` when imported.
from lms.certifications.views import learner, partner, register  # noqa: E402, F401
