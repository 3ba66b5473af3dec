"""Messages owed to certificate holders, each sent exactly once per certificate and milestone."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lms.certifications import public_id
from lms.certifications.models import Certificate, CertificateEvent, CertificateNotice
from lms.core import clock, mail, settings
from lms.extensions import db


def verification_url(canonical_id: str) -> str:
    """The public page a QR code, an email or a LinkedIn profile points at."""
    return f"{current_app.config['BASE_URL']}/verify/{public_id.display(canonical_id)}"


def already_noted(certificate_id: int, milestone: str) -> bool:
    return db.session.scalar(select(CertificateNotice.id).where(
        CertificateNotice.certificate_id == certificate_id,
        CertificateNotice.milestone == milestone)) is not None


def record(certificate: Certificate, milestone: str, *,
           skipped: bool = False) -> CertificateNotice | None:
    """Claim the milestone; None if it was claimed before (by this or a concurrent run)."""
    notice = CertificateNotice(certificate_id=certificate.id, milestone=milestone,
                               at=clock.now(), skipped=skipped)
    try:
        with db.session.begin_nested():
            db.session.add(notice)
    except IntegrityError:
        return None
    return notice


def notify(certificate: Certificate, milestone: str, *, to: str, subject: str, template: str,
           **context) -> bool:
    """Mail the holder about `milestone` unless it was done before; True if it was sent now."""
    if already_noted(certificate.id, milestone):
        return False
    notice = record(certificate, milestone)
    if notice is None:
        return False
    message = mail.send(to, subject, template, certificate=certificate,
                        verify_url=verification_url(certificate.public_id),
                        display_id=public_id.display(certificate.public_id),
                        vendor_name=settings.get("vendor_name"), **context)
    notice.outbox_message_id = message.id
    db.session.add(CertificateEvent(certificate_id=certificate.id, at=clock.now(),
                                    kind="notice", detail=f"{milestone}: {subject}"))
    db.session.flush()
    return True
