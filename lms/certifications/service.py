"""Certification lifecycle operations: standing, issuing, renewing, revoking.

Services take explicit arguments, flush and never commit. Issuing is idempotent: the
unique (user, program, cycle) constraint decides a race, inside a savepoint.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from lms.accounts.models import User
from lms.assessments.access import Refusal
from lms.assessments.models import Assessment, AssessmentVersion, Attempt
from lms.catalog.models import Lesson, LessonCompletion, Track, TrackCompletion, TrackVersion
from lms.certifications import counts, eligibility, lifecycle, notices, public_id
from lms.certifications.eligibility import (
    AssessmentFact,
    AttemptFact,
    Check,
    Facts,
    HeldFact,
    TrackFact,
)
from lms.certifications.models import (
    Certificate,
    CertificateEvent,
    Program,
    ProgramVersion,
)
from lms.certifications.sync import SWEPT_SETTING
from lms.core import clock, events, settings
from lms.core.errors import Conflict, Invalid, NotFound
from lms.extensions import db

# --- programs --------------------------------------------------------------------------------


def current_versions() -> list[ProgramVersion]:
    """Every live program's current version, prerequisites before the programs needing them."""
    versions = list(db.session.scalars(
        select(ProgramVersion).join(Program, Program.current_version_id == ProgramVersion.id)
        .where(Program.archived_at.is_(None)).order_by(ProgramVersion.name)))
    return _prerequisites_first(versions)


def _prerequisites_first(versions: list[ProgramVersion]) -> list[ProgramVersion]:
    by_code = {v.program.code: v for v in versions}
    ordered: list[ProgramVersion] = []

    def visit(version: ProgramVersion, path: frozenset) -> None:
        if version in ordered or version.program.code in path:
            return
        for code in version.requirements.get("certifications", []):
            if code in by_code:
                visit(by_code[code], path | {version.program.code})
        ordered.append(version)

    for version in versions:
        visit(version, frozenset())
    return ordered


def _referenced(versions: list[ProgramVersion]) -> tuple[set[str], set[str]]:
    tracks, assessments = set(), set()
    for version in versions:
        tracks.update(version.requirements.get("tracks", []))
        tracks.update(version.renewal.get("tracks", []))
        assessments.update(version.requirements.get("assessments", []))
        if version.renewal.get("assessment"):
            assessments.add(version.renewal["assessment"])
        if version.delta_track:
            tracks.add(version.delta_track)
    return tracks, assessments


# --- facts -----------------------------------------------------------------------------------


def gather_facts(user_id: int, versions: list[ProgramVersion], now: datetime) -> Facts:
    """One person's completions, attempts and certificates, in a fixed number of queries."""
    track_slugs, assessment_slugs = _referenced(versions)
    # Delta tracks flagged on old certificates may name tracks no current version lists.
    track_slugs |= set(db.session.scalars(select(Certificate.delta_track).where(
        Certificate.user_id == user_id, Certificate.delta_track.is_not(None))))
    facts = Facts(now=now)

    completions = defaultdict(list)
    for slug, completed_at, version_id, number in db.session.execute(
            select(Track.slug, TrackCompletion.completed_at, TrackCompletion.track_version_id,
                   TrackVersion.number)
            .join(Track, Track.id == TrackCompletion.track_id)
            .join(TrackVersion, TrackVersion.id == TrackCompletion.track_version_id)
            .where(TrackCompletion.user_id == user_id, Track.slug.in_(track_slugs))
            .order_by(TrackCompletion.completed_at.desc())):
        completions[slug].append((completed_at, version_id, number))
    done_lessons = (select(func.count(LessonCompletion.id))
                    .join(Lesson, Lesson.id == LessonCompletion.lesson_id)
                    .where(LessonCompletion.user_id == user_id,
                           Lesson.track_version_id == TrackVersion.id)
                    .scalar_subquery())
    all_lessons = (select(func.count(Lesson.id))
                   .where(Lesson.track_version_id == TrackVersion.id).scalar_subquery())
    for slug, title, total, done, version_id in db.session.execute(
            select(Track.slug, TrackVersion.title, all_lessons, done_lessons, TrackVersion.id)
            .join(TrackVersion, TrackVersion.id == Track.current_version_id)
            .where(Track.slug.in_(track_slugs))):
        facts.tracks[slug] = TrackFact(slug, title, total, done, tuple(completions[slug]),
                                       version_id)

    attempts = defaultdict(list)
    for slug, attempt, number in db.session.execute(
            select(Assessment.slug, Attempt, AssessmentVersion.number)
            .join(Assessment, Assessment.id == Attempt.assessment_id)
            .join(AssessmentVersion, AssessmentVersion.id == Attempt.assessment_version_id)
            .where(Attempt.user_id == user_id, Attempt.status != "in_progress",
                   Assessment.slug.in_(assessment_slugs))):
        attempts[slug].append(AttemptFact(attempt.id, attempt.public_id, attempt.percent or 0.0,
                                          bool(attempt.passed), attempt.submitted_at, number))
    for slug, title, pass_mark, max_attempts in db.session.execute(
            select(Assessment.slug, AssessmentVersion.title, AssessmentVersion.pass_mark,
                   AssessmentVersion.max_attempts)
            .join(AssessmentVersion, AssessmentVersion.id == Assessment.current_version_id)
            .where(Assessment.slug.in_(assessment_slugs))):
        facts.assessments[slug] = AssessmentFact(slug, title, pass_mark, tuple(attempts[slug]),
                                                 max_attempts)

    for certificate in certificates_of(user_id):  # oldest first: the latest cycle wins
        facts.held[certificate.program_code] = HeldFact(
            certificate.program_code, certificate.program_name, certificate.public_id,
            lifecycle.status(certificate, now), certificate.expires_at)
    return facts


def certificates_of(user_id: int) -> list[Certificate]:
    return list(db.session.scalars(select(Certificate).where(Certificate.user_id == user_id)
                                   .order_by(Certificate.program_id, Certificate.cycle)))


# --- standing: where a person is with each program -------------------------------------------


@dataclass
class Standing:
    version: ProgramVersion
    certificate: Certificate | None  # the latest cycle
    status: str | None  # lifecycle status of that certificate
    # "earn" (first time or after a lapse), "renew" (window or grace open), "held", "revoked"
    phase: str
    checks: list[Check]

    @property
    def ready(self) -> bool:
        return self.phase in ("earn", "renew") and eligibility.all_done(self.checks)

    @property
    def remaining(self) -> list[Check]:
        return [check for check in self.checks if not check.done]


def standing_for(version: ProgramVersion, latest: Certificate | None, facts: Facts,
                 names: dict[str, str]) -> Standing:
    now = facts.now
    if latest is None:
        return Standing(version, None, None, "earn",
                        eligibility.initial_checks(facts, version.requirements, names))
    state = lifecycle.status(latest, now)
    if state == "revoked":
        return Standing(version, latest, state, "revoked", [])
    if lifecycle.renewable(latest, now):
        return Standing(version, latest, state, "renew", eligibility.renewal_checks(
            facts, version.renewal, window_opened_at=latest.renewal_opens_at,
            delta_track=latest.delta_track))
    if lifecycle.lapsed(latest, now):
        return Standing(version, latest, state, "earn", eligibility.after_lapse_checks(
            facts, version.requirements, version.renewal, names,
            lapsed_at=latest.expires_at))
    return Standing(version, latest, state, "held", [])


def standings(user_id: int, now: datetime | None = None) -> list[Standing]:
    """For every live program: the person's certificate, status and what is done and left."""
    now = now or clock.now()
    versions = current_versions()
    facts = gather_facts(user_id, versions, now)
    latest = {c.program_id: c for c in certificates_of(user_id)}
    names = {v.program.code: v.name for v in versions}
    return [standing_for(v, latest.get(v.program_id), facts, names) for v in versions]


# --- issuing ---------------------------------------------------------------------------------


def award_due(user_id: int) -> list[Certificate]:
    """Issue or renew every certificate whose requirements the person now meets. Idempotent."""
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return []
    now = clock.now()
    versions = current_versions()
    if not versions:
        return []
    facts = gather_facts(user_id, versions, now)
    latest = {c.program_id: c for c in certificates_of(user_id)}
    names = {v.program.code: v.name for v in versions}
    issued = []
    for version in versions:  # prerequisites first, so one pass can earn a chain
        standing = standing_for(version, latest.get(version.program_id), facts, names)
        if not standing.ready:
            continue
        certificate = _issue(user, version, standing, now)
        if certificate is not None:
            issued.append(certificate)
            latest[version.program_id] = certificate
            facts.held[version.program.code] = HeldFact(
                version.program.code, certificate.program_name, certificate.public_id,
                lifecycle.status(certificate, now), certificate.expires_at)
    return issued


def _issue(user: User, version: ProgramVersion, standing: Standing,
           now: datetime) -> Certificate | None:
    previous = standing.certificate
    renews = previous if standing.phase == "renew" else None
    dates = lifecycle.dates_for(now, validity_months=version.validity_months,
                                renewal_window_days=version.renewal_window_days,
                                grace_days=version.grace_days, renews=renews)
    evidence = [check.evidence for check in standing.checks if check.evidence]
    # Read the person again under a share lock: a move to another partner waits for this
    # certificate to be committed, then moves it too (holders.on_user_changed), and one
    # that came first is seen here.
    db.session.refresh(user, with_for_update={"read": True})
    if renews is not None:
        evidence.append({"kind": "renewal_of", "public_id": renews.public_id,
                         "expires_at": renews.expires_at.isoformat()})
    organisation = user.organisation
    certificate = Certificate(
        public_id=public_id.generate(), user_id=user.id,
        organisation_id=organisation.id if organisation else None,
        program_id=version.program_id, program_version_id=version.id,
        cycle=(previous.cycle + 1) if previous else 1,
        holder_name=user.full_name, organisation_name=organisation.name if organisation else "",
        program_code=version.program.code, program_name=version.name,
        program_level=version.level, program_version_number=version.number,
        issuer=settings.get("vendor_name"), issued_at=dates.issued_at,
        expires_at=dates.expires_at, renewal_opens_at=dates.renewal_opens_at,
        grace_ends_at=dates.grace_ends_at, evidence=evidence,
        renewal_of_id=renews.id if renews else None,
        holder_organisation_id=user.organisation_id, holder_active=user.active)
    try:
        with db.session.begin_nested():
            db.session.add(certificate)
            db.session.flush()
    except IntegrityError as error:
        # Someone else issued this cycle first (a concurrent request or the periodic job).
        # Logged, so any other refused row does not pass silently tick after tick.
        current_app.logger.info("certificate not issued (%s cycle %s for user %s): %s",
                                version.program.code, certificate.cycle, user.id,
                                error.orig)
        return None
    counts.issued(certificate)
    if previous is not None:
        previous.latest = False  # this cycle is the holder's latest now
    display = public_id.display(certificate.public_id)
    if renews is not None:
        was = counts.state(renews)
        renews.superseded_at = now
        counts.moved(renews, was)
        _log(renews, "superseded", f"renewed as {display}", at=now)
        _log(certificate, "issued", f"renewal of {public_id.display(renews.public_id)}", at=now)
    else:
        _log(certificate, "issued", f"cycle {certificate.cycle}", at=now)
    db.session.flush()
    events.certificate_issued.send(user.id, certificate_id=certificate.id,
                                   program_code=certificate.program_code,
                                   renewal=renews is not None)
    notices.notify(certificate, "issued", to=user.email,
                   subject=(f"Renewed: {certificate.program_name}" if renews
                            else f"You are certified: {certificate.program_name}"),
                   template="certificate_issued", renewal=renews is not None)
    return certificate


# Evidence is stamped inside its transaction and becomes visible at commit: look back this
# far before the last sweep so a slow commit is never skipped.
SWEEP_OVERLAP = timedelta(hours=1)


def award_due_everyone() -> int:
    """The periodic safety net: award anything the events missed. Returns how many.

    Only people with evidence since the last sweep are looked at, so a tick with nothing
    new costs a few queries however many learners there are. A content sync that changes
    a program clears the mark, and the next sweep looks at everyone once.
    """
    versions = current_versions()
    if not versions:
        return 0
    now = clock.now()
    swept = settings.get(SWEPT_SETTING)
    since = datetime.fromisoformat(swept) - SWEEP_OVERLAP if swept else None
    track_slugs, assessment_slugs = _referenced(versions)
    completions = (select(TrackCompletion.user_id)
                   .join(Track, Track.id == TrackCompletion.track_id)
                   .where(Track.slug.in_(track_slugs)))
    passes = (select(Attempt.user_id).join(Assessment, Assessment.id == Attempt.assessment_id)
              .where(Assessment.slug.in_(assessment_slugs), Attempt.passed.is_(True)))
    if since is not None:
        completions = completions.where(TrackCompletion.completed_at >= since)
        passes = passes.where(Attempt.submitted_at >= since)
    candidates = set(db.session.scalars(completions.distinct()))
    candidates |= set(db.session.scalars(passes.distinct()))
    awarded = sum(len(award_due(user_id)) for user_id in sorted(candidates))
    settings.put(SWEPT_SETTING, now.isoformat())
    return awarded


def reopening_for(user_id: int, assessment_slug: str) -> datetime | None:
    """Since when an assessment the person passed counts again: its renewal window, or the
    lapse of a certification it earns. None when nothing reopens it."""
    return reopenings_for(user_id, [assessment_slug]).get(assessment_slug)


def reopenings_for(user_id: int, assessment_slugs) -> dict[str, datetime]:
    """reopening_for() of several assessments at once, from one query of the person's
    certificates: {slug: since when it counts again}, only for those reopened."""
    now = clock.now()
    latest: dict[int, tuple[Certificate, ProgramVersion]] = {}
    for certificate, version in db.session.execute(
            select(Certificate, ProgramVersion)
            .join(Program, Program.id == Certificate.program_id)
            .join(ProgramVersion, ProgramVersion.id == Program.current_version_id)
            .where(Certificate.user_id == user_id, Program.archived_at.is_(None))
            .order_by(Certificate.cycle)):
        latest[certificate.program_id] = (certificate, version)
    found: dict[str, datetime] = {}
    for assessment_slug in assessment_slugs:
        moments = []
        for certificate, version in latest.values():
            if (lifecycle.renewable(certificate, now)
                    and version.renewal.get("assessment") == assessment_slug):
                moments.append(certificate.renewal_opens_at)
            elif lifecycle.lapsed(certificate, now) and (
                    assessment_slug in version.requirements.get("assessments", [])
                    or (not version.requirements.get("assessments")
                        and version.renewal.get("assessment") == assessment_slug)):
                moments.append(certificate.expires_at)
        if moments:
            found[assessment_slug] = max(moments)
    return found


def programs_counting(assessment_slug: str) -> list[str]:
    """Names of the live programs a pass of this assessment counts toward."""
    return [version.name for version in db.session.scalars(
        select(ProgramVersion).join(Program, Program.current_version_id == ProgramVersion.id)
        .where(Program.archived_at.is_(None)))
        if assessment_slug in version.requirements.get("assessments", [])
        or version.renewal.get("assessment") == assessment_slug]


def renewal_exam_refusal(user_id: int, assessment_slug: str) -> Refusal | None:
    """Why this person may not start an assessment that only renews certificates, or None.

    None too when the assessment is anything else as well: a requirement of some program (anyone
    working towards it may take it) or a track's knowledge check (the track decides).
    """
    return renewal_exam_refusals(user_id, [assessment_slug]).get(assessment_slug)


def renewal_exam_refusals(user_id: int, assessment_slugs) -> dict[str, Refusal]:
    """renewal_exam_refusal() of several assessments at once, in at most three queries
    (programs, knowledge checks, the person's certificates) however many there are."""
    programs = db.session.execute(
        select(Program.id, ProgramVersion)
        .join(ProgramVersion, ProgramVersion.id == Program.current_version_id)
        .where(Program.archived_at.is_(None))).all()
    required = {slug for _, version in programs
                for slug in version.requirements.get("assessments", [])}
    renewed_by: dict[str, list[tuple[int, ProgramVersion]]] = {}
    for assessment_slug in assessment_slugs:
        renewed = [(program_id, version) for program_id, version in programs
                   if version.renewal.get("assessment") == assessment_slug]
        if renewed and assessment_slug not in required:
            renewed_by[assessment_slug] = renewed
    if not renewed_by:
        return {}
    checks = set(db.session.scalars(select(Lesson.assessment_slug).where(
        Lesson.assessment_slug.in_(list(renewed_by))).distinct()))
    renewed_by = {slug: renewed for slug, renewed in renewed_by.items() if slug not in checks}
    if not renewed_by:
        return {}
    now = clock.now()
    program_ids = {program_id for renewed in renewed_by.values() for program_id, _ in renewed}
    latest = {c.program_id: c for c in db.session.scalars(
        select(Certificate).where(Certificate.user_id == user_id,
                                  Certificate.program_id.in_(program_ids))
        .order_by(Certificate.cycle))}
    refusals = {}
    for assessment_slug, renewed in renewed_by.items():
        holdings = []
        for program_id, version in renewed:
            certificate = latest.get(program_id)
            if certificate is None:
                holdings.append(eligibility.RenewalHolding(version.name))
                continue
            holdings.append(eligibility.RenewalHolding(
                version.name, lifecycle.status(certificate, now), certificate.renewal_opens_at,
                certificate.expires_at, renewable=lifecycle.renewable(certificate, now),
                lapsed=lifecycle.lapsed(certificate, now),
                renews_after_lapse=not version.requirements.get("assessments")))
        check = eligibility.renewal_exam_open(holdings)
        if not check.done:
            # Someone who never held the certificate is not offered its renewal exam at all.
            refusals[assessment_slug] = Refusal(
                check.detail, listed=any(h.status is not None for h in holdings))
    return refusals


# --- revoking --------------------------------------------------------------------------------


def get_certificate(certificate_id: int) -> Certificate:
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None:
        raise NotFound("No such certificate.")
    return certificate


def revoke(certificate_id: int, *, reason: str, actor: User) -> Certificate:
    """Revoke for good, with a reason that is logged; the holder is told."""
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise Invalid("Give the reason for revoking (at least a few words); it is logged.",
                      field="reason")
    certificate = get_certificate(certificate_id)
    # Read again under a row lock: two admins revoking at once must not both count it.
    db.session.refresh(certificate, with_for_update=True)
    if certificate.revoked_at is not None:
        raise Conflict(f"This certificate was already revoked on "
                       f"{certificate.revoked_at:%-d %B %Y}.")
    now = clock.now()
    was = counts.state(certificate)
    certificate.revoked_at = now
    counts.moved(certificate, was)
    certificate.revoked_reason = reason
    certificate.revoked_by_id = actor.id
    _log(certificate, "revoked", reason, actor=actor, at=now)
    db.session.flush()
    events.certificate_revoked.send(certificate.user_id, certificate_id=certificate.id)
    holder = db.session.get(User, certificate.user_id)
    notices.notify(certificate, "revoked", to=holder.email,
                   subject=f"Revoked: {certificate.program_name}", template="certificate_revoked")
    return certificate


def _log(certificate: Certificate, kind: str, detail: str, *, at: datetime,
         actor: User | None = None) -> None:
    db.session.add(CertificateEvent(certificate_id=certificate.id, kind=kind, detail=detail,
                                    at=at, actor_id=actor.id if actor else None))
