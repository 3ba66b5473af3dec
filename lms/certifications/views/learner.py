"""A person's own certifications: standing in every program, history, PDF, sharing."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from flask import Response, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import and_, select

from lms.accounts import scoping
from lms.accounts.models import User
from lms.assessments.models import Assessment, AssessmentVersion
from lms.assessments.outcomes import Outcome
from lms.catalog.models import Assignment, Track, TrackVersion
from lms.certifications import lifecycle, notices, service, verification
from lms.certifications import public_id as ids
from lms.certifications.eligibility import Check
from lms.certifications.models import Certificate
from lms.certifications.pdf import filename, render_certificate
from lms.certifications.views import bp, countdown, short_date
from lms.core import clock
from lms.core.errors import NotFound
from lms.extensions import db


def linkedin_url(said: verification.Statement) -> str:
    """LinkedIn's "Add to profile" link for a certification, prefilled (no LinkedIn script)."""
    params = {
        "startTask": "CERTIFICATION_NAME", "name": said.program_name,
        "organizationName": said.issuer,
        "issueYear": said.issued_on.year, "issueMonth": said.issued_on.month,
        "expirationYear": said.expires_on.year, "expirationMonth": said.expires_on.month,
        "certUrl": said.verification_url, "certId": said.public_id,
    }
    return "https://www.linkedin.com/profile/add?" + urlencode(params, quote_via=quote, safe="")


@dataclass
class Step:
    """One named check with where to go to meet it."""

    check: Check
    url: str | None = None
    action: str | None = None
    note: str | None = None


@dataclass
class Card:
    standing: service.Standing
    steps: list[Step]
    said: verification.Statement | None
    countdown: str | None
    renewal_note: str | None
    linkedin: str | None
    for_role: bool
    done: int = field(init=False)

    def __post_init__(self):
        self.done = sum(step.check.done for step in self.steps)


def _renewal_slugs(standing: service.Standing) -> list[tuple[str, str]]:
    """What the next renewal will ask for (shown while the certificate is held)."""
    renewal = standing.version.renewal
    targets = [("assessment", renewal["assessment"])] if renewal.get("assessment") else []
    tracks = list(renewal.get("tracks", []))
    delta = standing.certificate.delta_track if standing.certificate else None
    if delta and delta not in tracks:
        tracks.append(delta)
    return targets + [("track", slug) for slug in tracks]


def _targets(standing: service.Standing) -> list[tuple[str, str] | None]:
    """What each check is about (a track, an assessment, a certification), to link it."""
    return [check.about for check in standing.checks]


def _learning_index(user_id: int, slugs: set[str]) -> tuple[dict, dict]:
    """Live tracks {slug: (title, assigned)} and assessments {slug: title}: two queries."""
    tracks = {slug: (title, assigned is not None) for slug, title, assigned in db.session.execute(
        select(Track.slug, TrackVersion.title, Assignment.id)
        .join(TrackVersion, TrackVersion.id == Track.current_version_id)
        .outerjoin(Assignment, and_(Assignment.track_id == Track.id,
                                    Assignment.user_id == user_id))
        .where(Track.slug.in_(slugs), Track.archived_at.is_(None)))}
    assessments = dict(db.session.execute(
        select(Assessment.slug, AssessmentVersion.title)
        .join(AssessmentVersion, AssessmentVersion.id == Assessment.current_version_id)
        .where(Assessment.slug.in_(slugs), Assessment.archived_at.is_(None))).all())
    return tracks, assessments


def _step(check: Check, target: tuple[str, str] | None, tracks: dict, assessments: dict,
          vendor_staff: bool) -> Step:
    if check.done or target is None:
        return Step(check)
    kind, slug = target
    if kind == "assessment" and slug in assessments:
        return Step(check, url_for("assessments.start_page", slug=slug), "Go to the exam")
    if kind == "track" and slug in tracks:
        if tracks[slug][1] or vendor_staff:
            return Step(check, url_for("catalog.track", slug=slug), "Open the track")
        return Step(check, note="This track is not assigned to you yet: ask your partner "
                                "admin to assign it.")
    if kind == "certification":
        return Step(check, f"#program-{slug}", "See that certification")
    return Step(check)


def _renewal_note(standing: service.Standing, tracks: dict, assessments: dict) -> str:
    certificate = standing.certificate
    needs = [f"pass the {assessments.get(slug, slug)}" if kind == "assessment"
             else f"complete the {tracks.get(slug, (slug,))[0]} track"
             for kind, slug in _renewal_slugs(standing)]
    when = f"Renewal opens on {short_date(certificate.renewal_opens_at)}"
    if not needs:
        return when + "."
    return f"{when}; to renew you will need to {' and '.join(needs)} by " \
           f"{short_date(certificate.expires_at)}."


@bp.route("/certifications")
@login_required
def mine():
    now = clock.now()
    user = current_user
    standings = service.standings(user.id, now)
    if user.is_vendor_staff:  # vendor staff see only what they hold
        standings = [s for s in standings if s.certificate is not None]
    history = list(db.session.scalars(select(Certificate).where(Certificate.user_id == user.id)
                                      .order_by(Certificate.issued_at.desc(),
                                                Certificate.id.desc())))
    renewals = {c.renewal_of_id: c.public_id for c in history if c.renewal_of_id}
    statuses = {c.id: lifecycle.status(c, now) for c in history}
    wanted = [t for s in standings for t in _targets(s) if t]
    wanted += [t for s in standings if s.phase == "held" for t in _renewal_slugs(s)]
    tracks, assessments = _learning_index(user.id, {slug for _, slug in wanted})
    cards = []
    for standing in standings:
        certificate = standing.certificate
        said = verification.statement(certificate, renewal_id=renewals.get(certificate.id),
                                      now=now) if certificate else None
        steps = [_step(check, target, tracks, assessments, user.is_vendor_staff)
                 for check, target in zip(standing.checks, _targets(standing), strict=True)]
        roles = standing.version.job_roles or []
        cards.append(Card(
            standing, steps, said,
            countdown(certificate, standing.status, now) if certificate else None,
            _renewal_note(standing, tracks, assessments) if standing.phase == "held" else None,
            linkedin_url(said) if said and said.valid else None,
            for_role=certificate is not None or not roles or user.job_role in roles))
    return render_template(
        "certifications/mine.html", cards=[c for c in cards if c.for_role],
        others=[c for c in cards if not c.for_role], history=history, statuses=statuses,
        countdowns={c.id: countdown(c, statuses[c.id], now) for c in history},
        display=ids.display, verify_url=notices.verification_url)


def _scoped_certificate(actor: User, typed_id: str) -> Certificate:
    """A certificate the actor may see (holder, their partner admin, vendor staff), or 404."""
    try:
        canonical = ids.normalise(typed_id)
    except ValueError as error:
        raise NotFound("No such certificate.") from error
    certificate = db.session.scalar(scoping.scope_users(
        select(Certificate).join(User, User.id == Certificate.user_id)
        .where(Certificate.public_id == canonical), actor))
    if certificate is None:
        raise NotFound("No such certificate.")
    return certificate


@bp.route("/certifications/<public_id>/certificate.pdf")
@login_required
def certificate_pdf(public_id: str):
    certificate = _scoped_certificate(current_user, public_id)
    return Response(render_certificate(certificate), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename(certificate)}"',
        # The status printed on it can change at any moment (revoked, expired, renewed).
        "Cache-Control": "no-store",
    })


def issued_on_result(user_id: int, *, attempt, **_) -> list[Outcome]:
    """For an attempt's result page: the certificates that attempt earned (its evidence),
    with their PDF, sharing and verification links."""
    if not attempt.passed:
        return []
    now = clock.now()
    found = []
    for certificate in db.session.scalars(
            select(Certificate).where(Certificate.user_id == user_id,
                                      Certificate.issued_at >= attempt.submitted_at)
            .order_by(Certificate.issued_at, Certificate.id).limit(20)):
        if not any(item.get("kind") == "assessment" and item.get("attempt_id") == attempt.id
                   for item in certificate.evidence or []):
            continue
        said = verification.statement(certificate, now=now)
        found.append(Outcome("certifications/_issued_on_result.html", {
            "certificate": certificate, "said": said,
            "linkedin": linkedin_url(said) if said.valid else None,
            "pdf_url": url_for("certifications.certificate_pdf", public_id=said.public_id),
            "renewal": certificate.renewal_of_id is not None}))
    return found
