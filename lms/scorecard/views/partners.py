"""The scorecard of all partners (table, filters, sort, search, exports) and one partner's
page. Both read the scorecards the recompute stored (lms.scorecard.current): no view
scores anyone."""

from __future__ import annotations

from datetime import datetime

from flask import render_template, request, stream_with_context
from flask_login import current_user

from lms.accounts.permissions import require
from lms.accounts.scoping import get_organisation_for
from lms.core import clock
from lms.core.pages import window
from lms.core.params import query_int, query_text
from lms.core.web import template_url_for
from lms.extensions import db
from lms.scorecard import current, exports, gather, service, table
from lms.scorecard.scoring import FLAG_KINDS
from lms.scorecard.views import bp, download
from lms.scorecard.wording import HEALTH_LABELS

PER_PAGE = 50
EVIDENCE_PER_PAGE = 50


def _filters() -> current.Filters:
    args = request.args
    return current.Filters(
        tier=args.get("tier") or None, region=args.get("region") or None,
        partner_type=args.get("partner_type") or None,
        health=args.get("health") if args.get("health") in HEALTH_LABELS else None,
        flag=args.get("flag") if args.get("flag") in FLAG_KINDS else None,
        q=query_text("q"))


@bp.route("")
@require("scorecard", hide=True)
def index():
    definitions = service.definitions()
    filters = _filters()
    codes = {m.code for m in definitions.metrics}
    sort = request.args.get("sort") if request.args.get("sort") in (*current.SORTS, *codes) \
        else "partner"
    descending = request.args.get("dir") == "desc"
    tiles = current.tiles()
    # Unfiltered (or by health alone), the tiles already say how many rows there are.
    shown = window(db.session, current.table(filters, sort, descending, rows=True),
                   page=query_int("page", 1, minimum=1), per_page=PER_PAGE, scalars=True,
                   total=current.total(filters, tiles))
    return render_template(
        "scorecard/index.html", rows=table.rows(shown.rows, _partner_page, definitions.currency),
        shown=shown, definitions=definitions,
        filters=filters, query=filters.query(), sort=sort, descending=descending,
        labels=gather.term_labels(), flag_kinds=FLAG_KINDS, health_labels=HEALTH_LABELS,
        tiles=tiles)


def _partner_page(organisation_id: int) -> str:
    # The templates' url_for: it remembers the URLs it built, and a page links 50 partners.
    return template_url_for("scorecard.partner", organisation_id=organisation_id)


@bp.route("/export.<any(csv, json):fmt>")
@require("scorecard", hide=True)
def export(fmt: str):
    now = clock.now()
    cards = current.stream(_filters())
    body = exports.csv_lines(cards) if fmt == "csv" else exports.json_chunks(cards,
                                                                          generated_at=now)
    # Streamed: rows are fetched in batches and written as they come, so exporting
    # thousands of partners never holds the whole document in memory.
    return download(stream_with_context(body), f"scorecard-{now:%Y%m%d-%H%M}.{fmt}",
                    "text/csv" if fmt == "csv" else "application/json")


@bp.route("/partners/<int:organisation_id>")
@require("scorecard", hide=True)
def partner(organisation_id: int):
    organisation = get_organisation_for(current_user, organisation_id)
    now = clock.now()
    definitions = service.definitions()
    # A partner added since the last recompute is scored here, for this page only.
    card = current.card(organisation.id) or service.partner_scorecard(organisation.id, now)
    imports = window(db.session, service.evidence_imports(organisation.id),
                     page=query_int("page", 1, minimum=1), per_page=EVIDENCE_PER_PAGE,
                     scalars=True)
    return render_template(
        "scorecard/partner.html", card=card, definitions=definitions,
        history=service.history(organisation.id), imports=imports.rows, imports_page=imports,
        snapshots=service.snapshots_of(organisation.id), health_labels=HEALTH_LABELS,
        scored_at=datetime.fromisoformat(card["computed_at"]))
