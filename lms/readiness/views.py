"""A partner's readiness page: the gauge, the components, the gaps to keep and to reach a
tier with the staff behind them, and the forecast. Partner admins see their own partner;
vendor staff any (anything else is not found, like every partner page)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from lms.accounts import scoping
from lms.accounts.models import User
from lms.accounts.permissions import require
from lms.extensions import db
from lms.readiness import service

bp = Blueprint("readiness", __name__)

@bp.route("/readiness")
@require("my_organisation")
def mine():
    return redirect(url_for("readiness.organisation",
                            organisation_id=current_user.organisation_id))


@bp.route("/organisations/<int:organisation_id>/readiness")
@require("read_partners", hide=True)
def organisation(organisation_id: int):
    organisation = scoping.get_organisation_for(current_user, organisation_id)
    score = service.explained(organisation.id)
    if score is None:
        return render_template("readiness/organisation.html", organisation=organisation,
                               score=None)
    # The score row keeps the people behind each gap and the forecast's horizons, each list
    # cut to the first NAMED ids with its count (see service.explanation_record).
    forecast = score["forecast"]
    standings = [standing for standing in (score["gaps"]["current"], score["gaps"]["next"])
                 if standing]
    lists = [gap for standing in standings for gap in standing["gaps"]]
    lists += forecast["renewals_needed"] + forecast["finishing_needed"]
    lists += [horizon[key] for horizon in forecast["horizons"]
              for key in ("expiring", "newcomers")]
    shown = {user_id for listed in lists for user_id in listed["user_ids"]}
    # One query for every name on the page, scoped to the partner like every partner page
    # (an id that is not on its staff is shown as "someone no longer on the staff").
    people = dict(db.session.execute(
        select(User.id, User.full_name)
        .where(User.id.in_(shown), User.organisation_id == organisation.id)).all()) \
        if shown else {}
    rubric = score["rubric"].body["rubric"]
    return render_template(
        "readiness/organisation.html", organisation=organisation, score=score,
        forecast=forecast, standings=standings, people=people, tiers=score["names"].tiers,
        rubric=rubric, falls_below_on=forecast["falls_below_on"],
        horizons=forecast["horizons"],
        new_staff_days=score["rubric"].body["tiers"].get("new_staff_days", 0))
