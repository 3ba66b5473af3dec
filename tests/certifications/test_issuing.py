"""Issuing: a certificate appears the moment its requirements are met, once, with its evidence.

The helpers at the top (passing exams and completing tracks for real, or writing the rows
directly without events) are shared by the other certification tests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from lms.accounts.models import User
from lms.assessments.models import Attempt
from lms.assessments.service import NotEligible, save_answer, start_attempt, submit
from lms.catalog.models import Track, TrackCompletion
from lms.catalog.progress import get_live_track, track_outline
from lms.catalog.service import complete_lesson
from lms.certifications import lifecycle, public_id, service
from lms.certifications.models import Certificate, CertificateEvent, CertificateNotice
from lms.core import clock
from lms.core.mail import OutboxMessage
from lms.extensions import db
from tests.assessments.support import correct_form
from tests.certifications.support import insert_attempt
from tests.factories import assign, make_organisation, make_user

EXAM = "technical-associate-exam"
RENEWAL = "technical-associate-renewal"
TA, SP, SA = "technical-associate", "sales-professional", "solution-architect"
TA_NAME = "Kestrel Certified Technical Associate"


# --- helpers (used by the other certification tests too) -------------------------------------


def learner(organisation=None, *, job_role: str = "technical", **fields) -> User:
    return make_user(organisation or make_organisation(), job_role=job_role, **fields)


def pass_exam(user: User, slug: str = EXAM) -> Attempt:
    """Take the assessment for real and answer everything right (announces assessment_passed)."""
    attempt = start_attempt(user, slug)
    for attempt_item in attempt.items:
        save_answer(attempt, attempt_item.position, correct_form(attempt_item.item))
    submit(attempt)
    assert attempt.passed, attempt.percent
    return attempt


def complete_track(user: User, slug: str) -> None:
    """Assign the track and do every lesson in order; knowledge checks are passed for real."""
    track = get_live_track(slug)
    assign(user, track)
    for state in track_outline(user, track).lessons:
        if state.lesson.assessment_slug:
            pass_exam(user, state.lesson.assessment_slug)
        else:
            complete_lesson(user=user, track_slug=slug, lesson_slug=state.lesson.slug)
    assert db.session.scalar(select(TrackCompletion.id).where(
        TrackCompletion.user_id == user.id, TrackCompletion.track_id == track.id))


def insert_pass(user_id: int, slug: str = EXAM, *, at: datetime | None = None) -> Attempt:
    """A passed attempt written straight to the table: no event, as if one had been missed."""
    return insert_attempt(user_id, slug, percent=90.0, passed=True, at=at or clock.now())


def insert_completion(user_id: int, slug: str, *, at: datetime | None = None) -> None:
    """A track completion written straight to the table, without the track_completed event."""
    track = db.session.scalar(select(Track).where(Track.slug == slug))
    db.session.add(TrackCompletion(user_id=user_id, track_id=track.id,
                                   track_version_id=track.current_version_id,
                                   completed_at=at or clock.now()))
    db.session.flush()


def certificates(user_id: int, code: str | None = None) -> list[Certificate]:
    query = select(Certificate).where(Certificate.user_id == user_id)
    if code:
        query = query.where(Certificate.program_code == code)
    return list(db.session.scalars(query.order_by(Certificate.program_code, Certificate.cycle)))


def standing(user_id: int, code: str) -> service.Standing:
    return next(s for s in service.standings(user_id) if s.version.program.code == code)


def remaining(user_id: int, code: str) -> list[str]:
    return [check.sentence for check in standing(user_id, code).remaining]


# --- issuing on the event --------------------------------------------------------------------


def test_passing_the_exam_issues_the_technical_associate_certificate_at_once(frozen_clock):
    organisation = make_organisation("Northwind Secure")
    user = learner(organisation, full_name="Ada Byron")
    assert remaining(user.id, TA) == [
        "Pass the Kestrel Technical Associate certification exam — not attempted yet; "
        "needs 70%"]
    attempt = pass_exam(user)  # the assessment_passed event issues it; nobody calls award_due

    [certificate] = certificates(user.id)
    assert certificate.program_code == TA and certificate.cycle == 1
    assert public_id.normalise(certificate.public_id) == certificate.public_id
    assert (certificate.holder_name, certificate.organisation_name, certificate.program_name,
            certificate.program_level, certificate.program_version_number, certificate.issuer) \
        == ("Ada Byron", "Northwind Secure", TA_NAME, "Associate", 1, "Kestrel Security")
    assert certificate.issued_at == frozen_clock
    assert certificate.expires_at == datetime(2028, 3, 2, 9, 0, tzinfo=UTC)  # 24 months
    assert certificate.renewal_opens_at == certificate.expires_at - timedelta(days=90)
    assert certificate.grace_ends_at == certificate.expires_at + timedelta(days=30)
    [evidence] = certificate.evidence
    assert evidence["kind"] == "assessment" and evidence["slug"] == EXAM
    assert (evidence["attempt_id"], evidence["attempt_public_id"], evidence["percent"]) \
        == (attempt.id, attempt.public_id, 100.0)
    assert evidence["passed_at"] == frozen_clock.isoformat()
    assert [(e.kind, e.detail) for e in certificate.events][0] == ("issued", "cycle 1")
    assert lifecycle.status(certificate, clock.now()) == "active"
    # The holder is told once, with the verification link.
    [message] = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.to_address == user.email)).all()
    assert message.subject == f"You are certified: {TA_NAME}"
    assert f"http://lms.test/verify/{public_id.display(certificate.public_id)}" \
        in message.body_text

    # The snapshot stays as issued, whatever changes later.
    user.full_name = "Ada Lovelace"
    organisation.name = "Renamed Ltd"
    db.session.flush()
    db.session.expire_all()
    assert (certificates(user.id)[0].holder_name,
            certificates(user.id)[0].organisation_name) == ("Ada Byron", "Northwind Secure")


def test_sales_professional_needs_both_tracks_and_the_knowledge_check(frozen_clock):
    user = learner(job_role="sales")
    assert remaining(user.id, SP) == [
        "Complete the Partner Onboarding Essentials track — 0 of 9 lessons done",
        "Complete the Sales Foundations track — 0 of 8 lessons done",
        "Pass the Knowledge check: Sales Foundations — not attempted yet; needs 75%",
    ]
    complete_track(user, "partner-onboarding-essentials")
    assert certificates(user.id, SP) == []
    assert len(remaining(user.id, SP)) == 2
    # Sales Foundations ends with its knowledge check: passing it completes the track, and
    # both events arrive in the one transaction that issues the certificate.
    complete_track(user, "sales-foundations")
    [certificate] = certificates(user.id, SP)
    assert sorted(e["kind"] for e in certificate.evidence) == ["assessment", "track", "track"]
    assert {e.get("slug") for e in certificate.evidence} == {
        "partner-onboarding-essentials", "sales-foundations", "sales-foundations-check"}
    assert standing(user.id, SP).phase == "held"


def test_solution_architect_needs_an_active_technical_associate(frozen_clock):
    user = learner(job_role="presales")
    insert_completion(user.id, "solution-architecture")
    assert service.award_due(user.id) == []
    assert remaining(user.id, SA) == [
        "Hold an active Kestrel Certified Technical Associate certification — not earned yet"]
    # Passing the exam issues the Technical Associate, and in the same pass the Solution
    # Architect that was only waiting for it.
    pass_exam(user)
    [architect] = certificates(user.id, SA)
    [associate] = certificates(user.id, TA)
    assert {"kind": "certification", "code": TA, "public_id": associate.public_id} \
        in architect.evidence
    assert architect.expires_at == datetime(2028, 3, 2, 9, 0, tzinfo=UTC)


def test_the_chain_is_issued_in_one_pass_whatever_the_order(frozen_clock):
    user = learner(job_role="presales")
    insert_pass(user.id)
    insert_completion(user.id, "solution-architecture")
    issued = service.award_due(user.id)
    assert [c.program_code for c in issued] == [TA, SA]  # prerequisites first


def test_a_prerequisite_that_expired_blocks_the_dependent_program(frozen_clock):
    user = learner(job_role="presales")
    insert_pass(user.id)
    service.award_due(user.id)
    clock.advance(timedelta(days=800))  # the Technical Associate expired (in grace)
    insert_completion(user.id, "solution-architecture")
    assert service.award_due(user.id) == []
    assert remaining(user.id, SA) == [
        "Hold an active Kestrel Certified Technical Associate certification — "
        "expired on 2 Mar 2028"]


def test_award_due_is_idempotent(frozen_clock):
    user = learner()
    pass_exam(user)
    assert service.award_due(user.id) == []
    assert service.award_due(user.id) == []
    assert len(certificates(user.id)) == 1
    assert db.session.scalar(select(func.count()).select_from(CertificateNotice).where(
        CertificateNotice.milestone == "issued",
        CertificateNotice.certificate_id == certificates(user.id)[0].id)) == 1


def test_the_periodic_job_issues_what_the_events_missed(frozen_clock):
    technical, seller, nobody = learner(), learner(job_role="sales"), learner()
    insert_pass(technical.id)
    insert_completion(seller.id, "partner-onboarding-essentials")
    insert_completion(seller.id, "sales-foundations")
    insert_pass(seller.id, "sales-foundations-check")
    assert certificates(technical.id) == certificates(seller.id) == []

    assert service.award_due_everyone() == 2
    assert [c.program_code for c in certificates(technical.id)] == [TA]
    assert [c.program_code for c in certificates(seller.id)] == [SP]
    assert certificates(nobody.id) == []
    assert service.award_due_everyone() == 0  # idempotent


def test_inactive_people_are_not_issued_certificates(frozen_clock):
    user = learner()
    insert_pass(user.id)
    user.active = False
    db.session.flush()
    assert service.award_due(user.id) == []
    assert service.award_due_everyone() == 0


def test_a_revoked_certificate_is_never_issued_again_automatically(frozen_clock):
    admin = make_user()  # vendor admin
    user = learner()
    pass_exam(user)
    [certificate] = certificates(user.id)
    service.revoke(certificate.id, reason="Exam answers were shared in a forum", actor=admin)
    assert lifecycle.status(certificate, clock.now()) == "revoked"
    assert [(e.kind, e.detail, e.actor_id) for e in certificate.events][-2:] == [
        ("revoked", "Exam answers were shared in a forum", admin.id),
        ("notice", "revoked: Revoked: Kestrel Certified Technical Associate", None)]
    assert service.award_due(user.id) == []
    assert service.award_due_everyone() == 0
    # Not at renewal time either: the renewal exam is closed to them, and a pass recorded
    # anyway (say, from before the revocation) renews nothing.
    clock.advance(timedelta(days=700))
    with pytest.raises(NotEligible, match="was revoked"):
        start_attempt(user, RENEWAL)
    insert_pass(user.id, RENEWAL)
    assert service.award_due(user.id) == []
    assert standing(user.id, TA).phase == "revoked"
    assert certificates(user.id) == [certificate]


def test_after_a_lapse_the_requirements_must_be_met_again(frozen_clock):
    user = learner()
    pass_exam(user)
    [first] = certificates(user.id)
    clock.set_now(first.grace_ends_at + timedelta(days=1))  # past the grace period
    assert lifecycle.lapsed(first, clock.now())
    # The pass from before the lapse no longer counts, and a renewal exam is no renewal
    # (it is closed after a lapse; a pass recorded anyway renews nothing).
    assert remaining(user.id, TA) == [
        "Pass the Kestrel Technical Associate certification exam — needs a pass after "
        "2 Mar 2028"]
    with pytest.raises(NotEligible, match="grace period is over"):
        start_attempt(user, RENEWAL)
    insert_pass(user.id, RENEWAL)
    assert service.award_due(user.id) == []
    assert standing(user.id, TA).phase == "earn"

    # A pass after the lapse earns a new certificate: a fresh cycle, not a renewal.
    insert_pass(user.id)
    [second] = service.award_due(user.id)
    assert (second.cycle, second.renewal_of_id) == (2, None)
    assert second.issued_at == clock.now()
    assert second.expires_at == lifecycle.add_months(clock.now(), 24)
    assert first.superseded_at is None  # the lapsed one stays what it was: expired
    assert lifecycle.status(first, clock.now()) == "expired"


def test_a_failed_attempt_explains_what_is_missing(frozen_clock):
    user = learner()
    attempt = start_attempt(user, EXAM)
    items = list(attempt.items)
    for attempt_item in items[:13]:  # 13 of 20 right: 65%
        save_answer(attempt, attempt_item.position, correct_form(attempt_item.item))
    submit(attempt)
    assert not attempt.passed
    assert certificates(user.id) == []
    assert remaining(user.id, TA) == [
        "Pass the Kestrel Technical Associate certification exam — best score 65%, "
        "needs 70%"]


def test_the_audit_trail_of_an_issue(frozen_clock):
    user = learner()
    pass_exam(user)
    [certificate] = certificates(user.id)
    kinds = list(db.session.scalars(select(CertificateEvent.kind).where(
        CertificateEvent.certificate_id == certificate.id).order_by(CertificateEvent.id)))
    assert kinds == ["issued", "notice"]
