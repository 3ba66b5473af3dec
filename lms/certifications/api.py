"""The certificate verification API: one certificate, or up to 1,000 at once (JSON).

Public and cookie-free, so CSRF does not apply; rate-limited per client like the page.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from lms.certifications import verification, verify_views
from lms.core import clock
from lms.core.errors import DomainError, Invalid
from lms.extensions import csrf

bp = Blueprint("certifications_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
bp.register_error_handler(verification.RateLimited, verify_views.rate_limited)

MAX_BODY = 1024 * 1024  # 1,000 IDs fit many times over


class BadRequest(DomainError):
    status = 400
    title = "Bad request"


@bp.after_request
def _public(response):
    headers = response.headers
    if request.endpoint == "certifications_api.certificate":
        # Anyone's page may check a certificate from the browser (public data, no cookies).
        headers.add("Access-Control-Allow-Origin", "*")
        headers.add("Access-Control-Expose-Headers", "Retry-After")
    headers.add("Cache-Control", "no-store")  # fresh responses carry none of these yet
    return response


@bp.route("/certificates/<public_id>")
def certificate(public_id: str):
    """The statement: the same facts as /verify/<id>. 404 unknown, 422 a typo (field "id")."""
    verify_views.throttle()
    return jsonify(verification.statement_for(public_id).as_json())


@bp.route("/certificates/verify", methods=["POST"])
def verify_many():
    """{"ids": [...]} (up to 1,000) -> {"results": [...], "checked_at": ...}, in order.

    One call counts once against the rate limit, however many IDs it carries.
    """
    if (request.content_length or 0) > MAX_BODY:
        raise BadRequest(f"The body is larger than {MAX_BODY // 1024} kB.", field="ids")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest('Send a JSON object such as {"ids": ["7K3M-9QPX-..."]} with '
                         "Content-Type: application/json.", field="ids")
    typed = body.get("ids")
    if not isinstance(typed, list):
        raise Invalid('"ids" must be a list of certificate IDs.', field="ids")
    wrong = next((i for i, value in enumerate(typed) if not isinstance(value, str)), None)
    if wrong is not None:
        raise Invalid(f"ids[{wrong}] is not a string; every ID must be one.", field="ids")
    # One lookup plus one per 100 IDs: a full batch of 1,000 costs 11 of the minute's
    # allowance, so bulk checks stay cheap without multiplying the limit a thousandfold.
    verify_views.throttle(cost=1 + len(typed) // 100)
    now = clock.now()
    return jsonify(results=verification.bulk(typed, now=now),  # more than 1,000: 422 "ids"
                   checked_at=now.isoformat(timespec="seconds"))
