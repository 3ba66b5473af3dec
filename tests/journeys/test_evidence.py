"""Milestones complete when their evidence arrives (the events of tracks, assessments and
certificates), including evidence that existed before the journey started; journeys record
when they finished and when their person or organisation was first certified."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import g
from sqlalchemy import select

from lms.catalog.models import Assignment, Track
from lms.certifications import service as certifications
from lms.core import clock
from lms.extensions import db
from lms.journeys import nudges, service
from tests.certifications.support import insert_attempt, insert_certificate
from tests.certifications.test_issuing import (
    SP,
    TA,
    complete_track,
    insert_completion,
    insert_pass,
    learner,
    pass_exam,
)
from tests.factories import assign, make_organisation, make_user
from tests.journeys.support import (
    announce_certificate,
    done,
    journeys_for,
    milestone,
    org_journey,
    person_journey,
    person_template,
    template,
)
from tests.journeys.support import (
    events as journey_events,
)

# --- evidence as it arrives ------------------------------------------------------------------


def test_completing_the_track_completes_the_track_milestone(frozen_clock):
    seller = learner(job_role="sales")
    other = learner(seller.organisation, job_role="sales")
    journey = person_journey(seller)
    clock.advance(timedelta(days=3))
    complete_track(seller, "partner-onboarding-essentials")  # the real lesson path

    essentials = milestone(journey, "onboarding-essentials")
    assert essentials.done_at == clock.now() and essentials.done_by_id is None
    assert done(journey) == {"onboarding-essentials"}
    assert done(person_journey(other)) == set()  # someone else's evidence counts for nobody
    db.session.refresh(journey)
    assert journey.last_progress_at == clock.now()
    assert journey.stalls_at == clock.now() + timedelta(days=14)
    assert journey.current_stage == 0  # the stage still waits for a manual step
    [done_event] = journey_events(journey, "milestone_done")
    assert (done_event.detail, done_event.milestone_id) \
        == ("Complete Partner Onboarding Essentials", essentials.id)

    service.sign_off(milestone(journey, "meet-your-admin").id, actor=seller)
    db.session.refresh(journey)
    assert journey.current_stage == 1


def test_passing_the_assessment_and_earning_the_certification(frozen_clock):
    organisation = make_organisation()
    engineer = learner(organisation, job_role="technical")
    journey = person_journey(engineer)
    clock.advance(timedelta(days=10))
    pass_exam(engineer)  # technical-associate-exam, which also issues the certificate

    assert done(journey) == {"technical-associate-exam", "technical-associate"}
    assert milestone(journey, "technical-associate-exam").done_at == clock.now()
    db.session.refresh(journey)
    assert journey.first_certified_at == clock.now()
    # The organisation now has its first certified person: its count of 1 is met too.
    partner = org_journey(organisation)
    assert done(partner) == {"first-technical-associate"}
    assert milestone(partner, "first-technical-associate").done_at == clock.now()
    assert partner.first_certified_at == clock.now()


def test_a_late_milestone_is_logged_as_late(frozen_clock):
    seller = learner(job_role="sales")
    journey = person_journey(seller)
    clock.advance(timedelta(days=20))  # due on day 14
    complete_track(seller, "partner-onboarding-essentials")
    assert milestone(journey, "onboarding-essentials").done_at == clock.now()
    assert journey_events(journey, "milestone_done")[0].detail \
        == "Complete Partner Onboarding Essentials (late)"


def test_a_failed_attempt_or_revoked_certificate_is_no_evidence(frozen_clock):
    engineer = learner(job_role="technical")
    journey = person_journey(engineer)
    insert_attempt(engineer.id, "technical-associate-exam", percent=40.0, passed=False,
                   at=clock.now())
    insert_certificate(engineer, TA, issued_at=clock.now(), revoked_at=clock.now())
    assert service.refresh(user_ids=[engineer.id]) == 0
    assert done(journey) == set()
    db.session.refresh(journey)
    assert journey.first_certified_at is None


def test_certified_staff_completes_when_the_nth_active_holder_appears(frozen_clock):
    organisation = make_organisation()
    journey = org_journey(organisation)
    counted = milestone(journey, "two-sales-professionals")
    staff = [learner(organisation, job_role="sales") for _ in range(5)]
    day = timedelta(days=1)

    first = insert_certificate(staff[0], SP, issued_at=clock.now())
    announce_certificate(first)
    assert counted.done_at is None  # one of two

    clock.advance(day)
    revoked = insert_certificate(staff[1], SP, issued_at=clock.now())
    vendor_admin = make_user(role="vendor_admin")
    certifications.revoke(revoked.id, reason="Exam misconduct", actor=vendor_admin)
    announce_certificate(revoked)
    expired = insert_certificate(staff[2], SP, issued_at=clock.now() - timedelta(days=1200))
    announce_certificate(expired)
    leaver = insert_certificate(staff[3], SP, issued_at=clock.now())
    staff[3].active = False
    db.session.flush()
    announce_certificate(leaver)
    # Another program's holder does not count either.
    announce_certificate(insert_certificate(staff[4], TA, issued_at=clock.now()))
    db.session.refresh(counted)
    assert counted.done_at is None

    clock.advance(day)
    second = insert_certificate(staff[4], SP, issued_at=clock.now())
    announce_certificate(second)
    db.session.refresh(counted)
    assert counted.done_at == clock.now()
    assert "two-sales-professionals" in done(journey)


def test_the_sweep_completes_what_the_events_missed(frozen_clock):
    seller = learner(job_role="sales")
    journey = person_journey(seller)
    clock.advance(timedelta(days=2))
    insert_completion(seller.id, "partner-onboarding-essentials")  # no event
    assert done(journey) == set()
    completed_at = clock.now()
    clock.advance(timedelta(hours=5))
    assert nudges.sweep() == 1  # one completed, nothing due to nudge yet
    # Done when the evidence arrived, not when the sweep noticed.
    assert milestone(journey, "onboarding-essentials").done_at == completed_at
    assert nudges.sweep() == 0  # nothing more to do


def test_an_idle_sweep_costs_the_same_few_queries_however_many_journeys_are_open(
        frozen_clock, count_queries):
    def idle_sweep_queries() -> int:
        nudges.sweep()  # a first look at everyone; a minute later, nothing new
        clock.advance(timedelta(minutes=1))
        g.pop("lms_settings", None)  # settings are cached per request: start both cold
        with count_queries() as counter:
            assert nudges.sweep() == 0
        return counter.count

    learner(job_role="sales")
    few = idle_sweep_queries()
    for _ in range(12):
        learner(job_role="technical")
    assert idle_sweep_queries() == few


# --- evidence older than the journey ---------------------------------------------------------


def test_evidence_from_before_the_journey_counts_on_its_first_day(frozen_clock):
    organisation = make_organisation()
    person = learner(organisation, job_role="sales")
    complete_track(person, "partner-onboarding-essentials")
    pass_exam(person)  # the Technical Associate exam and certificate
    clock.advance(timedelta(days=30))
    vendor_admin = make_user(role="vendor_admin")
    journey = service.start(template("new-technical").id, user_id=person.id,
                            actor=vendor_admin)

    assert done(journey) == {"onboarding-essentials", "technical-associate-exam",
                             "technical-associate"}
    for key in done(journey):
        assert milestone(journey, key).done_at == journey.started_at, key
    assert journey.last_progress_at == journey.started_at
    # Earned before the journey: the record says so, rather than a negative duration.
    assert journey.first_certified_at == frozen_clock < journey.started_at
    kinds = [e.kind for e in journey_events(journey)]
    assert kinds[0] == "started" and kinds.count("milestone_done") == 3


def test_an_organisation_with_certified_staff_starts_with_its_counts_met(frozen_clock):
    onboarding = template("partner-onboarding")
    onboarding.archived_at = clock.now()
    db.session.flush()
    organisation = make_organisation()
    assert journeys_for(organisation_id=organisation.id) == []
    for person in (learner(organisation, job_role="sales"),
                   learner(organisation, job_role="sales")):
        insert_certificate(person, SP, issued_at=clock.now())
    engineer = learner(organisation)
    insert_certificate(engineer, TA, issued_at=clock.now() - timedelta(days=3))
    clock.advance(timedelta(days=7))
    onboarding.archived_at = None
    db.session.flush()

    journey = service.start_for_organisation(organisation.id)
    assert done(journey) == {"first-technical-associate", "two-sales-professionals"}
    assert {milestone(journey, key).done_at for key in done(journey)} == {journey.started_at}
    assert journey.first_certified_at == frozen_clock - timedelta(days=3)


def test_a_track_milestone_assigns_its_track_once(frozen_clock):
    vendor_admin = make_user(role="vendor_admin")
    architecture = [{"key": "architecture", "title": "Complete Solution Architecture",
                     "due_days": 60, "owner": "person", "track": "solution-architecture"},
                    {"key": "foundations", "title": "Complete Sales Foundations",
                     "due_days": 20, "owner": "person", "track": "sales-foundations"}]
    extra = person_template("architecture-path", job_roles=["technical"],
                            milestones=architecture)
    organisation = make_organisation(tier="silver")
    seller = learner(organisation, job_role="sales")
    track = db.session.scalar(select(Track).where(Track.slug == "solution-architecture"))
    foundations = db.session.scalar(select(Track).where(Track.slug == "sales-foundations"))
    existing = assign(seller, foundations)  # already has this one (sales audience)
    existing_due = existing.due_at
    assert db.session.scalar(select(Assignment).where(
        Assignment.user_id == seller.id, Assignment.track_id == track.id)) is None
    clock.advance(timedelta(days=1))

    journey = service.start(extra.id, user_id=seller.id, actor=vendor_admin)
    assignment = db.session.scalar(select(Assignment).where(
        Assignment.user_id == seller.id, Assignment.track_id == track.id))
    assert assignment.manual and assignment.assigned_by_id == vendor_admin.id
    assert assignment.assigned_at == journey.started_at
    assert assignment.due_at == milestone(journey, "architecture").due_at \
        == journey.started_at + timedelta(days=60)
    db.session.refresh(existing)
    assert existing.due_at == existing_due  # an existing assignment is left as it is
    assert len(db.session.scalars(select(Assignment).where(
        Assignment.user_id == seller.id, Assignment.track_id == foundations.id)).all()) == 1


# --- finishing -------------------------------------------------------------------------------


def test_completing_every_milestone_completes_the_journey(frozen_clock):
    organisation = make_organisation()
    admin = make_user(organisation, role="partner_admin", job_role="sales")
    engineer = learner(organisation, job_role="support")
    journey = person_journey(engineer)
    assert (journey.current_stage, journey.stage_count) == (0, 3)

    clock.advance(timedelta(days=5))
    insert_completion(engineer.id, "partner-onboarding-essentials")
    service.refresh(user_ids=[engineer.id])
    assert journey.current_stage == 1 and journey.completed_at is None

    clock.advance(timedelta(days=5))
    insert_completion(engineer.id, "support-essentials")
    service.refresh(user_ids=[engineer.id])
    service.sign_off(milestone(journey, "shadowed-cases").id, actor=admin,
                     note="Cases 1041, 1057 and 1102")
    assert journey.current_stage == 2 and journey.completed_at is None

    clock.advance(timedelta(days=20))
    insert_pass(engineer.id)  # no event: the sweep finds it, then the certificate is issued
    certifications.award_due(engineer.id)
    db.session.refresh(journey)
    assert journey.completed_at == clock.now()
    assert journey.current_stage == journey.stage_count == 3
    assert journey.first_certified_at == clock.now()
    assert [e.kind for e in journey_events(journey, "completed")] == ["completed"]
    assert service.refresh(user_ids=[engineer.id]) == 0  # nothing left to complete


def test_first_certification_is_recorded_per_person_and_per_organisation(frozen_clock):
    organisation = make_organisation()
    partner = org_journey(organisation)
    first, second = learner(organisation), learner(organisation)
    clock.advance(timedelta(days=12))
    pass_exam(first)
    first_day = clock.now()
    clock.advance(timedelta(days=8))
    pass_exam(second)

    assert person_journey(first).first_certified_at == first_day
    assert person_journey(second).first_certified_at == clock.now()
    db.session.refresh(partner)
    assert partner.first_certified_at == first_day  # the organisation's first, kept
    # The recorded moment is not moved by later certificates.
    assert (partner.first_certified_at - partner.started_at).days == 12


def test_journeys_keep_the_template_version_they_started_with(frozen_clock):
    from lms.catalog.sync import SyncReport
    from lms.journeys import sync
    from lms.journeys.loader import JourneyIn, LoadedJourney

    organisation = make_organisation()
    before = org_journey(organisation)
    onboarding = template("partner-onboarding")
    spec = onboarding.current_version
    changed = {"code": "partner-onboarding", "name": spec.name, "scope": "organisation",
               "stalled_after_days": 10,
               "stages": [{"name": "Only", "milestones": [
                   {"key": "hello", "title": "Say hello", "due_days": 1, "owner": "vendor",
                    "manual": {}}]}]}
    report = SyncReport()
    sync._sync_one(LoadedJourney("test", JourneyIn.model_validate(changed)), onboarding,
                   report)
    assert report.changed == ["journey partner-onboarding (new version 2)"]
    later = org_journey(make_organisation())
    assert later.template_version.number == 2 and len(later.milestones) == 1
    assert before.template_version.number == 1 and len(before.milestones) == 6
    assert before.stalls_at == before.started_at + timedelta(days=21)


def test_timestamps_are_aware_on_every_database(frozen_clock):
    journey = org_journey(make_organisation())
    db.session.expire_all()
    assert journey.started_at.tzinfo is not None
    assert journey.started_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
