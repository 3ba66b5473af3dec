"""The vendor's lists of partners and people: filtered, searched, sorted and paged in SQL.

Every filter and the sort are served by an index declared on the models (organisation
name_key with each of tier, type and region; people by lower(full_name), alone and within a
role or a partner), so the first page of 5,000 partners or 200,000 people costs a few
index reads and one count, not a scan and a sort of the whole table; the unfiltered people
list does not even count, it reads the people tally (lms.core.tallies).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from lms.accounts import service as accounts
from lms.accounts.models import ROLES, Organisation, User
from lms.core import tallies
from lms.core.errors import Invalid
from lms.core.pages import Window, window
from lms.core.params import parse_int
from lms.extensions import db


def _as_id(text: str) -> int | None:
    """A search that is a whole number may be an ID (what people copy from an address)."""
    try:
        return parse_int(text.removeprefix("#"), "q", minimum=1)
    except Invalid:  # words, or a number no ID has: it is only part of a name or address
        return None


@dataclass(frozen=True)
class OrganisationRow:
    organisation: Organisation
    people: int


def organisations_page(*, search: str | None, tier: str | None, partner_type: str | None,
                       region: str | None, page: int, per_page: int) -> Window:
    """Partners by name, filtered by tier, type and region, searched by name or ID; each row
    with its head count, counted for the page's partners only."""
    statement = select(Organisation)
    for column, value in ((Organisation.tier, tier), (Organisation.partner_type, partner_type),
                          (Organisation.region, region)):
        if value:
            statement = statement.where(column == value)
    if search:
        matches = Organisation.name_key.contains(search.lower(), autoescape=True)
        number = _as_id(search)
        statement = statement.where(or_(matches, Organisation.id == number)
                                    if number is not None else matches)
    # name_key is the lower-cased, unique name: the index order, and no ties to break.
    found = window(db.session, statement.order_by(Organisation.name_key), page=page,
                   per_page=per_page, scalars=True)
    ids = [organisation.id for organisation in found.rows]
    counts = dict(db.session.execute(
        select(User.organisation_id, func.count()).where(User.organisation_id.in_(ids))
        .group_by(User.organisation_id)).tuples().all()) if ids else {}
    rows = [OrganisationRow(organisation, counts.get(organisation.id, 0))
            for organisation in found.rows]
    return Window(rows, found.total, found.page, found.pages, found.per_page)


def people_page(*, search: str | None, role: str | None, organisation_id: int | None,
                page: int, per_page: int) -> Window:
    """Everyone with an account (vendor and partner staff) by name, filtered by role or
    partner, searched by name, email or ID; rows are (User, organisation name or None)."""
    conditions = []
    if role in ROLES:
        conditions.append(User.role == role)
    if organisation_id is not None:
        conditions.append(User.organisation_id == organisation_id)
    if search:
        text = search.lower()
        matches = [func.lower(User.full_name).contains(text, autoescape=True),
                   User.email.contains(text, autoescape=True)]  # emails are stored lower
        number = _as_id(search)
        if number is not None:
            matches.append(User.id == number)
        conditions.append(or_(*matches))
    # Everyone is the tally kept by create_user; a filter or a search counts its matches,
    # without the organisation (the outer join never adds or removes a person).
    total = db.session.scalar(select(func.count(User.id)).where(*conditions)) if conditions \
        else tallies.total(accounts.PEOPLE)
    # The id breaks ties between namesakes so pages never overlap or skip anyone.
    statement = (select(User, Organisation.name)
                 .outerjoin(Organisation, Organisation.id == User.organisation_id)
                 .where(*conditions).order_by(func.lower(User.full_name), User.id))
    return window(db.session, statement, page=page, per_page=per_page, total=total)
