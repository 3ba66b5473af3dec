"""Gathering facts from the database (runs on SQLite and, with LMS_TEST_DATABASE_URL, on
PostgreSQL): the facts equal what each test built, with a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from lms.accounts.models import User
from lms.catalog.models import Assignment, Track, TrackCompletion, TrackVersion
from lms.extensions import db
from lms.journeys.models import Journey, JourneyEvent, JourneyMilestone
from lms.readiness import gather, service, sync
from lms.readiness.facts import NAMED, HeldCertificate, OnboardingFacts, StaffMember
from lms.readiness.service import rules
from tests.certifications.support import insert_certificate
from tests.factories import assign, make_organisation, make_user
from tests.readiness.support import ONBOARDING_TRACK, SA, SP, TA

DAY = timedelta(days=1)


def queries(counter) -> int:
    """Statements that read, leaving out PostgreSQL's per-transaction SET LOCAL settings."""
    return sum(1 for statement in counter.statements if not statement.startswith("SET "))


def tiers():
    _, _, tier_rules = rules()
    return tier_rules


def tier_rules_new_staff_days() -> int:
    days = tiers().new_staff_days
    assert days > 1, "content/readiness/tiers.yml gives new staff time"
    return days


def track(slug: str) -> Track:
    return db.session.scalar(select(Track).where(Track.slug == slug))


def complete(user: User, slug: str, *, version: int | None = None) -> None:
    """A track completion row (of the current version, or an older one made up here)."""
    found = track(slug)
    version_id = found.current_version_id
    if version is not None:
        old = TrackVersion(track_id=found.id, number=version, title="Old", summary="",
                           estimated_minutes=1, content_hash=f"old-{version}")
        db.session.add(old)
        db.session.flush()
        version_id = old.id
    db.session.add(TrackCompletion(user_id=user.id, track_id=found.id,
                                   track_version_id=version_id))
    db.session.flush()


def only_assignments(users, slugs) -> None:
    """Replace what the audience rules assigned with exactly these tracks."""
    db.session.execute(delete(Assignment).where(Assignment.user_id.in_([u.id for u in users])))
    for user in users:
        for slug in slugs:
            assign(user, track(slug))


@pytest.fixture
def world(frozen_clock):
    now = frozen_clock
    north = make_organisation("North Gather", tier="gold")
    south = make_organisation("South Gather", tier="silver")
    make_organisation("Elsewhere", tier="gold")  # never asked about below
    tech = make_user(north, job_role="technical", full_name="Tess Tech")
    sales = make_user(north, job_role="sales", full_name="Sam Sales")
    presales = make_user(north, job_role="presales", full_name="Pia Presales")
    admin = make_user(north, role="partner_admin", job_role="sales", full_name="Ada Admin")
    gone = make_user(north, job_role="technical", full_name="Gus Gone")
    southerner = make_user(south, job_role="technical", full_name="Sol South")
    make_user(role="vendor_admin")  # vendor staff belong to no partner
    w = dict(now=now, north=north, south=south, tech=tech, sales=sales, presales=presales,
             admin=admin, gone=gone, southerner=southerner)

    # Certificates: one of each status, and a renewal superseding its first cycle.
    w["live_ta"] = insert_certificate(tech, TA, issued_at=now - 100 * DAY)
    insert_certificate(sales, SP, issued_at=now - 400 * DAY)  # 12 months: expired
    insert_certificate(presales, SP, issued_at=now - 10 * DAY, revoked_at=now - DAY,
                       revoked_reason="test")
    first = insert_certificate(admin, SP, issued_at=now - 300 * DAY, superseded_at=now - DAY)
    w["renewed_sp"] = insert_certificate(admin, SP, issued_at=now - DAY, cycle=2, renews=first)
    insert_certificate(gone, TA, issued_at=now - 10 * DAY)  # deactivated below
    insert_certificate(presales, SA, issued_at=now + DAY)  # not issued yet at `now`
    w["south_ta"] = insert_certificate(southerner, TA, issued_at=now - 700 * DAY)  # expires soon
    gone.active = False
    # Everyone joined long ago but Pia, who is new: she still has time for the tier's tracks.
    for person in (tech, sales, admin, gone, southerner):
        person.created_at = now - 100 * DAY
    presales.created_at = now - (tier_rules_new_staff_days() - 1) * DAY

    # Tracks: onboarding essentials for everyone, sales foundations for two.
    staff = [tech, sales, presales, admin, gone]
    only_assignments(staff + [southerner], [ONBOARDING_TRACK])
    assign(sales, track("sales-foundations"))
    assign(admin, track("sales-foundations"))
    complete(tech, ONBOARDING_TRACK)
    complete(tech, ONBOARDING_TRACK, version=99)  # two versions: still one completion
    complete(sales, ONBOARDING_TRACK, version=98)  # an older version counts
    complete(gone, ONBOARDING_TRACK)  # inactive: not counted
    complete(sales, "sales-foundations")
    complete(presales, "sales-foundations")  # completed without being assigned

    # Onboarding: nothing due except what is set here.
    journeys = {j.id: j for j in db.session.scalars(
        select(Journey).where(Journey.organisation_id.in_([north.id, south.id])))}
    db.session.execute(update(JourneyMilestone)
                       .where(JourneyMilestone.journey_id.in_(journeys))
                       .values(due_at=now + 30 * DAY, done_at=None))
    org_journey = next(j for j in journeys.values()
                       if j.scope == "organisation" and j.organisation_id == north.id)
    milestones = db.session.scalars(
        select(JourneyMilestone).where(JourneyMilestone.journey_id == org_journey.id)
        .order_by(JourneyMilestone.stage_index, JourneyMilestone.position)).all()
    on_time, late, missed = milestones[:3]
    on_time.due_at, on_time.done_at = now - 5 * DAY, now - 6 * DAY
    late.due_at, late.done_at = now - 5 * DAY, now - DAY
    missed.due_at = now - DAY
    w["outstanding"] = tuple(m.title for m in milestones[2:])

    def person_milestone(user):
        journey = next(j for j in journeys.values() if j.user_id == user.id)
        return db.session.scalar(select(JourneyMilestone)
                                 .where(JourneyMilestone.journey_id == journey.id).limit(1))

    person_milestone(tech).due_at = now - 2 * DAY  # overdue: Tess is behind
    person_milestone(gone).due_at = now - 2 * DAY  # inactive: neither due nor behind
    done_early = person_milestone(sales)
    done_early.due_at, done_early.done_at = now - 3 * DAY, now - 4 * DAY
    south_journey = next(j for j in journeys.values()
                         if j.scope == "organisation" and j.organisation_id == south.id)
    south_journey.completed_at = now - DAY
    db.session.flush()
    return w


def test_facts_equal_what_was_built(world, count_queries):
    w = world
    tier_rules = tiers()
    with count_queries() as counter:
        found = gather.gather(w["now"], tier_rules, [w["north"].id, w["south"].id])
    assert queries(counter) == 8, "\n".join(s[:90] for s in counter.statements)
    assert set(found.facts) == {w["north"].id, w["south"].id}
    assert found.organisation_names[w["north"].id] == "North Gather"
    north = found.facts[w["north"].id]
    assert north.tier == "gold"
    assert north.staff == (StaffMember(w["tech"].id, "technical"),
                           StaffMember(w["sales"].id, "sales"),
                           StaffMember(w["presales"].id, "presales"),
                           StaffMember(w["admin"].id, "sales"))

    live, renewed = w["live_ta"], w["renewed_sp"]
    assert north.certificates == (
        HeldCertificate(w["tech"].id, TA, "technical", live.expires_at, live.renewal_opens_at,
                        24),
        HeldCertificate(w["admin"].id, SP, "sales", renewed.expires_at,
                        renewed.renewal_opens_at, 12))

    essentials = north.track(ONBOARDING_TRACK)
    assert (essentials.required, essentials.assigned, essentials.completed) == (True, 4, 2)
    assert essentials.unfinished == (w["admin"].id,)
    assert essentials.settling == (w["presales"].id,)  # new: not held to it yet
    # ...until her new_staff_days run out, one day from now.
    runs_out = w["presales"].created_at + timedelta(days=tier_rules.new_staff_days)
    assert essentials.settling_ends == (runs_out,) and runs_out == w["now"] + DAY
    foundations = north.track("sales-foundations")
    assert (foundations.required, foundations.assigned, foundations.completed) == (True, 2, 1)
    # Not named by any tier rule: nobody is listed as behind on it.
    assert foundations.unfinished == ()
    assert north.track("technical-associate").assigned == 0  # required, assigned to nobody

    assert north.onboarding == OnboardingFacts(
        milestones_due=5, milestones_done_on_time=2, complete=False,
        outstanding=w["outstanding"], behind=(w["tech"].id,))

    south = found.facts[w["south"].id]
    assert south.staff == (StaffMember(w["southerner"].id, "technical"),)
    assert [c.user_id for c in south.certificates] == [w["southerner"].id]
    assert south.track(ONBOARDING_TRACK).unfinished == (w["southerner"].id,)
    assert south.onboarding == OnboardingFacts(milestones_due=0, milestones_done_on_time=0,
                                               complete=True, outstanding=(), behind=())


def test_without_detail_people_are_counted_and_the_first_named(world, count_queries):
    """What a recompute gathers: no staff list, only the renewal windows open now, and the
    people behind a track, onboarding or a certification rule counted in SQL with the first
    NAMED of them (one query for the rules' candidates instead of the staff list)."""
    w = world
    tier_rules = tiers()
    with count_queries() as counter:
        found = gather.gather(w["now"], tier_rules, [w["north"].id, w["south"].id],
                              detail=False)
    assert queries(counter) == 8, "\n".join(s[:90] for s in counter.statements)
    north = found.facts[w["north"].id]
    assert north.detailed is False and north.staff == ()
    live, renewed = w["live_ta"], w["renewed_sp"]
    assert sorted(north.certificates, key=lambda c: c.user_id) == [
        HeldCertificate(w["tech"].id, TA, "technical", live.expires_at),
        HeldCertificate(w["admin"].id, SP, "sales", renewed.expires_at)]
    essentials = north.track(ONBOARDING_TRACK)
    assert (essentials.assigned, essentials.completed) == (4, 2)
    assert (essentials.unfinished_count, essentials.settling_count) == (1, 1)
    assert essentials.unfinished == (w["admin"].id,)
    assert essentials.settling == (w["presales"].id,)
    assert essentials.settling_ends == (w["presales"].created_at
                                        + timedelta(days=tier_rules.new_staff_days),)
    assert north.track("sales-foundations").unfinished_count == 0
    assert north.onboarding == OnboardingFacts(
        milestones_due=5, milestones_done_on_time=2, complete=False,
        outstanding=w["outstanding"], behind=(w["tech"].id,))
    # North falls short of Gold's two Sales Professionals among sales or presales staff
    # (Ada holds one), and of Platinum's three Technical Associates (Tess holds one) and
    # Solution Architect.
    assert north.candidates == {
        (SP, ("sales", "presales")): ((w["sales"].id, w["presales"].id), 2),
        (TA, ()): ((w["sales"].id, w["presales"].id, w["admin"].id), 3),
        (SA, ()): ((w["tech"].id, w["sales"].id, w["presales"].id, w["admin"].id), 4)}
    south = found.facts[w["south"].id]
    assert south.track(ONBOARDING_TRACK).unfinished_count == 1
    assert south.onboarding == OnboardingFacts(complete=True)
    # Sol's certificate expires within its renewal window: the window comes with it.
    (held,) = south.certificates
    assert (held.renewal_opens_at, held.validity_months) == \
        (w["south_ta"].renewal_opens_at, 24)
    assert south.candidates == {}  # short of a Sales Professional, with nobody to be one


def test_without_detail_lists_stop_at_the_first_named(frozen_clock):
    """A long list travels as its first NAMED ids and its count, whatever its length."""
    partner = make_organisation("Many Gather", tier="registered")
    people = [make_user(partner, job_role="sales") for _ in range(NAMED + 3)]
    for person in people:
        person.created_at = frozen_clock - 200 * DAY
    db.session.flush()
    found = gather.gather(frozen_clock, tiers(), [partner.id], detail=False)
    facts = found.facts[partner.id]
    essentials = facts.track(ONBOARDING_TRACK)
    ids = sorted(person.id for person in people)
    assert essentials.unfinished == tuple(ids[:NAMED])
    assert essentials.unfinished_count == NAMED + 3
    # Registered asks for no certification; Silver, the next tier, for a Sales Professional.
    assert facts.candidates[(SP, ("sales", "presales"))] == (tuple(ids[:NAMED]), NAMED + 3)


def test_a_stored_score_is_the_same_with_or_without_detail(world):
    """The recompute stores what it works out from facts without detail; with detail, the
    same row comes out (the page adds the people and the horizons on top)."""
    w = world
    row, names = sync.latest(), gather.names()
    rubric, tier_rules = sync.rules_from_body(row.body)
    ids = [w["north"].id, w["south"].id]
    detailed = gather.gather(w["now"], tier_rules, ids)
    counted = gather.gather(w["now"], tier_rules, ids, detail=False)

    def stored(found, organisation_id):
        return service.record(found.facts[organisation_id], rubric, tier_rules, w["now"],
                              names=names, rubric_row=row,
                              organisation=found.organisation_names[organisation_id])

    for organisation_id in ids:
        assert stored(counted, organisation_id) == stored(detailed, organisation_id)
    north = stored(counted, w["north"].id)["explanation"]
    assert [gap["user_ids"] for gap in north["gaps"]["current"]] == \
        [[w["sales"].id, w["presales"].id], [w["admin"].id], [w["tech"].id]]
    assert len(north["horizons"]) == 3


def test_everyone_is_gathered_without_a_list(world):
    found = gather.gather(world["now"], tiers())
    assert {world["north"].id, world["south"].id} < set(found.facts)
    assert found.facts[world["north"].id] == gather.gather(
        world["now"], tiers(), [world["north"].id]).facts[world["north"].id]


def test_an_empty_list_gathers_nothing(count_queries, frozen_clock):
    tier_rules = tiers()
    with count_queries() as counter:
        assert gather.gather(frozen_clock, tier_rules, []).facts == {}
    assert counter.count == 0


def test_a_partner_without_staff_or_journeys(frozen_clock):
    lonely = make_organisation("Lonely", tier="registered")
    theirs = select(Journey.id).where(Journey.organisation_id == lonely.id)
    for model in (JourneyMilestone, JourneyEvent):  # a partner from before journeys
        db.session.execute(delete(model).where(model.journey_id.in_(theirs)))
    db.session.execute(delete(Journey).where(Journey.organisation_id == lonely.id))
    facts = gather.gather(frozen_clock, tiers(), [lonely.id]).facts[lonely.id]
    assert facts.staff == () and facts.certificates == ()
    assert facts.track(ONBOARDING_TRACK).assigned == 0
    assert facts.onboarding == OnboardingFacts()


def test_query_count_does_not_grow(world, count_queries):
    """More partners, staff and certificates: the same statements."""
    for n in range(5):
        organisation = make_organisation(f"More {n}")
        for _ in range(3):
            person = make_user(organisation, job_role="technical")
            insert_certificate(person, TA, issued_at=world["now"] - 5 * DAY)
            complete(person, ONBOARDING_TRACK)
    tier_rules = tiers()
    with count_queries() as counter:
        found = gather.gather(world["now"], tier_rules)
    assert queries(counter) == 8
    assert len(found.facts) >= 8


def test_names_come_from_content(frozen_clock):
    names = gather.names()
    assert names.program(TA) == "Kestrel Certified Technical Associate"
    assert names.tier("gold") == "Gold"
    assert names.track(ONBOARDING_TRACK) == "Partner Onboarding Essentials"


def test_a_pending_invitation_is_not_staff_until_accepted(frozen_clock):
    """An invited person who has not accepted is neither counted nor held to anything:
    the one definition of active staff (accounts.models.active_staff) leaves them out."""
    from lms.accounts import service as accounts
    from lms.scorecard.gather import _track_completion

    partner = make_organisation("Inviting", tier="gold")
    admin = make_user(partner, role="partner_admin", job_role="sales")
    invited, secret = accounts.invite_user(
        organisation_id=partner.id, email="new@inviting.example", full_name="Ned Newcomer",
        job_role="technical", invited_by=admin)
    facts = gather.gather(frozen_clock, tiers(), [partner.id]).facts[partner.id]
    assert [member.user_id for member in facts.staff] == [admin.id]
    # Everyone counts as settled (held to the track) from a day ahead of the clock.
    settled = frozen_clock + timedelta(days=1)
    assert _track_completion(ONBOARDING_TRACK, lambda column: column == partner.id, settled)[
        partner.id][1] == 1

    accounts.accept_invitation(secret, "a-long-enough-password-1")
    facts = gather.gather(frozen_clock, tiers(), [partner.id]).facts[partner.id]
    assert sorted(member.user_id for member in facts.staff) == sorted([admin.id, invited.id])
    assert _track_completion(ONBOARDING_TRACK, lambda column: column == partner.id, settled)[
        partner.id][1] == 2
