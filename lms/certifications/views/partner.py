"""A partner's staff certificates: partner admins for their own organisation, vendor staff
for any."""

from __future__ import annotations

from datetime import timedelta

from flask import redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import and_, func, select

from lms.accounts import scoping
from lms.accounts.models import User, active_staff
from lms.accounts.permissions import require
from lms.certifications import lifecycle
from lms.certifications import public_id as ids
from lms.certifications.models import STATUSES, Certificate
from lms.certifications.views import bp, countdown
from lms.core import clock
from lms.extensions import db

EXPIRING_SOON_DAYS = 90


@bp.route("/staff/certifications")
@require("my_organisation")
def my_staff():
    return redirect(url_for("certifications.organisation",
                            organisation_id=current_user.organisation_id))


@bp.route("/organisations/<int:organisation_id>/certifications")
@require("read_partners", hide=True)
def organisation(organisation_id: int):
    organisation = scoping.get_organisation_for(current_user, organisation_id)
    now = clock.now()
    staff = select(User.id).where(User.organisation_id == organisation.id)
    latest = (select(Certificate.user_id, Certificate.program_id,
                     func.max(Certificate.cycle).label("cycle"))
              .where(Certificate.user_id.in_(staff))
              .group_by(Certificate.user_id, Certificate.program_id).subquery())
    rows = db.session.execute(scoping.scope_users(
        select(Certificate, User)
        .join(latest, and_(latest.c.user_id == Certificate.user_id,
                           latest.c.program_id == Certificate.program_id,
                           latest.c.cycle == Certificate.cycle))
        .join(User, User.id == Certificate.user_id)
        .where(User.organisation_id == organisation.id)
        .order_by(func.lower(User.full_name), Certificate.program_name), current_user)).all()
    statuses = {c.id: lifecycle.status(c, now) for c, _ in rows}
    horizon = now + timedelta(days=EXPIRING_SOON_DAYS)
    # What still can be renewed: valid and expiring within the horizon, or in grace.
    soon = sorted(((c, u) for c, u in rows
                   if (statuses[c.id] in ("active", "expiring") and c.expires_at <= horizon)
                   or lifecycle.renewable(c, now)),
                  key=lambda row: row[0].expires_at)
    by_program: dict[str, dict[str, int]] = {}
    for certificate_row, _ in rows:
        tally = by_program.setdefault(certificate_row.program_name, dict.fromkeys(STATUSES, 0))
        tally[statuses[certificate_row.id]] += 1
    valid = [(c, u) for c, u in rows if statuses[c.id] in ("active", "expiring")]
    summary = {"valid": len(valid), "holders": len({u.id for _, u in valid if u.active}),
               "gone": sum(1 for c, _ in rows
                           if statuses[c.id] == "revoked" or lifecycle.lapsed(c, now))}
    people = db.session.scalar(scoping.scope_users(
        select(func.count(User.id)).where(User.organisation_id == organisation.id,
                                          active_staff()), current_user))
    return render_template(
        "certifications/organisation.html", organisation=organisation, rows=rows,
        statuses=statuses, soon=soon, summary=summary, by_program=dict(sorted(by_program.items())),
        people=people, now=now, countdown=countdown, horizon_days=EXPIRING_SOON_DAYS,
        display=ids.display)
