"""Partner organisations, people, vocabularies, invitations, resets and login attempts."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    and_,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import utcnow
from lms.extensions import db

# Roles: partner staff (learner, partner_admin) belong to an organisation; vendor staff do not.
PARTNER_ROLES = ("learner", "partner_admin")
VENDOR_ROLES = ("author", "channel_manager", "vendor_admin")
ROLES = PARTNER_ROLES + VENDOR_ROLES
ROLE_LABELS = {
    "learner": "Learner",
    "partner_admin": "Partner admin",
    "author": "Enablement author",
    "channel_manager": "Channel manager",
    "vendor_admin": "Vendor admin",
}
ORGANISATION_STATUSES = ("active", "suspended", "inactive")
TERM_KINDS = ("partner_type", "tier", "region", "job_role")


class Term(db.Model):
    """A vocabulary entry from content/program.yml: a partner type, tier, region or job role."""

    __tablename__ = "term"
    __table_args__ = (
        UniqueConstraint("kind", "code"),
        CheckConstraint("kind IN ('partner_type', 'tier', 'region', 'job_role')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(100))
    # Order within its kind; for tiers it is the rank (higher is better).
    rank: Mapped[int] = mapped_column(default=0)
    archived_at: Mapped[datetime | None]


class Organisation(db.Model):
    __tablename__ = "organisation"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended', 'inactive')", name="status"),
        # The partners list filters by each of these and sorts by name_key (its unique
        # index serves the unfiltered list).
        Index("ix_organisation_tier_name", "tier", "name_key"),
        Index("ix_organisation_partner_type_name", "partner_type", "name_key"),
        Index("ix_organisation_region_name", "region", "name_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Lower-cased name keeps "Northwind" and "northwind" from both existing.
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    partner_type: Mapped[str] = mapped_column(String(50))
    tier: Mapped[str] = mapped_column(String(50))
    region: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="organisation")


class User(UserMixin, db.Model):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(
            "role IN ('learner', 'partner_admin', 'author', 'channel_manager', 'vendor_admin')",
            name="role",
        ),
        # Partner staff belong to exactly one organisation; vendor staff to none.
        CheckConstraint(
            "(role IN ('learner', 'partner_admin')) = (organisation_id IS NOT NULL)",
            name="partner_staff_have_organisation",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-cased
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id"), index=True
    )
    job_role: Mapped[str | None] = mapped_column(String(50))
    locale: Mapped[str] = mapped_column(String(10), default="en")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_vendor_staff(self) -> bool:
        return self.role in VENDOR_ROLES

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]


# The people lists sort by lower(full_name): everyone, one role, or one partner's staff (the
# staff page too), so none of them sorts the whole table per view. (Declared here: an
# expression index needs the mapped columns.)
Index("ix_user_account_name", func.lower(User.full_name), User.id)
Index("ix_user_account_role_name", User.role, func.lower(User.full_name), User.id)
Index("ix_user_account_organisation_name", User.organisation_id, func.lower(User.full_name),
      User.id)


class Invitation(db.Model):
    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class PasswordReset(db.Model):
    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


THROTTLED_ACTIONS = ("sign_in", "password_reset")


class LoginAttempt(db.Model):
    """One throttled action by email and address: a sign-in, or a password reset request."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_email_at", "email", "attempted_at"),
        Index("ix_login_attempt_ip_at", "ip_address", "attempted_at"),
        CheckConstraint("action IN ('sign_in', 'password_reset')", name="action"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(20), default="sign_in",
                                        server_default="sign_in")
    email: Mapped[str] = mapped_column(String(320))
    ip_address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool]
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserSession(db.Model):
    """A signed-in browser. The cookie carries a secret; only its hash is kept here, as the
    key, so a copy of this table signs nobody in. Ending a session deletes its row, and
    every copy of the cookie stops working at once."""

    __tablename__ = "user_session"
    __table_args__ = (Index("ix_user_session_user_last_seen", "user_id", "last_seen_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the secret
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_agent: Mapped[str] = mapped_column(String(100), default="")  # "Firefox on Windows"
    ip_address: Mapped[str] = mapped_column(String(64), default="")

    user: Mapped[User] = relationship()


def active_staff():
    """The one definition of a partner's active staff, as a SQL condition on User: partner
    staff who are active and have joined. An invitation not yet accepted (no password set)
    is not staff yet: readiness, coverage and staff counts must not hold a partner to, or
    credit it with, people who may never arrive."""
    # NOT IN an uncorrelated subquery, not NOT EXISTS: under the OR, PostgreSQL hashes the
    # invited ids once instead of probing per person (a full readiness gather of 200,000
    # staff took twice as long with NOT EXISTS).
    invited = select(Invitation.user_id).scalar_subquery()
    return and_(User.active.is_(True), User.role.in_(PARTNER_ROLES),
                or_(User.password_hash.is_not(None), User.id.not_in(invited)))
