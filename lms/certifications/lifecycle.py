"""The certificate lifecycle as pure functions of a certificate's dates and the time.

Statuses, in the order they are decided:
- revoked: a vendor admin revoked it (final);
- superseded: its renewal was issued;
- active: before the renewal window opens;
- expiring: inside the renewal window (renewal open, still valid);
- expired: after expiry. During the grace period it can still be renewed; after it,
  the person must earn the certification again.

Dating a renewal (so that renewing early never costs the holder time): a renewal issued
before expiry runs from the old expiry date, so its expiry is the old expiry plus the
validity; a renewal in the grace period runs from the day it is issued.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


class Dated(Protocol):
    issued_at: datetime
    expires_at: datetime
    renewal_opens_at: datetime
    grace_ends_at: datetime
    superseded_at: datetime | None
    revoked_at: datetime | None


def status(certificate: Dated, now: datetime) -> str:
    if certificate.revoked_at is not None:
        return "revoked"
    if certificate.superseded_at is not None:
        return "superseded"
    if now < certificate.renewal_opens_at:
        return "active"
    if now < certificate.expires_at:
        return "expiring"
    return "expired"


def is_current(certificate: Dated, now: datetime) -> bool:
    """Valid right now: counts as held (prerequisites, tier rules)."""
    return status(certificate, now) in ("active", "expiring")


def renewable(certificate: Dated, now: datetime) -> bool:
    """Inside the renewal window or the grace period, and neither revoked nor superseded."""
    return (status(certificate, now) in ("expiring", "expired")
            and now < certificate.grace_ends_at)


def lapsed(certificate: Dated, now: datetime) -> bool:
    """Expired and past its grace period: only earning it again helps."""
    return status(certificate, now) == "expired" and now >= certificate.grace_ends_at


def add_months(moment: datetime, months: int) -> datetime:
    """Same day `months` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = moment.day
    if day > 28:  # every month has 28 days: only later days need the month's length
        day = min(day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class Dates:
    issued_at: datetime
    expires_at: datetime
    renewal_opens_at: datetime
    grace_ends_at: datetime


def dates_for(issued_at: datetime, *, validity_months: int, renewal_window_days: int,
              grace_days: int, renews: Dated | None = None) -> Dates:
    """The dates of a new certificate; `renews` is the certificate being renewed, if any."""
    starts = issued_at
    if renews is not None and issued_at < renews.expires_at:
        starts = renews.expires_at  # early renewal keeps the time already paid for
    expires_at = add_months(starts, validity_months)
    return Dates(issued_at=issued_at, expires_at=expires_at,
                 renewal_opens_at=expires_at - timedelta(days=renewal_window_days),
                 grace_ends_at=expires_at + timedelta(days=grace_days))
