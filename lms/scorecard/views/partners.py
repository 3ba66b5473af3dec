"""The scorecard of all partners (table, filters, sort, exports) and one partner's page."""

from __future__ import annotations

import json
from collections import Counter

from flask import render_template, request
from flask_login import current_user

from lms.accounts.permissions import require
from lms.accounts.scoping import get_organisation_for
from lms.core import clock
from lms.scorecard import exports, gather, service
from lms.scorecard.scoring import FLAG_KINDS
from lms.scorecard.views import bp, download
from lms.scorecard.wording import HEALTH_LABELS

SORTS = ("partner", "score", "coverage", "flags")


def _filters() -> dict:
    args = request.args
    return {"tier": args.get("tier") or None, "region": args.get("region") or None,
            "partner_type": args.get("partner_type") or None,
            "health": args.get("health") if args.get("health") in HEALTH_LABELS else None,
            "flag": args.get("flag") if args.get("flag") in FLAG_KINDS else None}


@bp.route("")
@require("scorecard", hide=True)
def index():
    now = clock.now()
    definitions = service.definitions()
    cards = service.scorecards(now, using=definitions)
    filters = _filters()
    shown = [card for card in cards if service.matches(card, filters)]
    codes = {m.code for m in definitions.metrics}
    sort = request.args.get("sort") if request.args.get("sort") in (*SORTS, *codes) \
        else "partner"
    descending = request.args.get("dir") == "desc"
    key = service.sort_key(sort)
    present = [card for card in shown if key(card)[0] == 0]
    present.sort(key=key, reverse=descending)
    shown = present + [card for card in shown if key(card)[0] != 0]  # gaps last, always
    return render_template(
        "scorecard/index.html", cards=shown, total=len(cards), definitions=definitions,
        filters=filters, query={k: v for k, v in filters.items() if v}, sort=sort,
        descending=descending, labels=gather.term_labels(), flag_kinds=FLAG_KINDS,
        health_labels=HEALTH_LABELS, counts=Counter(card["health"] for card in cards),
        flagged=sum(1 for card in cards if card["flags"]), now=now)


@bp.route("/export.<any(csv, json):fmt>")
@require("scorecard", hide=True)
def export(fmt: str):
    now = clock.now()
    cards = [card for card in service.scorecards(now) if service.matches(card, _filters())]
    name = f"scorecard-{now:%Y%m%d-%H%M}.{fmt}"
    if fmt == "csv":
        return download(exports.as_csv(cards), name, "text/csv")
    return download(json.dumps(exports.as_json(cards, generated_at=now), indent=2,
                               ensure_ascii=False), name, "application/json")


@bp.route("/partners/<int:organisation_id>")
@require("scorecard", hide=True)
def partner(organisation_id: int):
    organisation = get_organisation_for(current_user, organisation_id)
    now = clock.now()
    definitions = service.definitions()
    card = service.partner_scorecard(organisation.id, now)
    found = service.evidence(organisation.id)
    return render_template(
        "scorecard/partner.html", card=card, definitions=definitions,
        history=service.history(organisation.id), imports=found["imports"],
        snapshots=found["snapshots"], health_labels=HEALTH_LABELS, now=now)

