"""The printable certificate: the same statement as the verification page, as a PDF."""

from __future__ import annotations

from flask import render_template

from lms.certifications import public_id, verification
from lms.certifications.models import Certificate
from lms.core import pdf

TEMPLATE = "certificates/certificate.html"


def certificate_context(certificate: Certificate) -> dict:
    """The template's context, taken from the public statement so PDF, page and JSON agree."""
    said = verification.statement(certificate)
    return {
        "holder_name": said.holder_name,
        "organisation_name": said.organisation_name,
        "program_name": said.program_name,
        "program_level": said.program_level,
        "program_code": said.program_code,
        "program_version": said.program_version,
        "issued_on": said.issued_on,
        "expires_on": said.expires_on,
        "public_id": said.public_id,
        "verification_url": said.verification_url,
        "issuer": said.issuer,
        "qr_svg": pdf.qr_svg(said.verification_url,
                             title=f"Verify certificate {said.public_id}"),
        "status": said.status,
        # A fresh PDF of a certificate that no longer holds says why across the page.
        "status_banner": None if said.valid else said.headline,
    }


def subject(context: dict) -> str:
    """The PDF's Subject field: which certificate, and until when (or why not) it holds."""
    if context["status_banner"]:
        standing = context["status_banner"][:1].lower() + context["status_banner"][1:]
    else:
        day = context["expires_on"]
        standing = f"valid until {day.day} {day:%B %Y}"
    return f"Certificate {context['public_id']}, {context['program_name']}, {standing}"


def render_certificate(certificate: Certificate) -> bytes:
    """The certificate as PDF bytes, stating its status as of now."""
    context = certificate_context(certificate)
    html = render_template(TEMPLATE, **context)
    return pdf.render_pdf(html, title=f"{context['program_name']} — {context['holder_name']}",
                          author=context["issuer"], subject=subject(context))


def filename(certificate: Certificate) -> str:
    """An ASCII download name: the program code and the certificate's display ID."""
    code = "".join(c if c.isascii() and (c.isalnum() or c == "-") else "-"
                   for c in certificate.program_code.lower()).strip("-") or "certificate"
    return f"{code}-{public_id.display(certificate.public_id)}.pdf"
