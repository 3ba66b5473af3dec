"""The person page's certificates: every cycle the person holds or held, newest first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from lms.accounts.models import User
from lms.certifications import lifecycle
from lms.certifications import public_id as ids
from lms.certifications.models import Certificate
from lms.core import sections
from lms.extensions import db

SHOWN = 20


def load(*, person: User, now: datetime) -> dict:
    """Two queries: the latest certificates and how many there are."""
    rows = db.session.scalars(
        select(Certificate).where(Certificate.user_id == person.id)
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc()).limit(SHOWN)).all()
    total = db.session.scalar(
        select(func.count(Certificate.id)).where(Certificate.user_id == person.id))
    return {"certificates": [(c, lifecycle.status(c, now), ids.display(c.public_id))
                             for c in rows],
            "total": total, "shown": SHOWN,
            "last_activity": max((c.issued_at for c in rows), default=None)}


sections.add("person", "certificates", template="partner/sections/certificates.html",
             load=load, order=10)
