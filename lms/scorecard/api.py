"""The scorecard JSON API: push metric values, read the current scorecard.

Authenticated by bearer token only (tokens.py), never by cookie: the /api/ prefix has no
session at all (lms.core.web), so exempting it from CSRF lets nothing ride on a browser's
cookies. Errors are JSON naming the field (and for values, each bad row's index).
"""

from __future__ import annotations

import base64
import json

from flask import Blueprint, current_app, g, jsonify, request, url_for

from lms.core import clock
from lms.core.errors import DomainError, Invalid
from lms.core.jobs import commit
from lms.core.params import query_int
from lms.extensions import csrf, db
from lms.scorecard import current as stored
from lms.scorecard import exports, imports, service, tokens

bp = Blueprint("scorecard_api", __name__, url_prefix="/api/v1/scorecard")
csrf.exempt(bp)
MAX_BODY = 8 * 1024 * 1024


class BadRequest(DomainError):
    status = 400
    title = "Bad request"


@bp.errorhandler(tokens.Unauthorized)
def _unauthorized(error: tokens.Unauthorized):
    db.session.rollback()
    response = jsonify(error.to_dict())
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="scorecard"'
    return response


@bp.before_request
def _authenticate():
    g.api_user, g.api_token = tokens.authenticate(request.headers.get("Authorization"))


PER_PAGE = 100
MAX_PER_PAGE = 500


def _cursor(position: tuple[str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode().rstrip("=")


def _position(cursor: str | None) -> tuple[str, int] | None:
    """The position a `next_cursor` stands for; 422 naming `cursor` for anything else."""
    if not cursor:
        return None
    try:
        name_key, organisation_id = json.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if isinstance(name_key, str) and type(organisation_id) is int:
            return name_key, organisation_id
    except (ValueError, TypeError):
        pass
    raise Invalid("Give the cursor exactly as next_cursor returned it.", field="cursor")


@bp.route("", methods=["GET"])
def current():
    """The partners' current scorecards, as the last recompute stored them, a page at a
    time by name (?per_page=, then ?cursor= from next_cursor); ?partner_id= for one."""
    now = clock.now()
    partner = query_int("partner_id", minimum=1)
    per_page = query_int("per_page", PER_PAGE, minimum=1, maximum=MAX_PER_PAGE)
    summary = stored.tiles()
    if partner is not None:
        # One partner: the stored card, or (new since the last recompute) scored now.
        card = stored.card(partner)
        cards = [card] if card is not None else service.scorecards(now, [partner])
        following = None
    else:
        cards, following = stored.after(_position(request.args.get("cursor")), per_page)
    commit()  # the token's last use
    body = exports.as_json(cards, generated_at=now)
    body["page"] = {
        "per_page": per_page,
        "total": len(cards) if partner is not None else summary["scored"],
        # Partners added since the last recompute: listed once it has scored them.
        "not_scored_yet": 0 if partner is not None else summary["unscored"],
        "next_cursor": _cursor(following) if following else None,
        "next": current_app.config["BASE_URL"].rstrip("/") + url_for(
            "scorecard_api.current", cursor=_cursor(following), per_page=per_page)
        if following else None,
    }
    return jsonify(body)


@bp.route("/metrics", methods=["POST"])
def push_metrics():
    """{"values": [{"partner" or "partner_id", "metric", "value", "as_of"}]} -> 201.

    All or nothing: one bad value and nothing is imported (422 listing every bad one;
    the refused call is recorded among the imports).
    """
    if (request.content_length or 0) > MAX_BODY:
        raise BadRequest(f"The body is larger than {MAX_BODY // 1024 // 1024} MB.",
                         field="values")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest('Send a JSON object such as {"values": [{"partner": "Northwind", '
                         '"metric": "pipeline_velocity", "value": 4200, "as_of": '
                         '"2026-09-30"}]} with Content-Type: application/json.',
                         field="values")
    unknown = sorted(set(body) - {"values", "source_name"})
    if unknown:
        raise Invalid(f"Unknown field {unknown[0]!r}.", field=unknown[0])
    definitions = service.definitions()
    now = clock.now()
    name = body.get("source_name")
    name = str(name)[:255] if name else None
    try:
        values = imports.check_api_values(body.get("values"), definitions, today=now.date())
    except imports.RowsInvalid as error:
        db.session.rollback()
        imports.reject(error.problems, actor_id=g.api_user.id, token_id=g.api_token.id,
                       source="api", file_name=name, rows=len(body["values"]))
        commit()
        raise
    record = imports.apply(values, actor_id=g.api_user.id, token_id=g.api_token.id,
                           source="api", file_name=name, now=now,
                           definition_version=definitions.version)
    changes = imports.changes_of(record.id)
    commit()
    return jsonify(import_id=record.id, rows=record.rows, changed=record.changed,
                   unchanged=record.rows - record.changed, changes=changes), 201
