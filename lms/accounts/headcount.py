"""Each partner's headcount, kept by the writes: its people who joined (active staff, as
accounts.models.active_staff defines them), those invited who have not joined yet, and
those deactivated. The staff and certification pages show these without counting a
partner's thousands of people on every view.

A person's place in the count depends on their organisation, active flag, password and
whether an invitation was ever issued to them (active_staff reads any invitation row):
each writer that changes one of those takes `place` before and `moved` after.
"""

from __future__ import annotations

from sqlalchemy import case, exists, func, or_, select

from lms.accounts.models import Invitation, User
from lms.core import events, tallies
from lms.extensions import db

STAFF = "staff"  # scope: the organisation; key: one of PLACES
PLACES = ("joined", "invited", "inactive")


def _invited(user_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(Invitation.user_id == user_id))))


def ever_invited(user: User) -> bool | None:
    """Was an invitation ever issued to `user`? None when it cannot matter (a password is
    set): a writer asks once and passes it to `place` before and after its change."""
    return None if user.password_hash is not None else _invited(user.id)


def place(user: User, *, invited: bool | None = None) -> tuple[int, str] | None:
    """(organisation, key) where `user` counts now; None for vendor staff. `invited` (was an
    invitation ever issued?) is looked up only when it matters: no password yet."""
    if user.organisation_id is None:
        return None
    if not user.active:
        return user.organisation_id, "inactive"
    if user.password_hash is not None:
        return user.organisation_id, "joined"
    if invited is None:
        invited = _invited(user.id)
    return user.organisation_id, "invited" if invited else "joined"


def moved(user_id: int, was: tuple[int, str] | None, now: tuple[int, str] | None) -> None:
    """Move one person from where they counted to where they count now."""
    if was == now:
        return
    tallies.add([(STAFF, *where, delta) for where, delta in ((was, -1), (now, 1))
                 if where is not None])
    events.staff_moved.send(user_id, was=was, now=now)


def headcount(organisation_id: int) -> dict[str, int]:
    """Key (joined, invited, inactive) -> how many of the organisation's people: one row
    read per key."""
    counted = tallies.counts(STAFF, organisation_id)
    return {key: counted.get(key, 0) for key in PLACES}


@tallies.recount(STAFF)
def _recount_staff():
    invited = User.id.in_(select(Invitation.user_id))
    key = case((User.active.is_(False), "inactive"),
               (or_(User.password_hash.is_not(None), ~invited), "joined"),
               else_="invited")
    return (select(User.organisation_id, key, func.count())
            .where(User.organisation_id.is_not(None))
            .group_by(User.organisation_id, key))
