"""Review periods: the list with trends, closing one (with confirmation), a closed period
exactly as it was frozen, its exports, and two periods side by side."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user

from lms.accounts.permissions import require
from lms.core import clock
from lms.core.errors import DomainError, Invalid
from lms.core.forms import attach_error
from lms.core.jobs import commit
from lms.core.pages import window
from lms.core.params import parse_date, query_int
from lms.extensions import db
from lms.scorecard import current, exports, periods, service, table
from lms.scorecard.forms import ClosePeriodForm
from lms.scorecard.views import bp, download
from lms.scorecard.wording import HEALTH_LABELS

PER_PAGE = 50  # partners of two compared periods
# A closed period shows every partner of the page twice, once in full as it was frozen
# (about 11 KB each), so its pages are shorter: 20 keeps a page near 250 KB.
FROZEN_PER_PAGE = 20


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
    # What closing will freeze, as the last recompute scored it (closing scores afresh).
    return render_template(
        "scorecard/period_close.html", form=form, name=name, starts_on=starts_on,
        ends_on=ends_on, early=ends_on >= now.date(), tiles=current.tiles(),
        definitions=definitions, health_labels=HEALTH_LABELS), status


@bp.route("/periods/<int:period_id>")
@require("scorecard", hide=True)
def period(period_id: int):
    found = periods.get(period_id)
    health = request.args.get("health") if request.args.get("health") in HEALTH_LABELS \
        else None
    # ?partner= shows one partner's frozen scorecard (where its own page links to).
    partner = query_int("partner", minimum=1)
    shown = window(db.session, periods.records(found.id, health=health,
                                               organisation_id=partner),
                   page=query_int("page", 1, minimum=1), per_page=FROZEN_PER_PAGE, scalars=True,
                   total=periods.shown_total(found, health=health, organisation_id=partner))
    return render_template(
        "scorecard/period.html", period=found, cards=shown.rows,
        rows=table.rows(shown.rows, _frozen_below),
        shown=shown, health=health,
        partner=partner,
        others=[p for p in periods.closed() if p.id != found.id],
        health_labels=HEALTH_LABELS)


def _frozen_below(organisation_id: int) -> str:
    """A partner's name in a closed period's table links to its frozen scorecard below."""
    return f"#partner-{organisation_id}"


@bp.route("/periods/<int:period_id>/scorecard.<any(csv, json):fmt>")
@require("scorecard", hide=True)
def period_export(period_id: int, fmt: str):
    found = periods.get(period_id)
    cards = periods.stream(found.id)
    name = f"scorecard-{found.name.replace(' ', '-').lower()}.{fmt}"
    if fmt == "csv":
        return download(stream_with_context(exports.csv_lines(cards, period=found)), name,
                        "text/csv")
    return download(stream_with_context(exports.json_chunks(
        cards, generated_at=found.closed_at, period=found)), name, "application/json")


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
    a, b, shown = periods.compare(first, second, page=query_int("page", 1, minimum=1),
                                  per_page=PER_PAGE)
    return render_template("scorecard/compare.html", closed=closed, a=a, b=b,
                           rows=[table.comparison_row(row) for row in shown.rows],
                           shown=shown, health_labels=HEALTH_LABELS)
