"""API tokens for the scorecard API: a bearer secret per integration, acting as its maker.

The secret is shown once; only its SHA-256 is stored. A token works only while its person
is active and still a vendor admin or channel manager, so demoting someone or deactivating
them also stops their integrations. Explicit arguments only; flushes, never commits.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from lms.accounts.models import User
from lms.core import clock, tokens
from lms.core.errors import DomainError, Invalid, NotFound, PermissionDenied
from lms.extensions import db
from lms.scorecard.models import ApiToken

ROLES = ("vendor_admin", "channel_manager")
PREFIX = "sc_"


class Unauthorized(DomainError):
    status = 401
    title = "Sign-in needed"


def create(*, user_id: int, name: str) -> tuple[ApiToken, str]:
    """A new token for `user_id`; returns it with the secret (never stored)."""
    name = (name or "").strip()
    if not name:
        raise Invalid("Name the token after the system that will use it.", field="name")
    if len(name) > 100:
        raise Invalid("Up to 100 characters.", field="name")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user_id, name=name, token_hash=tokens.digest(secret),
                     prefix=secret[:10])
    db.session.add(token)
    db.session.flush()
    return token, secret


def authenticate(header: str | None) -> tuple[User, ApiToken]:
    """The person and token behind an `Authorization: Bearer <token>` header."""
    scheme, _, secret = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("Send an API token as 'Authorization: Bearer <token>' (vendor "
                           "admins and channel managers create tokens on the scorecard's "
                           "API tokens page).", field="Authorization")
    found = db.session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == tokens.digest(secret.strip()),
               ApiToken.revoked_at.is_(None))).first()
    if found is None:
        raise Unauthorized("The API token is unknown or revoked.", field="Authorization")
    token, user = found
    if not user.active or user.role not in ROLES:
        raise PermissionDenied("The token's owner may no longer use the scorecard.",
                               field="Authorization")
    token.last_used_at = clock.now()
    return user, token


def listed(user_id: int | None) -> Select:
    """The tokens of one person (None: everyone's), newest first, to page through."""
    statement = select(ApiToken).options(joinedload(ApiToken.user)).order_by(ApiToken.id.desc())
    return statement if user_id is None else statement.where(ApiToken.user_id == user_id)


def revoke(token_id: int, *, actor: User) -> ApiToken:
    """Revoke a token: its owner may, and so may a vendor admin."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("No such token.")
    if token.user_id != actor.id and actor.role != "vendor_admin":
        raise PermissionDenied("Only its owner or a vendor admin revokes a token.")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        db.session.flush()
    return token
