"""Review periods: the list with trends, closing one (with confirmation), a closed period
exactly as it was frozen, its exports, and two periods side by side."""

from __future__ import annotations

import json
from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from lms.accounts.permissions import require
from lms.core import clock
from lms.core.errors import DomainError, Invalid
from lms.core.forms import attach_error
from lms.core.jobs import commit
from lms.core.params import parse_date, query_int
from lms.extensions import db
from lms.scorecard import exports, periods, service
from lms.scorecard.forms import ClosePeriodForm
from lms.scorecard.views import bp, download
from lms.scorecard.wording import HEALTH_LABELS


@bp.route("/periods")
@require("scorecard", hide=True)
def periods_page():
    definitions = service.definitions()
    closed = periods.closed()
    return render_template(
        "scorecard/periods.html", closed=closed, trends=periods.trends(),
        open_periods=periods.open_periods(clock.now().date(), definitions.review_period,
                                          {p.name for p in closed}),
        health_labels=HEALTH_LABELS, definitions=definitions)


def _period_start(value: str | None) -> date:
    # Any early date parses, so that periods.closable can name the periods that may be closed.
    starts = parse_date(value, "period", earliest=date.min)
    if starts is None:
        raise Invalid("Choose a review period to close.", field="period")
    return starts


@bp.route("/periods/close", methods=["GET", "POST"])
@require("close_periods", hide=True)
def close_period():
    """GET: what closing will freeze, and a confirmation box. POST: freeze it."""
    form = ClosePeriodForm()
    starts = _period_start(form.period.data or request.args.get("period"))
    definitions = service.definitions()
    name, starts_on, ends_on = periods.closable(starts, clock.now().date(),
                                                definitions.review_period)
    form.period.data = starts.isoformat()
    status = 200
    if form.validate_on_submit():
        try:
            period = periods.close(starts, actor_id=current_user.id)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
            status = error.status
        else:
            commit()
            flash(f"{period.name} is closed: {period.partners} partner scorecard"
                  f"{'s' if period.partners != 1 else ''} frozen.", "success")
            return redirect(url_for("scorecard.period", period_id=period.id), code=303)
    elif request.method == "POST":
        status = 422
    now = clock.now()
    cards = service.scorecards(now, using=definitions)
    return render_template(
        "scorecard/period_close.html", form=form, name=name, starts_on=starts_on,
        ends_on=ends_on, early=ends_on >= now.date(), cards=cards, definitions=definitions,
        health_labels=HEALTH_LABELS), status


@bp.route("/periods/<int:period_id>")
@require("scorecard", hide=True)
def period(period_id: int):
    found = periods.get(period_id)
    cards = periods.records(found.id)
    health = request.args.get("health") if request.args.get("health") in HEALTH_LABELS \
        else None
    return render_template(
        "scorecard/period.html", period=found, cards=cards, health=health,
        others=[p for p in periods.closed() if p.id != found.id],
        health_labels=HEALTH_LABELS)


@bp.route("/periods/<int:period_id>/scorecard.<any(csv, json):fmt>")
@require("scorecard", hide=True)
def period_export(period_id: int, fmt: str):
    found = periods.get(period_id)
    cards = periods.records(found.id)
    name = f"scorecard-{found.name.replace(' ', '-').lower()}.{fmt}"
    if fmt == "csv":
        return download(exports.as_csv(cards, period=found), name, "text/csv")
    body = exports.as_json(cards, generated_at=found.closed_at, period=found)
    return download(json.dumps(body, indent=2, ensure_ascii=False), name, "application/json")


@bp.route("/periods/compare")
@require("scorecard", hide=True)
def compare():
    first, second = query_int("a", minimum=1), query_int("b", minimum=1)
    closed = periods.closed()
    if not (first and second) and len(closed) >= 2:
        first, second = closed[1].id, closed[0].id  # the last two, by default
    if not (first and second):
        return render_template("scorecard/compare.html", closed=closed, rows=None,
                               health_labels=HEALTH_LABELS)
    a, b, rows = periods.compare(first, second)
    return render_template("scorecard/compare.html", closed=closed, a=a, b=b, rows=rows,
                           health_labels=HEALTH_LABELS)
