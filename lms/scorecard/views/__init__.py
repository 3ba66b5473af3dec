"""Scorecard pages for vendor admins and channel managers: the table of all partners, a
partner's page, imports, review periods, exports, webhooks and API tokens.

Partner admins never see these (they have their own readiness page): every route hides
itself (404) from anyone else, so a partner cannot even learn that the pages exist.
"""

from __future__ import annotations

from flask import Blueprint, Response

from lms.scorecard import charts, table, wording

bp = Blueprint("scorecard", __name__, url_prefix="/scorecard")


# Filters and a global rather than context: the macros in templates/scorecard/ are
# imported without context, and filters reach them anyway.
@bp.app_template_filter("metric_value")
def _metric_value(value, unit: str, currency: str = "USD") -> str:
    return wording.metric_value(value, unit, currency)


@bp.app_template_filter("sc_thresholds")
def _thresholds(metric: dict, currency: str = "USD") -> str:
    return wording.thresholds(metric, currency)


@bp.app_template_filter("sc_status")
def _status(status: str) -> str:
    return wording.STATUS_LABELS.get(status, status)


@bp.app_template_filter("sc_flag_short")
def _flag_short(kind: str) -> str:
    return wording.FLAG_SHORT.get(kind, kind)


@bp.app_template_filter("sc_age")
def _age(days: int | None) -> str:
    return wording.age(days)


@bp.app_template_filter("sc_metrics_table")
def _metrics_table(card: dict, currency: str = "USD", ages_as_at: str | None = None):
    return table.metrics_table(card, currency, ages_as_at)


@bp.app_template_filter("sc_flag_list")
def _flag_list(flags: list[dict]):
    return table.flag_list(flags)


@bp.app_template_filter("sc_checkpoints")
def _checkpoints(checkpoints: list[dict]):
    return table.checkpoint_list(checkpoints)


@bp.app_template_filter("sc_frozen")
def _frozen(card: dict, closed_on: str):
    return table.frozen(card, closed_on)


bp.add_app_template_global(charts.line_chart, "sc_line_chart")


def download(body, name: str, mimetype: str) -> Response:
    """An attachment; `body` is text, or an iterable of text to stream."""
    return Response(body, headers={"Content-Type": f"{mimetype}; charset=utf-8",
                                   "Content-Disposition": f'attachment; filename="{name}"',
                                   "Cache-Control": "no-store"})


# The pages register their routes on `bp` when imported.
from lms.scorecard.views import admin, imports, partners, periods  # noqa: E402, F401
