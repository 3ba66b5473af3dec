"""A partner's staff certificates: partner admins for their own organisation, vendor staff
for any."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_login import current_user

from lms.accounts import scoping
from lms.accounts.permissions import require
from lms.certifications import lifecycle, lists
from lms.certifications import public_id as ids
from lms.certifications.views import bp, countdown
from lms.core import clock
from lms.core.params import query_int, query_text

PER_PAGE = 50


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
    view = request.args.get("show") if request.args.get("show") in lists.STAFF_VIEWS \
        else "everyone"
    search = query_text("q", lists.SEARCH_CHARACTERS)
    summary = lists.staff_summary(organisation.id, current_user, now)
    found = lists.staff_page(organisation.id, current_user, view=view, search=search,
                             page=query_int("page", 1, minimum=1), per_page=PER_PAGE, now=now,
                             summary=summary)
    return render_template(
        "certifications/organisation.html", organisation=organisation, summary=summary,
        found=found, statuses={c.id: lifecycle.status(c, now) for c, _ in found.rows},
        view=view, search=search,
        query={k: v for k, v in (("show", view if view != "everyone" else None),
                                 ("q", search)) if v},
        now=now, countdown=countdown, horizon_days=lists.EXPIRING_SOON_DAYS,
        display=ids.display)
