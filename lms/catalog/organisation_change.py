"""The organisation form's preview of a type, tier or region change: the tracks its staff
would gain and lose (a section of the accounts page, which may not import the catalog)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from lms.accounts.models import Organisation, User, active_staff
from lms.catalog.assignments import preview
from lms.core import sections
from lms.extensions import db


def load(*, organisation: Organisation, proposed: dict, now: datetime) -> dict:
    found = preview(organisation.id, partner_type=proposed["partner_type"],
                    tier=proposed["tier"], region=proposed["region"])
    staff = db.session.scalar(select(func.count(User.id)).where(
        User.organisation_id == organisation.id, active_staff()))
    return {"preview": found, "staff": staff}


sections.add("organisation_change", "tracks", template="admin/sections/tracks_change.html",
             load=load, order=10)
