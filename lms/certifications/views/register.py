"""The vendor's certificate register: every certificate, one certificate's record, revoking."""

from __future__ import annotations

from datetime import datetime

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from lms.accounts.models import Organisation, User
from lms.accounts.permissions import can, require
from lms.certifications import lifecycle, lists, notices, service, verification
from lms.certifications import public_id as ids
from lms.certifications.forms import RevokeForm
from lms.certifications.models import (
    STATUSES,
    Certificate,
    CertificateEvent,
    CertificateNotice,
    Program,
    ProgramVersion,
)
from lms.certifications.views import bp, short_date
from lms.core import clock
from lms.core.errors import DomainError, PermissionDenied
from lms.core.forms import attach_error
from lms.core.jobs import commit
from lms.core.mail import OutboxMessage
from lms.core.params import query_int, query_text
from lms.extensions import db

PER_PAGE = 50


def _register_filters() -> dict:
    args = request.args

    status = args.get("status") if args.get("status") in STATUSES else None
    return {"status": status, "program": query_int("program", minimum=1),
            "organisation": query_int("organisation", minimum=1),
            "within": query_int("within", minimum=1, maximum=3650),
            "q": query_text("q", lists.SEARCH_CHARACTERS),
            "partner": query_text("partner", lists.SEARCH_CHARACTERS)}


@bp.route("/admin/certificates")
@require("list_partners", hide=True)
def register():
    now = clock.now()
    filters = _register_filters()
    found = lists.register_page(
        status=filters["status"], program_id=filters["program"],
        organisation_id=filters["organisation"], within_days=filters["within"],
        page=query_int("page", 1, minimum=1), per_page=PER_PAGE, now=now,
        search=filters["q"], partner=filters["partner"])
    rows = found.rows
    programs = db.session.execute(
        select(Program.id, func.coalesce(ProgramVersion.name, Program.code))
        .outerjoin(ProgramVersion, ProgramVersion.id == Program.current_version_id)
        .order_by(func.coalesce(ProgramVersion.name, Program.code))).all()
    # Partners are found by name (a search box), not picked from a list of thousands; a
    # link from a partner's page filters by its id, named here.
    chosen = db.session.get(Organisation, filters["organisation"]) \
        if filters["organisation"] else None
    return render_template(
        "certifications/register.html", rows=rows, counts=found.counts, total=found.total,
        page=found.page, pages=found.pages, filters=filters, programs=programs,
        chosen_organisation=chosen,
        statuses={c.id: lifecycle.status(c, now) for c in rows}, now=now,
        query={k: v for k, v in filters.items() if v})


def _evidence(certificate: Certificate) -> list[dict]:
    """The certificate's evidence as label and detail lines for people."""
    lines = []
    for item in certificate.evidence or []:
        kind = item.get("kind")
        if kind == "assessment":
            when = datetime.fromisoformat(item["passed_at"])
            lines.append({"label": f"Passed {item.get('title', item['slug'])}",
                          "detail": f"{item['percent']:g}% on {short_date(when)} · attempt "
                                    f"{item.get('attempt_public_id', item.get('attempt_id'))}"
                                    f" · assessment version {item.get('version')}"})
        elif kind == "track":
            when = datetime.fromisoformat(item["completed_at"])
            lines.append({"label": f"Completed the {item.get('title', item['slug'])} track",
                          "detail": f"on {short_date(when)} · track version {item.get('version')} "
                                    f"(#{item.get('track_version_id')})"})
        elif kind == "certification":
            lines.append({"label": f"Held the {item['code']} certification",
                          "detail": ids.display(item["public_id"]),
                          "url": notices.verification_url(item["public_id"])})
        elif kind == "renewal_of":
            lines.append({"label": "Renewal of " + ids.display(item["public_id"]),
                          "detail": "which was valid until "
                                    + short_date(datetime.fromisoformat(item["expires_at"]))})
        else:
            lines.append({"label": str(kind), "detail": str(item)})
    return lines


def _certificate_page(certificate: Certificate, form: RevokeForm, status: int = 200):
    now = clock.now()
    chain = db.session.scalars(select(Certificate).where(
        Certificate.user_id == certificate.user_id,
        Certificate.program_id == certificate.program_id).order_by(Certificate.cycle)).all()
    renewal = next((c for c in chain if c.renewal_of_id == certificate.id), None)
    events = db.session.execute(
        select(CertificateEvent, User.full_name)
        .outerjoin(User, User.id == CertificateEvent.actor_id)
        .where(CertificateEvent.certificate_id == certificate.id)
        .order_by(CertificateEvent.at, CertificateEvent.id)).all()
    sent = db.session.execute(
        select(CertificateNotice, OutboxMessage)
        .outerjoin(OutboxMessage, OutboxMessage.id == CertificateNotice.outbox_message_id)
        .where(CertificateNotice.certificate_id == certificate.id)
        .order_by(CertificateNotice.at, CertificateNotice.id)).all()
    return render_template(
        "certifications/certificate.html", certificate=certificate, form=form,
        said=verification.statement(certificate, now=now,
                                    renewal_id=renewal.public_id if renewal else None),
        holder=db.session.get(User, certificate.user_id), chain=chain,
        statuses={c.id: lifecycle.status(c, now) for c in chain}, renewal=renewal,
        events=events, notices=sent, evidence=_evidence(certificate),
        display=ids.display, now=now), status


@bp.route("/admin/certificates/<int:certificate_id>")
@require("list_partners", hide=True)
def certificate(certificate_id: int):
    return _certificate_page(service.get_certificate(certificate_id), RevokeForm())


@bp.route("/admin/certificates/<int:certificate_id>/revoke", methods=["POST"])
# Those who may read the certificate learn that revoking is not theirs (403); to anyone
# else it does not exist.
@require("list_partners", hide=True)
def revoke(certificate_id: int):
    certificate = service.get_certificate(certificate_id)
    if not can("administer"):
        raise PermissionDenied("Only vendor admins revoke certificates.")
    form = RevokeForm()
    if not form.validate_on_submit():
        return _certificate_page(certificate, form, 422)
    try:
        service.revoke(certificate.id, reason=form.reason.data, actor=current_user)
    except DomainError as error:
        db.session.rollback()
        attach_error(form, error)
        return _certificate_page(certificate, form, error.status)
    commit()
    flash(f"Certificate {ids.display(certificate.public_id)} of {certificate.holder_name} is "
          "revoked. Its verification page says so now, and the holder was told.", "success")
    return redirect(url_for("certifications.certificate", certificate_id=certificate.id),
                    code=303)
