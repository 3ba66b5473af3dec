"""Integrations: webhook endpoints with their delivery log (vendor admins change them,
channel managers read them), and API tokens (everyone here makes their own)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from lms.accounts.permissions import require
from lms.core.errors import DomainError, PermissionDenied
from lms.core.forms import attach_error
from lms.core.jobs import commit
from lms.core.pages import window
from lms.core.params import query_int
from lms.extensions import db
from lms.scorecard import imports, tokens, webhooks
from lms.scorecard.forms import TokenForm, WebhookForm
from lms.scorecard.models import WebhookEndpoint
from lms.scorecard.views import bp

PER_PAGE = 50  # deliveries of a webhook, tokens


def _only_vendor_admins() -> None:
    if current_user.role != "vendor_admin":
        raise PermissionDenied("Only vendor admins change webhooks.")


def _webhooks_page(form: WebhookForm, status: int = 200, created=None):
    endpoints = db.session.scalars(db.select(WebhookEndpoint)
                                   .order_by(WebhookEndpoint.id.desc())).all()
    return render_template("scorecard/webhooks.html", form=form, endpoints=endpoints,
                           created=created, events=webhooks.EVENTS), status


@bp.route("/webhooks", methods=["GET", "POST"])
@require("integrations", hide=True)
def webhooks_page():
    form = WebhookForm()
    if form.is_submitted():
        _only_vendor_admins()
    if not form.validate_on_submit():
        return _webhooks_page(form, 422 if form.errors else 200)
    try:
        endpoint = webhooks.create_endpoint(url=form.url.data,
                                            description=form.description.data or "",
                                            actor_id=current_user.id)
    except DomainError as error:
        db.session.rollback()
        attach_error(form, error)
        return _webhooks_page(form, error.status)
    commit()
    flash("Webhook added. Copy its secret now: receivers need it to check signatures.",
          "success")
    return redirect(url_for("scorecard.webhook", endpoint_id=endpoint.id), code=303)


@bp.route("/webhooks/<int:endpoint_id>")
@require("integrations", hide=True)
def webhook(endpoint_id: int):
    endpoint = webhooks.get_endpoint(endpoint_id)
    listed = window(db.session, webhooks.deliveries(endpoint.id),
                    page=query_int("page", 1, minimum=1), per_page=PER_PAGE, scalars=True)
    sent = listed.rows
    return render_template(
        # Not "endpoint": base.html sets that name for the navigation.
        "scorecard/webhook.html", hook=endpoint, deliveries=sent, listed=listed,
        attempts=webhooks.attempts_of([d.id for d in sent]),
        partners=imports.organisations_of(d.organisation_id for d in sent if d.organisation_id),
        show_secret=current_user.role == "vendor_admin", events=webhooks.EVENTS)


@bp.route("/webhooks/<int:endpoint_id>/deactivate", methods=["POST"])
@require("integrations", hide=True)
def deactivate_webhook(endpoint_id: int):
    _only_vendor_admins()  # (CSRFProtect checks every POST before it gets here)
    endpoint = webhooks.deactivate_endpoint(endpoint_id)
    commit()
    flash(f"Webhook to {endpoint.url} deactivated; nothing more is sent to it.", "success")
    return redirect(url_for("scorecard.webhook", endpoint_id=endpoint.id), code=303)


def _tokens_page(form: TokenForm, status: int = 200, secret: str | None = None):
    shown = window(db.session, tokens.listed(None if current_user.role == "vendor_admin"
                                             else current_user.id),
                   page=query_int("page", 1, minimum=1), per_page=PER_PAGE, scalars=True)
    return render_template("scorecard/tokens.html", form=form, tokens=shown.rows,
                           listed=shown, secret=secret), status


@bp.route("/api-tokens", methods=["GET", "POST"])
@require("integrations", hide=True)
def tokens_page():
    form = TokenForm()
    if not form.validate_on_submit():
        return _tokens_page(form, 422 if form.errors else 200)
    try:
        _token, secret = tokens.create(user_id=current_user.id, name=form.name.data)
    except DomainError as error:
        db.session.rollback()
        attach_error(form, error)
        return _tokens_page(form, error.status)
    commit()
    # Shown once, on this response only: only its hash is kept.
    return _tokens_page(TokenForm(formdata=None), secret=secret)


@bp.route("/api-tokens/<int:token_id>/revoke", methods=["POST"])
@require("integrations", hide=True)
def revoke_token(token_id: int):
    token = tokens.revoke(token_id, actor=current_user)
    commit()
    flash(f"Token “{token.name}” revoked; calls with it are refused from now on.", "success")
    return redirect(url_for("scorecard.tokens_page"), code=303)
