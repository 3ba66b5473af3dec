"""The one place that scopes partner data to who is asking.

Vendor staff whose role reads every partner (permissions.RIGHTS["read_partners"]: the vendor
admin and the channel manager, not the author) see every organisation; a partner admin sees
their own organisation; a learner sees only themself. Anything out of scope is reported as
not found, so an identifier from another partner reveals nothing, not even that it exists.
"""

from __future__ import annotations

from sqlalchemy import Select, false, select

from lms.accounts.models import Organisation, User
from lms.accounts.permissions import ALL, RIGHTS
from lms.core.errors import NotFound
from lms.extensions import db


def sees_every_partner(actor: User) -> bool:
    """Whether `actor`'s role reads every partner's people and rows (the rights table says)."""
    return RIGHTS["read_partners"].reach.get(actor.role) == ALL


def scope_users(query: Select, actor: User) -> Select:
    """Restrict a query that involves User to the people `actor` may see."""
    if sees_every_partner(actor):
        return query
    if actor.role == "partner_admin":
        return query.where(User.organisation_id == actor.organisation_id)
    if actor.role == "learner":
        return query.where(User.id == actor.id)
    return query.where(false())


def scope_organisations(query: Select, actor: User) -> Select:
    """Restrict a query that involves Organisation to those `actor` may see."""
    if sees_every_partner(actor):
        return query
    return query.where(Organisation.id == actor.organisation_id)


def scope_partner_rows(query: Select, actor: User, *, organisation_column,
                       user_column) -> Select:
    """Restrict rows that belong to a partner (and perhaps one of its people).

    Vendor staff see all; a partner admin sees their organisation's rows; a learner sees
    only rows about themself (a row with no person, like an organisation's own journey,
    is for admins).
    """
    if sees_every_partner(actor):
        return query
    if actor.role == "partner_admin":
        return query.where(organisation_column == actor.organisation_id)
    if actor.role == "learner":
        return query.where(user_column == actor.id)
    return query.where(false())


def get_user_for(actor: User, user_id: int) -> User:
    user = db.session.scalar(scope_users(select(User).where(User.id == user_id), actor))
    if user is None:
        raise NotFound("No such person.")
    return user


def get_organisation_for(actor: User, organisation_id: int) -> Organisation:
    organisation = db.session.scalar(
        scope_organisations(select(Organisation).where(Organisation.id == organisation_id), actor)
    )
    if organisation is None:
        raise NotFound("No such organisation.")
    return organisation


def can_manage_staff(actor: User, organisation_id: int | None) -> bool:
    """Partner admins manage their own organisation's staff; vendor admins everyone's."""
    if actor.role == "vendor_admin":
        return True
    return actor.role == "partner_admin" and actor.organisation_id == organisation_id
