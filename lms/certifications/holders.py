"""Where each certificate's holder is now, kept on the certificate by the writes.

A partner's staff certificates page counts the latest cycle of each person in each program
among the people the partner has now (not the partner a certificate was issued at: people
move). Working that out per view meant an anti-join on every cycle and a join on every
person, over all of a big partner's rows. Instead each certificate carries:

    latest                  no later cycle of its holder in its program exists
    holder_organisation_id  its holder's partner now (None for vendor staff)
    holder_active           its holder's account is active

kept by the writes that change them: issuing a cycle clears `latest` on the one before
(service._issue), and a person's change of partner, role or active flag rewrites their
few certificates (`on_user_changed`). A partner's page then reads its rows alone from
ix_certificate_holder_latest. The statuses are still worked out from the dates at the
moment of the view, so the figures are exact at any time without a job.

After rows arrive another way (a bulk load), `lms tallies rebuild certificate_holders` sets
the three from the certificates and people themselves; `lms tallies check` compares them.
"""

from __future__ import annotations

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import aliased

from lms.accounts.models import User
from lms.certifications.models import Certificate
from lms.core import tallies
from lms.extensions import db

NAME = "certificate_holders"


def _later_cycle():
    later = aliased(Certificate)
    return exists().where(later.user_id == Certificate.user_id,
                          later.program_id == Certificate.program_id,
                          later.cycle > Certificate.cycle)


def _holder(column):
    return select(column).where(User.id == Certificate.user_id).scalar_subquery()


def on_user_changed(user_id: int, fields=frozenset(), **_) -> None:
    """A person changed partner, role (vendor staff have none) or active flag: their
    certificates follow, in one UPDATE on the certificates' user index."""
    if not set(fields) & {"organisation_id", "active"}:
        return
    user = db.session.get(User, user_id)
    db.session.execute(update(Certificate).where(Certificate.user_id == user_id)
                       .values(holder_organisation_id=user.organisation_id,
                               holder_active=user.active))


def _as_they_should_be():
    """(latest, holder_organisation_id, holder_active) as the rows say they are."""
    return ~_later_cycle(), _holder(User.organisation_id), _holder(User.active)


def wrong() -> int:
    """How many certificates disagree with the cycles and people (0 when all is well)."""
    latest, organisation_id, active = _as_they_should_be()
    return db.session.scalar(select(func.count()).select_from(Certificate).where(or_(
        Certificate.latest != latest,
        # (IS DISTINCT FROM: a vendor's certificate has no partner either way.)
        Certificate.holder_organisation_id.is_distinct_from(organisation_id),
        Certificate.holder_active != active))) or 0


@tallies.summary(NAME, check=wrong)
def rebuild() -> None:
    """Set the three on every certificate from the cycles and people, in one UPDATE."""
    latest, organisation_id, active = _as_they_should_be()
    db.session.execute(update(Certificate).values(
        latest=latest, holder_organisation_id=organisation_id, holder_active=active)
        .execution_options(synchronize_session=False))
    db.session.flush()
