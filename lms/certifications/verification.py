"""What a certificate says about itself, to anyone: one statement for the page, JSON and PDF.

Everything here is public by design: the holder's name, organisation and the program.
Never an email address, the evidence, or a revocation reason. (`latest_for` looks people up
by email for vendor staff; what it returns is the same public statement.)

Public lookups are rate-limited per client (`throttle`); the counts live in the database so
every worker and process shares them.
"""

from __future__ import annotations

import functools
import ipaddress
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import aliased

from lms.accounts.models import User
from lms.certifications import lifecycle, notices, public_id
from lms.certifications.models import Certificate, VerificationHit
from lms.core import clock, fastpath
from lms.core.errors import Invalid, NotFound, TooManyRequests
from lms.core.text import strip_bidi
from lms.extensions import db

BULK_LIMIT = 1000
FILE_LIMIT = 10_000  # rows in one uploaded CSV (vendor staff)
NOT_FOUND = ("No certificate has this ID. Check it against the certificate or the link "
             "you were given.")
NO_CERTIFICATE = "This person holds no certificate in this program."  # by email (staff)


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


def _day(moment: datetime | date) -> str:
    return f"{moment:%-d %B %Y}"


def long_date(value: date | datetime | None) -> str:
    """Dates as the headline writes them ("2 March 2028"), for the page and the CSV."""
    return _day(value) if value else ""


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


_renewal = aliased(Certificate)
# Only what a statement says, with the renewal's ID in the same query: the public lookup is
# the hottest path in the product (QR scans, bulk checks by machines).
_LOOKUP = (select(Certificate.public_id, Certificate.holder_name,
                  Certificate.organisation_name, Certificate.program_code,
                  Certificate.program_name, Certificate.program_level,
                  Certificate.program_version_number, Certificate.issuer,
                  Certificate.issued_at, Certificate.expires_at, Certificate.renewal_opens_at,
                  Certificate.grace_ends_at, Certificate.superseded_at, Certificate.revoked_at,
                  _renewal.public_id.label("renewal_id"))
           .outerjoin(_renewal, _renewal.renewal_of_id == Certificate.id)
           .where(Certificate.public_id == bindparam("public_id")))


def statement_for(typed: str, *, now: datetime | None = None) -> Statement:
    """What the certificate with this typed ID says, in one query (404 / typo as lookup)."""
    wanted = canonical(typed)
    # The hottest path there is: outside the unit of work, prepared on PostgreSQL.
    with fastpath.quick_read() as connection:
        row = fastpath.first_row(connection, _LOOKUP, {"public_id": wanted})
    if row is None:
        raise NotFound(NOT_FOUND)
    return statement(row, renewal_id=row.renewal_id or "", now=now)


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
        renewal = public_id.display(renewal_id) if renewal_id else "its renewal"
        headline, status_date = f"Superseded by {renewal}", certificate.superseded_at
    return Statement(
        public_id=public_id.display(certificate.public_id), status=state,
        valid=state in ("active", "expiring"), headline=headline,
        status_date=status_date.date() if status_date else None,
        # Names as typed may carry bidi controls that would reorder what a reader sees.
        holder_name=strip_bidi(certificate.holder_name),
        organisation_name=strip_bidi(certificate.organisation_name),
        program_code=certificate.program_code, program_name=certificate.program_name,
        program_level=certificate.program_level,
        program_version=certificate.program_version_number,
        issued_on=certificate.issued_at.date(), expires_on=expires.date(),
        renewable_until=renewable_until,
        superseded_by=public_id.display(renewal_id) if renewal_id else None,
        issuer=certificate.issuer, verification_url=notices.verification_url(certificate.public_id),
        checked_at=now)


def bulk(typed_ids: list[str], *, limit: int = BULK_LIMIT,
         now: datetime | None = None) -> list[dict]:
    """Statements for up to `limit` IDs in two queries; each row says found, or why not."""
    if len(typed_ids) > limit:
        raise Invalid(f"Up to {limit:,} IDs at a time; this request has {len(typed_ids):,}.",
                      field="ids")
    now = now or clock.now()
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
    renewals = _renewals(found.values())
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


def _renewals(certificates) -> dict[int, str]:
    """Canonical IDs of the renewals of the superseded ones among `certificates` (one query)."""
    superseded = [c.id for c in certificates if c.superseded_at is not None]
    if not superseded:
        return {}
    return dict(db.session.execute(select(Certificate.renewal_of_id, Certificate.public_id)
                                   .where(Certificate.renewal_of_id.in_(superseded))).all())


def latest_for(pairs: list[tuple[str, str]], *, limit: int = FILE_LIMIT,
               now: datetime | None = None) -> list[dict]:
    """For vendor staff: each (email, program code)'s latest certificate, in two queries.

    Rows come back in order, as {"email", "program_code", "found", **statement} or with an
    "error"; nothing private is added (the email is the one the caller asked about).
    """
    if len(pairs) > limit:
        raise Invalid(f"Up to {limit:,} rows at a time; this request has {len(pairs):,}.",
                      field="file")
    now = now or clock.now()
    emails = {email.strip().lower() for email, _ in pairs}
    codes = {code.strip() for _, code in pairs}
    latest: dict[tuple[str, str], Certificate] = {}
    if emails and codes:
        for email, certificate in db.session.execute(
                select(User.email, Certificate)  # emails are stored lower-cased
                .join(Certificate, Certificate.user_id == User.id)
                .where(User.email.in_(emails),
                       Certificate.program_code.in_(codes))
                .order_by(Certificate.cycle)):  # the highest cycle wins
            latest[(email, certificate.program_code)] = certificate
    renewals = _renewals(latest.values())
    results = []
    for email, code in pairs:
        certificate = latest.get((email.strip().lower(), code.strip()))
        row = {"email": email, "program_code": code}
        if certificate is None:
            results.append({**row, "found": False, "error": NO_CERTIFICATE})
        else:
            results.append({**row, "found": True, **statement(
                certificate, renewal_id=renewals.get(certificate.id), now=now).as_json()})
    return results


# --- rate limit --------------------------------------------------------------------------


class RateLimited(TooManyRequests):
    """Over the per-client limit; `retry_after` is the seconds until the next window."""

    def to_dict(self) -> dict:
        return {**super().to_dict(), "error": "TooManyRequests"}


def client_key(address: str | None) -> str:
    """Who is counted: an IPv4 address, or an IPv6 /64 (what one site or server is given)."""
    try:
        parsed = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return (address or "unknown")[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def throttle(client: str, *, limit: int, cost: int = 1, now: datetime | None = None) -> int:
    """Count `cost` lookups for `client` in this minute; RateLimited once over `limit`.

    A fixed one-minute window, counted by an atomic upsert (two workers cannot both take
    the last lookup). The first hit of a client in a new minute prunes past minutes. The
    caller commits, before the lookup itself, so that even a 404 is counted. Returns the
    count so far in this window.
    """
    now = now or clock.now()
    minute = int(now.timestamp()) // 60
    redis_url = current_app.config.get("REDIS_URL")
    hits = (_count_in_redis(redis_url, minute, client, cost, limit) if redis_url
            else _count_in_database(minute, client, cost))
    if hits > limit:
        wait = 60 - now.second
        raise RateLimited(f"Too many certificate checks from your address: up to {limit} a "
                          f"minute. Please try again in {wait} seconds.", retry_after=wait)
    return hits


@functools.cache
def _redis(url: str):
    import redis  # installed with Celery's Redis transport

    return redis.Redis.from_url(url)  # one connection pool per process


# Counts not yet sent to Redis, per process: (minute, client) -> [unsent, total, sent_at].
_unsent: dict[tuple[int, str], list] = {}
_unsent_lock = threading.Lock()
FLUSH_SECONDS = 0.25


def _count_in_redis(url: str, minute: int, client: str, cost: int, limit: int) -> int:
    """The client's count this minute, shared through Redis.

    Each process sends its counts in batches of up to 1% of the limit (at least every
    quarter second), so a generous limit costs a round trip per batch, not per lookup,
    and the count is never behind by more than that. A small limit sends every hit.
    The cost: N processes together let through at most limit + N x (batch - 1) lookups a
    minute (at most 1% more per process; exact up to a limit of 199), which a throttle
    against scraping can afford (tests/test_scale_out.py checks the bound).
    """
    batch = max(1, limit // 100)
    with _unsent_lock:
        entry = _unsent.get((minute, client))
        if entry is None:
            for old in [key for key in _unsent if key[0] != minute]:
                del _unsent[old]
            entry = _unsent[(minute, client)] = [0, 0, 0.0]
        entry[0] += cost
        if entry[0] < batch and time.monotonic() - entry[2] < FLUSH_SECONDS:
            return entry[1] + entry[0]
        unsent, entry[0] = entry[0], 0
    key = f"lms:verify-hits:{minute}:{client}"
    redis = _redis(url)
    total = int(redis.incrby(key, unsent))
    if total == unsent:  # the window's first batch: Redis forgets the key a minute after
        redis.expire(key, 120)
    with _unsent_lock:
        entry[1], entry[2] = max(entry[1], total), time.monotonic()
        return entry[1] + entry[0]


def _count_in_database(minute: int, client: str, cost: int) -> int:
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    # A count lost in a crash costs nothing: the commit need not wait for the disk.
    fastpath.unsynchronised_commit(db.session)
    upsert = insert(VerificationHit).values(minute=minute, client=client, hits=cost)
    upsert = upsert.on_conflict_do_update(
        index_elements=["minute", "client"],
        set_={"hits": VerificationHit.hits + upsert.excluded.hits},
    ).returning(VerificationHit.hits)
    hits = db.session.execute(upsert).scalar_one()
    if hits == cost:
        db.session.execute(delete(VerificationHit).where(VerificationHit.minute < minute))
    return hits
