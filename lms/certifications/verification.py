"""What a certificate says about itself, to anyone: one statement for the page, JSON and PDF.

Everything here is public by design: the holder's name, organisation and the program.
Never an email address, the evidence, or a revocation reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from lms.certifications import lifecycle, notices, public_id
from lms.certifications.models import Certificate
from lms.core import clock
from lms.core.errors import Invalid, NotFound
from lms.extensions import db

BULK_LIMIT = 1000
NOT_FOUND = ("No certificate has this ID. Check it against the certificate or the link "
             "you were given.")


@dataclass(frozen=True)
class Statement:
    public_id: str  # display form
    status: str
    valid: bool
    headline: str  # the one line above everything else
    status_date: date | None
    holder_name: str
    organisation_name: str
    program_code: str
    program_name: str
    program_level: str
    program_version: int
    issued_on: date
    expires_on: date
    renewable_until: date | None  # in the grace period after expiry
    superseded_by: str | None  # display id of the renewal
    issuer: str
    verification_url: str
    checked_at: datetime

    def as_json(self) -> dict:
        return {
            "id": self.public_id,
            "status": self.status,
            "valid": self.valid,
            "headline": self.headline,
            "status_date": _iso(self.status_date),
            "holder": {"name": self.holder_name, "organisation": self.organisation_name},
            "program": {"code": self.program_code, "name": self.program_name,
                        "level": self.program_level, "version": self.program_version},
            "issued_on": _iso(self.issued_on),
            "expires_on": _iso(self.expires_on),
            "renewable_until": _iso(self.renewable_until),
            "superseded_by": ({"id": self.superseded_by,
                               "url": notices.verification_url(
                                   public_id.normalise(self.superseded_by))}
                              if self.superseded_by else None),
            "issuer": self.issuer,
            "verification_url": self.verification_url,
            "checked_at": self.checked_at.isoformat(timespec="seconds"),
        }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _day(moment: datetime) -> str:
    return f"{moment:%-d %B %Y}"


def canonical(typed: str) -> str:
    """The canonical ID; Invalid for a typo the check character catches.

    Anything that cannot be an ID gets the very same 404 as a well-formed unknown one, so
    the answer never tells a prober more than "no such certificate".
    """
    try:
        return public_id.normalise(typed)
    except public_id.MistypedId as error:
        raise Invalid(str(error), field="id") from error
    except public_id.MalformedId as error:
        raise NotFound(NOT_FOUND) from error


def lookup(typed: str) -> Certificate:
    """The certificate for a typed ID. Unknown and malformed-but-plausible IDs look the same."""
    certificate = db.session.scalar(select(Certificate)
                                    .where(Certificate.public_id == canonical(typed)))
    if certificate is None:
        raise NotFound(NOT_FOUND)
    return certificate


def statement(certificate: Certificate, *, renewal_id: str | None = None,
              now: datetime | None = None) -> Statement:
    """`renewal_id` is the canonical ID of the superseding certificate (looked up if omitted)."""
    now = now or clock.now()
    state = lifecycle.status(certificate, now)
    if state == "superseded" and renewal_id is None:
        renewal_id = db.session.scalar(select(Certificate.public_id)
                                       .where(Certificate.renewal_of_id == certificate.id))
    expires = certificate.expires_at
    status_date: datetime | None = None
    renewable_until = None
    if state == "active":
        headline, status_date = f"Valid until {_day(expires)}", expires
    elif state == "expiring":
        headline, status_date = f"Valid, expiring on {_day(expires)}", expires
    elif state == "expired":
        headline, status_date = f"Expired on {_day(expires)}", expires
        if now < certificate.grace_ends_at:
            renewable_until = certificate.grace_ends_at.date()
    elif state == "revoked":
        headline, status_date = f"Revoked on {_day(certificate.revoked_at)}", \
            certificate.revoked_at
    else:
        headline, status_date = "Superseded by its renewal", certificate.superseded_at
    return Statement(
        public_id=public_id.display(certificate.public_id), status=state,
        valid=state in ("active", "expiring"), headline=headline,
        status_date=status_date.date() if status_date else None,
        holder_name=certificate.holder_name, organisation_name=certificate.organisation_name,
        program_code=certificate.program_code, program_name=certificate.program_name,
        program_level=certificate.program_level,
        program_version=certificate.program_version_number,
        issued_on=certificate.issued_at.date(), expires_on=expires.date(),
        renewable_until=renewable_until,
        superseded_by=public_id.display(renewal_id) if renewal_id else None,
        issuer=certificate.issuer, verification_url=notices.verification_url(certificate.public_id),
        checked_at=now)


def bulk(typed_ids: list[str]) -> list[dict]:
    """Statements for up to BULK_LIMIT IDs in two queries; each row says found, or why not."""
    if len(typed_ids) > BULK_LIMIT:
        raise Invalid(f"Up to {BULK_LIMIT} IDs at a time; this request has {len(typed_ids)}.",
                      field="ids")
    now = clock.now()
    wanted: list[tuple[str, str | None, str | None]] = []  # typed, canonical, problem
    for typed in typed_ids:
        try:
            wanted.append((typed, public_id.normalise(str(typed)), None))
        except public_id.MistypedId as error:
            wanted.append((typed, None, str(error)))
        except public_id.MalformedId:
            wanted.append((typed, None, NOT_FOUND))
    ids = {canonical_id for _, canonical_id, _ in wanted if canonical_id}
    found = {c.public_id: c for c in db.session.scalars(
        select(Certificate).where(Certificate.public_id.in_(ids)))} if ids else {}
    renewals = dict(db.session.execute(
        select(Certificate.renewal_of_id, Certificate.public_id)
        .where(Certificate.renewal_of_id.in_([c.id for c in found.values()])))) if found else {}
    results = []
    for typed, canonical_id, problem in wanted:
        certificate = found.get(canonical_id) if canonical_id else None
        if certificate is None:
            results.append({"query": typed, "found": False, "error": problem or NOT_FOUND})
        else:
            results.append({"query": typed, "found": True,
                            **statement(certificate, renewal_id=renewals.get(certificate.id),
                                        now=now).as_json()})
    return results
