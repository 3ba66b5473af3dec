"""How many certificates have each status on the whole platform, from tallies kept by the
writes (lms.core.tallies) rather than counted over every certificate on each view.

Revoked and superseded are final, so they are tallied as such. A live certificate (neither)
changes status with time alone: active until its renewal window opens, expiring until it
expires, expired after. Tallying those three would need a job to move each certificate at
the right moment, and the counts would be wrong between its runs. Instead, live certificates
are tallied by the UTC day their renewal window opens and by the day they expire, dates
that never change once issued. At any moment:

    opened  = the days before today + today's certificates whose window opened by now
    expired = the same with the expiry

and active = live - opened, expiring = opened - expired (a window opens before its expiry:
`lifecycle.dates_for` subtracts a renewal window that ProgramVersion keeps >= 0). Today's
few are counted from the rows on the partial live indexes; the rest is a sum over one row
per day that has expiries, whatever the number of certificates.
"""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import and_, case, func, literal, or_, select

from lms.certifications.models import STATUSES, Certificate
from lms.core import tallies
from lms.core.tallies import PLATFORM, Tally, day_key, utc_day
from lms.extensions import db

ENDED = "certificates_ended"  # key: revoked or superseded
LIVE_BY_RENEWAL_DAY = "live_certificates_by_renewal_day"  # key: the day the window opens
LIVE_BY_EXPIRY_DAY = "live_certificates_by_expiry_day"  # key: the day it expires


def _live():
    return and_(Certificate.revoked_at.is_(None), Certificate.superseded_at.is_(None))


def state(certificate: Certificate) -> str:
    """What the tallies count a certificate as: revoked, superseded or live."""
    if certificate.revoked_at is not None:
        return "revoked"
    return "superseded" if certificate.superseded_at is not None else "live"


def _changes(certificate: Certificate, counted_as: str, sign: int) -> list:
    if counted_as == "live":
        return [(LIVE_BY_RENEWAL_DAY, PLATFORM, day_key(certificate.renewal_opens_at), sign),
                (LIVE_BY_EXPIRY_DAY, PLATFORM, day_key(certificate.expires_at), sign)]
    return [(ENDED, PLATFORM, counted_as, sign)]


def issued(certificate: Certificate) -> None:
    """Count a certificate just written."""
    tallies.add(_changes(certificate, state(certificate), 1))


def moved(certificate: Certificate, was: str) -> None:
    """Move a certificate that was counted as `was` (see `state`) to what it is now."""
    now = state(certificate)
    if now != was:
        tallies.add(_changes(certificate, was, -1) + _changes(certificate, now, 1))


@tallies.recount(ENDED)
def _recount_ended():
    kind = case((Certificate.revoked_at.is_not(None), "revoked"), else_="superseded")
    return (select(literal(PLATFORM), kind, func.count())
            .where(or_(Certificate.revoked_at.is_not(None),
                       Certificate.superseded_at.is_not(None)))
            .group_by(kind))


def _recount_by_day(column):
    day = utc_day(column)
    return select(literal(PLATFORM), day, func.count()).where(_live()).group_by(day)


tallies.recount(LIVE_BY_RENEWAL_DAY)(lambda: _recount_by_day(Certificate.renewal_opens_at))
tallies.recount(LIVE_BY_EXPIRY_DAY)(lambda: _recount_by_day(Certificate.expires_at))


def platform_status_counts(now: datetime) -> dict[str, int]:
    """Every certificate's status at `now`, in two small statements."""
    today = day_key(now)
    midnight = datetime.combine(now.date(), time(), tzinfo=now.tzinfo)

    def tally(name, *condition):
        return func.coalesce(func.sum(Tally.count).filter(Tally.name == name, *condition), 0)

    # (PostgreSQL sums bigints as numeric: read back as int.)
    revoked, superseded, live, opened, expired = (int(number) for number in db.session.execute(
        select(tally(ENDED, Tally.key == "revoked"), tally(ENDED, Tally.key == "superseded"),
               tally(LIVE_BY_EXPIRY_DAY),
               tally(LIVE_BY_RENEWAL_DAY, Tally.key < today),
               tally(LIVE_BY_EXPIRY_DAY, Tally.key < today))
        .where(Tally.name.in_((ENDED, LIVE_BY_RENEWAL_DAY, LIVE_BY_EXPIRY_DAY)),
               Tally.scope == PLATFORM)).one())

    def since_midnight(column):
        return select(func.count()).select_from(Certificate).where(
            _live(), column >= midnight, column <= now).scalar_subquery()

    opened_today, expired_today = db.session.execute(select(
        since_midnight(Certificate.renewal_opens_at),
        since_midnight(Certificate.expires_at))).one()
    opened += opened_today
    expired += expired_today
    counts = {"active": live - opened, "expiring": opened - expired, "expired": expired,
              "revoked": revoked, "superseded": superseded}
    return {status: counts[status] for status in STATUSES}
