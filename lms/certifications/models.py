"""Certification programs (immutable versions), certificates, their audit trail and notices.

Nothing here is ever deleted: a renewal is a new certificate that supersedes the old one,
a revocation is a date and a reason, and every change is a row in `certificate_event`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import utcnow
from lms.extensions import db

LEVELS = ("Associate", "Professional", "Expert")
STATUSES = ("active", "expiring", "expired", "revoked", "superseded")


class Program(db.Model):
    __tablename__ = "certification_program"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("certification_program_version.id", use_alter=True))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]

    current_version: Mapped[ProgramVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True)


class ProgramVersion(db.Model):
    """A published, immutable program definition; certificates point at the one they met."""

    __tablename__ = "certification_program_version"
    __table_args__ = (
        UniqueConstraint("program_id", "number"),
        CheckConstraint("validity_months >= 1", name="validity"),
        CheckConstraint("renewal_window_days >= 0 AND grace_days >= 0", name="windows"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("certification_program.id"), index=True)
    number: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(Text, default="")
    # {"tracks": [slug], "assessments": [slug], "certifications": [program code]}
    requirements: Mapped[dict] = mapped_column(JSON)
    validity_months: Mapped[int]
    renewal_window_days: Mapped[int]
    grace_days: Mapped[int]
    # {"assessment": slug | None, "tracks": [slug]}
    renewal: Mapped[dict] = mapped_column(JSON)
    # The track covering what changed since the previous version: holders of an older
    # version must complete it at their next renewal.
    delta_track: Mapped[str | None] = mapped_column(String(100))
    reminder_days: Mapped[list] = mapped_column(JSON)  # days before expiry; 0 = on expiry
    job_roles: Mapped[list] = mapped_column(JSON, default=list)
    requirements_hash: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)

    program: Mapped[Program] = relationship(foreign_keys=[program_id])


def _issuing_organisation(context) -> int | None:
    """A new certificate's holder is at the partner it is issued at."""
    return context.get_current_parameters()["organisation_id"]


class Certificate(db.Model):
    """One certification cycle of one person, with a snapshot of what it certifies.

    `cycle` counts a person's certificates in a program (1 = first, 2 = its renewal or a
    new start after it lapsed). The unique (user, program, cycle) constraint is what makes
    issuing idempotent under concurrency: two racing issuers compute the same cycle and
    the database lets only one of them in.
    """

    __tablename__ = "certificate"
    __table_args__ = (
        UniqueConstraint("user_id", "program_id", "cycle"),
        CheckConstraint("cycle >= 1", name="cycle"),
        CheckConstraint("expires_at > issued_at", name="expiry_after_issue"),
        Index("ix_certificate_expires_at", "expires_at"),
        Index("ix_certificate_program_expiry", "program_id", "expires_at"),
        Index("ix_certificate_organisation", "organisation_id", "expires_at"),
        # The register's lists (issue 13). Newest first, read backwards:
        Index("ix_certificate_issued", "issued_at", "id"),
        # "Expiring within N days", soonest first: only certificates still live.
        Index("ix_certificate_live_expiry", "expires_at", "id",
              sqlite_where=text("revoked_at IS NULL AND superseded_at IS NULL"),
              postgresql_where=text("revoked_at IS NULL AND superseded_at IS NULL")),
        # The platform's status counts (counts.py): live certificates whose renewal window
        # opened today, counted from the rows.
        Index("ix_certificate_live_renewal", "renewal_opens_at",
              sqlite_where=text("revoked_at IS NULL AND superseded_at IS NULL"),
              postgresql_where=text("revoked_at IS NULL AND superseded_at IS NULL")),
        # The status counts: everything a status needs, narrow enough to count from the
        # index alone (the rows are wide with their evidence); a program filter is a range.
        Index("ix_certificate_status", "program_id", "revoked_at", "superseded_at",
              "renewal_opens_at", "expires_at"),
        # Revoked and superseded ones, newest first, without walking past every live one.
        Index("ix_certificate_revoked_issued", "issued_at", "id",
              sqlite_where=text("revoked_at IS NOT NULL"),
              postgresql_where=text("revoked_at IS NOT NULL")),
        Index("ix_certificate_superseded_issued", "issued_at", "id",
              sqlite_where=text("revoked_at IS NULL AND superseded_at IS NOT NULL"),
              postgresql_where=text("revoked_at IS NULL AND superseded_at IS NOT NULL")),
        # Searching by holder: a trigram index finds a name fragment anywhere in it on
        # PostgreSQL (on SQLite it is a plain index on the same expression).
        Index("ix_certificate_holder_name_trgm",
              func.lower(text("holder_name")).label("lower_holder"),
              postgresql_using="gin", postgresql_ops={"lower_holder": "gin_trgm_ops"}),
        # A partner's staff certificates (lists.staff_summary): the latest cycles of the
        # people it has now, with all that a status, a program row and a holder need, so
        # the tiles and the table are counted from this narrow index alone.
        Index("ix_certificate_holder_latest", "holder_organisation_id", "program_name",
              "user_id", "holder_active", "revoked_at", "superseded_at", "renewal_opens_at",
              "expires_at", "grace_ends_at",
              sqlite_where=text("latest = 1"), postgresql_where=text("latest")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(28), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    # Where the holder is now (organisation_id is where they were when it was issued) and
    # whether this is their latest cycle in the program: what a partner's staff page
    # counts. Kept by the writes (service._issue, holders.on_user_changed); `lms tallies
    # rebuild certificate_holders` sets them after a bulk load.
    holder_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id"), default=_issuing_organisation)
    holder_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    latest: Mapped[bool] = mapped_column(default=True, server_default=true())
    program_id: Mapped[int] = mapped_column(ForeignKey("certification_program.id"))
    program_version_id: Mapped[int] = mapped_column(
        ForeignKey("certification_program_version.id"), index=True)
    cycle: Mapped[int]
    # Snapshot: what the certificate says stays as it was issued, whatever changes later.
    holder_name: Mapped[str] = mapped_column(String(200))
    organisation_name: Mapped[str] = mapped_column(String(200), default="")
    program_code: Mapped[str] = mapped_column(String(100))
    program_name: Mapped[str] = mapped_column(String(200))
    program_level: Mapped[str] = mapped_column(String(50))
    program_version_number: Mapped[int]
    issuer: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    renewal_opens_at: Mapped[datetime]
    grace_ends_at: Mapped[datetime]
    # [{"kind": "track" | "assessment" | "certification" | "renewal_of", ...}]
    evidence: Mapped[list] = mapped_column(JSON, default=list)
    renewal_of_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"),
                                                      unique=True)
    superseded_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Set when the program changed after this was earned: the next renewal needs this track.
    delta_track: Mapped[str | None] = mapped_column(String(100))
    delta_flagged_at: Mapped[datetime | None]

    program_version: Mapped[ProgramVersion] = relationship()
    renewal_of: Mapped[Certificate | None] = relationship(
        remote_side=[id], foreign_keys=[renewal_of_id])
    events: Mapped[list[CertificateEvent]] = relationship(
        order_by="CertificateEvent.id", back_populates="certificate")


class CertificateEvent(db.Model):
    """The audit trail: issued, renewed, superseded, revoked, flagged, reminded."""

    __tablename__ = "certificate_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    detail: Mapped[str] = mapped_column(Text, default="")

    certificate: Mapped[Certificate] = relationship(back_populates="events")


class CertificateNotice(db.Model):
    """A message owed to a holder at a milestone; the key makes it go out exactly once.

    milestone: "expiry-90", "expiry-30", "expiry-7", "expired", "delta-v2", "issued".
    `skipped` marks an earlier milestone passed over because a later one was already due
    (a certificate issued 20 days before expiry gets the 7-day reminder, not three at once).
    """

    __tablename__ = "certificate_notice"
    __table_args__ = (UniqueConstraint("certificate_id", "milestone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"))
    milestone: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    skipped: Mapped[bool] = mapped_column(default=False)
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_message.id"))


class ExpiryDigest(db.Model):
    """The weekly expiry digest sent to one organisation's partner admins (once per week)."""

    __tablename__ = "certificate_expiry_digest"
    __table_args__ = (UniqueConstraint("organisation_id", "week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    week: Mapped[str] = mapped_column(String(8))  # ISO week, e.g. "2026-W48"
    at: Mapped[datetime] = mapped_column(default=utcnow)
    certificates: Mapped[int] = mapped_column(default=0)


class VerificationHit(db.Model):
    """Public verification lookups per client and minute: the rate limit every worker shares.

    Keyed by minute first, so pruning the past windows is a range delete on the key.
    """

    __tablename__ = "verification_hit"

    minute: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # since epoch
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    hits: Mapped[int]
