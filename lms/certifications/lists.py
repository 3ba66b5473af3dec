"""The certificate lists: the vendor's register of every certificate, and one partner's
staff certificates. Paged, sorted, filtered, searched and counted in SQL, each sort and
filter on an index (see the Certificate model), so a page costs the same few statements
whatever the number of certificates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, distinct, func, or_, select, union
from sqlalchemy.orm import load_only

from lms.accounts import headcount, scoping
from lms.accounts.models import Organisation, User
from lms.certifications import public_id
from lms.certifications.counts import platform_status_counts
from lms.certifications.models import STATUSES, Certificate
from lms.core.pages import Window, window
from lms.extensions import db

# --- the register -----------------------------------------------------------------------


def status_condition(state: str, now: datetime):
    """The SQL for one lifecycle status, mirroring lifecycle.status()."""
    live = _live()
    return {
        "revoked": Certificate.revoked_at.is_not(None),
        "superseded": and_(Certificate.revoked_at.is_(None),
                           Certificate.superseded_at.is_not(None)),
        "active": and_(live, Certificate.renewal_opens_at > now),
        "expiring": and_(live, Certificate.renewal_opens_at <= now,
                         Certificate.expires_at > now),
        "expired": and_(live, Certificate.expires_at <= now),
    }[state]


def _live():
    """Neither revoked nor superseded."""
    return and_(Certificate.revoked_at.is_(None), Certificate.superseded_at.is_(None))


@dataclass
class RegisterPage:
    rows: list[Certificate]
    counts: dict[str, int]  # per status, under the other filters
    total: int
    page: int
    pages: int


SEARCH_CHARACTERS = 200
LAST_CHARACTER = chr(0x10FFFF)  # sorts after any character (binary and C collations)


def _id_prefix(compact: str):
    """IDs starting with `compact`, as a range on the unique index (a LIKE would not use it
    on SQLite, whose LIKE ignores case; IDs are upper case letters and digits only)."""
    return and_(Certificate.public_id >= compact,
                Certificate.public_id < compact[:-1] + chr(ord(compact[-1]) + 1))


def search_condition(text: str):
    """Certificates whose holder's name contains `text`, whose holder's email starts with it,
    or whose ID is `text` (typed in any case, with or without its dashes, or pasted as a
    link) or starts so.

    Each way of matching is its own indexed lookup of certificate ids and the register takes
    their union (put together with OR in one WHERE, no index could be used): the name as
    printed on the certificate through a trigram index (PostgreSQL), the email as a range
    of the people's unique email index, then their certificates by the user index, and the
    ID on its unique index. An email is matched by its beginning, not anywhere in it: a
    fragment search over every person's email would read all of them on every search.
    """
    text = text.strip()[:SEARCH_CHARACTERS]
    needle = text.lower()
    lookups = [
        select(Certificate.id).where(
            func.lower(Certificate.holder_name).contains(needle, autoescape=True)),
        # Emails are stored lower-cased: everything from `needle` up to its last extension.
        select(Certificate.id).join(User, User.id == Certificate.user_id).where(
            User.email >= needle, User.email < needle + LAST_CHARACTER),
    ]
    compact = public_id.compact(text)
    if len(compact) >= public_id.GROUP and compact.isalnum():
        try:
            by_id = Certificate.public_id == public_id.normalise(text)
        except ValueError:
            by_id = _id_prefix(compact)
        lookups.append(select(Certificate.id).where(by_id))
    return Certificate.id.in_(union(*lookups))


def partner_condition(text: str):
    """Certificates of partners whose name contains `text` (a few thousand names at most,
    so the names are scanned and the certificates follow by their organisation index)."""
    needle = text.strip()[:SEARCH_CHARACTERS].lower()
    return Certificate.organisation_id.in_(select(Organisation.id).where(
        func.lower(Organisation.name).contains(needle, autoescape=True)))


def status_counts(conditions: list, now: datetime) -> dict[str, int]:
    """How many certificates have each status under `conditions`, in one statement.

    Unfiltered it reads the narrow status index (ix_certificate_status) instead of the
    certificates, whose evidence makes them wide; filtered by program it reads a range of it.
    """
    return dict(zip(STATUSES, db.session.execute(select(*(
        func.count().filter(status_condition(state, now)) for state in STATUSES))
        .select_from(Certificate).where(*conditions)).one(), strict=True))


def register_order(status: str | None, within_days: int | None) -> tuple:
    """How the register sorts: what expires soonest first when looking at what expires
    (ix_certificate_live_expiry), the latest to have expired first among the expired (the
    same index backwards), and otherwise the newest first (ix_certificate_issued)."""
    if within_days or status == "expiring":
        return Certificate.expires_at, Certificate.id
    if status == "expired":
        return Certificate.expires_at.desc(), Certificate.id.desc()
    return Certificate.issued_at.desc(), Certificate.id.desc()


def register_page(*, status: str | None, program_id: int | None,
                  organisation_id: int | None, within_days: int | None, page: int,
                  per_page: int, now: datetime, search: str | None = None,
                  partner: str | None = None) -> RegisterPage:
    """One page of every certificate, filtered, with the count of each status: two queries."""
    conditions = []
    if search and search.strip():
        conditions.append(search_condition(search))
    if partner and partner.strip():
        conditions.append(partner_condition(partner))
    if program_id:
        conditions.append(Certificate.program_id == program_id)
    if organisation_id:
        conditions.append(Certificate.organisation_id == organisation_id)
    if within_days:
        conditions += [Certificate.revoked_at.is_(None), Certificate.superseded_at.is_(None),
                       Certificate.expires_at > now,
                       Certificate.expires_at <= now + timedelta(days=within_days)]
    # Every status's count under the other filters, in one pass over the rows; unfiltered,
    # from the tallies the writes keep (a pass over every certificate grew with them).
    counts = status_counts(conditions, now) if conditions \
        else platform_status_counts(now)
    if status:
        conditions.append(status_condition(status, now))
    total = counts[status] if status else sum(counts.values())
    order = register_order(status, within_days)
    found = window(db.session, select(Certificate).where(*conditions).order_by(*order),
                   page=page, per_page=per_page, total=total, scalars=True)
    return RegisterPage(found.rows, counts, found.total, found.page, found.pages)



# --- a partner's staff certificates ----------------------------------------------------------

EXPIRING_SOON_DAYS = 90
STAFF_VIEWS = ("everyone", "renew")


def to_renew_condition(now: datetime):
    """Still renewable: valid and expiring within EXPIRING_SOON_DAYS, or in its renewal
    window or grace period (lifecycle.renewable, in SQL)."""
    horizon = now + timedelta(days=EXPIRING_SOON_DAYS)
    return and_(_live(), or_(
        and_(Certificate.expires_at > now, Certificate.expires_at <= horizon),
        and_(Certificate.renewal_opens_at <= now, Certificate.grace_ends_at > now)))


def _staff_certificates(organisation_id: int, actor: User, *columns):
    """`columns` of the latest certificate of each of the organisation's people in each
    program, with the holder, as the actor may see them (scoping: a partner admin only
    their own)."""
    return scoping.scope_users(
        select(*columns).select_from(Certificate).join(User, User.id == Certificate.user_id)
        .where(User.organisation_id == organisation_id, Certificate.latest), actor)


def _held(organisation_id: int, actor: User, *columns):
    """`columns` over the same certificates without their holders: the holder's partner and
    active flag are kept on each one (holders.py), so this reads the partner's entries of
    ix_certificate_holder_latest alone, whatever the number of certificates elsewhere."""
    return scoping.scope_partner_rows(
        select(*columns).select_from(Certificate)
        .where(Certificate.holder_organisation_id == organisation_id, Certificate.latest),
        actor, organisation_column=Certificate.holder_organisation_id,
        user_column=Certificate.user_id)


@dataclass
class StaffSummary:
    valid: int  # active or expiring
    holders: int  # active people with at least one valid certificate
    to_renew: int
    gone: int  # revoked, or lapsed past the grace period
    people: int  # active staff
    by_program: dict[str, dict[str, int]]  # program name -> status -> count


def staff_summary(organisation_id: int, actor: User, now: datetime) -> StaffSummary:
    """The tiles and the by-program table: two aggregates over this partner's rows only."""
    valid = or_(status_condition("active", now), status_condition("expiring", now))
    lapsed = and_(status_condition("expired", now), Certificate.grace_ends_at <= now)
    valid_count, holders, to_renew, gone = db.session.execute(_held(
        organisation_id, actor,
        func.count().filter(valid),
        func.count(distinct(Certificate.user_id)).filter(and_(valid,
                                                              Certificate.holder_active)),
        func.count().filter(to_renew_condition(now)),
        func.count().filter(or_(Certificate.revoked_at.is_not(None), lapsed)))).one()
    by_program = {name: dict(zip(STATUSES, counts, strict=True))
                  for name, *counts in db.session.execute(_held(
                      organisation_id, actor, Certificate.program_name,
                      *(func.count().filter(status_condition(state, now)) for state in STATUSES))
                      .group_by(Certificate.program_name).order_by(Certificate.program_name))}
    people = headcount.headcount(organisation_id)["joined"]  # kept by the writes
    return StaffSummary(valid_count, holders, to_renew, gone, people, by_program)


def staff_page(organisation_id: int, actor: User, *, view: str, search: str | None,
               page: int, per_page: int, now: datetime,
               summary: StaffSummary | None = None) -> Window:
    """One page of the partner's latest certificates, as (Certificate, User) rows: everyone
    by name, or what is to renew soonest first; searched by name or email. Unsearched, the
    summary's counts are the total, so no second count is made."""
    total = None
    if summary is not None and not (search and search.strip()):
        total = summary.to_renew if view == "renew" else sum(
            sum(tally.values()) for tally in summary.by_program.values())
    # Only what a row shows: a page of 50 certificates with their evidence (JSON) and 50
    # whole people cost more than the page's queries.
    statement = _staff_certificates(organisation_id, actor, Certificate, User).options(
        load_only(Certificate.public_id, Certificate.program_name, Certificate.program_level,
                  Certificate.cycle, Certificate.issued_at, Certificate.expires_at,
                  Certificate.renewal_opens_at, Certificate.grace_ends_at,
                  Certificate.superseded_at, Certificate.revoked_at),
        load_only(User.email, User.full_name, User.active))
    if search and search.strip():
        needle = search.strip()[:SEARCH_CHARACTERS].lower()
        statement = statement.where(
            func.lower(User.full_name).contains(needle, autoescape=True)
            | User.email.contains(needle, autoescape=True))
    if view == "renew":
        # The same people said of the certificates too (holders.py keeps it so): what is to
        # renew is then found on ix_certificate_holder_latest, instead of walking every
        # partner's live certificates in expiry order for this one's.
        statement = statement.where(
            Certificate.holder_organisation_id == organisation_id,
            to_renew_condition(now)).order_by(Certificate.expires_at, Certificate.id)
    else:
        statement = statement.order_by(func.lower(User.full_name), User.id,
                                       Certificate.program_name, Certificate.id)
    return window(db.session, statement, page=page, per_page=per_page, total=total)
