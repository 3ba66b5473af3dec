"""Recomputing and storing scores, coalescing bursts of events, the periodic job, and the
rubric synced from content."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.catalog.service import complete_lesson
from lms.catalog.sync import SyncReport
from lms.core import clock, settings
from lms.core.jobs import commit
from lms.extensions import db
from lms.readiness import gather, service, sync
from lms.readiness.models import ReadinessPending, ReadinessRubric, ReadinessScore
from lms.schedule import PERIODIC_JOBS
from tests.certifications.support import insert_certificate
from tests.certifications.test_issuing import complete_track
from tests.factories import assign, make_organisation, make_track, make_user
from tests.readiness.support import ONBOARDING_TRACK, TA, rubric, rules

DAY = timedelta(days=1)


def stored(organisation) -> ReadinessScore | None:
    db.session.expire_all()
    return service.current(organisation.id)


@pytest.fixture
def gathers(monkeypatch):
    """Counts gathers (each is one set of queries for any number of partners)."""
    calls = []
    real = gather.gather

    def counting(now, tiers, organisation_ids=None, **options):
        calls.append(None if organisation_ids is None else sorted(organisation_ids))
        return real(now, tiers, organisation_ids, **options)

    monkeypatch.setattr(gather, "gather", counting)
    return calls


def test_recompute_stores_components_gaps_forecast_and_the_rubric(frozen_clock):
    northwind = make_organisation("Northwind Score", tier="gold")
    tech = make_user(northwind, job_role="technical", full_name="Tara Tech")
    insert_certificate(tech, TA, issued_at=frozen_clock - 700 * DAY)  # expires in ~30 days
    assert service.recompute([northwind.id]) == 1
    score = stored(northwind)
    row = sync.latest()
    assert (score.rubric_id, score.rubric_version, score.rubric_hash) == \
        (row.id, 1, row.rubric_hash)
    assert score.tier == "gold" and score.computed_at == frozen_clock
    assert [c["key"] for c in score.components] == [
        "certification_coverage", "certification_currency", "track_completion", "onboarding"]
    coverage = score.components[0]
    assert (coverage["weight"], coverage["value"], coverage["points"]) == (40, 0.5, 20.0)
    assert "Technical Associate: 1 held, 1 needed" in coverage["explanation"]
    assert score.total == round(sum(c["points"] for c in score.components), 1)
    assert score.health == "red" and score.meets_tier is False
    gaps = score.gaps["current"]["gaps"]
    assert gaps[0]["kind"] == "certification" and gaps[0]["subject"] == "sales-professional"
    assert gaps[0]["text"] == "2 more active Kestrel Certified Sales Professionals among " \
        "Sales or Presales staff"
    assert score.gaps["next"]["tier"] == "platinum"
    assert score.forecast["sentence"].startswith("Northwind Score does not meet Gold now")
    assert score.forecast["falls_below_on"] is None
    assert score.tier_rules_hash == service.rules()[2].rule("gold").content_hash
    # What only the readiness page shows is kept apart (the scorecard reads gaps and
    # forecast): who is behind each gap, and the forecast's horizons (next test).
    assert all("user_ids" not in gap for standing in score.gaps.values() if standing
               for gap in standing["gaps"])
    assert set(score.forecast) == {"meets_now", "sentence", "falls_below_on", "within_horizon"}
    assert set(score.explanation) == {"gaps", "renewals_needed", "renewals_by",
                                      "finishing_needed", "horizons"}


def test_the_page_reads_the_people_and_the_horizons_from_the_stored_row(frozen_clock):
    northwind = make_organisation("Northwind Explained", tier="gold")
    tech = make_user(northwind, job_role="technical", full_name="Tara Tech")
    seller = make_user(northwind, job_role="sales", full_name="Sid Seller")
    insert_certificate(tech, TA, issued_at=frozen_clock - 700 * DAY)  # expires in ~30 days
    service.recompute([northwind.id])
    score = stored(northwind)
    # Stored as codes, numbers and ids: the page names the people and the labels.
    assert score.explanation["horizons"][1]["expiring"] == {"user_ids": [tech.id], "people": 1}
    explained = service.explained(northwind.id)
    assert explained["stored"] is True and explained["rubric"].id == score.rubric_id
    assert (explained["total"], explained["components"], explained["computed_at"]) == \
        (score.total, score.components, frozen_clock)
    forecast = explained["forecast"]
    assert forecast["sentence"] == score.forecast["sentence"]
    assert [h["days"] for h in forecast["horizons"]] == [30, 60, 90]
    assert forecast["horizons"][0]["at"] == frozen_clock + 30 * DAY
    assert forecast["horizons"][1]["expiring"] == {"user_ids": [tech.id], "people": 1}
    assert forecast["horizons"][0]["nobody_renews"]["meets"] is False
    current = explained["gaps"]["current"]
    assert [gap["text"] for gap in current["gaps"]] == \
        [gap["text"] for gap in score.gaps["current"]["gaps"]]
    assert current["gaps"][0]["user_ids"] == [seller.id]  # a seller could close it
    assert current["gaps"][0]["people"] == 1

    # Later, with no recompute since (the certificate expired on its own): the page shows
    # the stored row until a recompute (the hourly one at the latest) replaces it.
    clock.advance(timedelta(days=40))
    assert service.explained(northwind.id)["computed_at"] == frozen_clock
    # A row stored before explanations were kept: the page works everything out for now,
    # the same way, consistent with itself, and says the stored row is behind.
    score.explanation = None
    db.session.flush()
    later = service.explained(northwind.id)
    assert later["computed_at"] == frozen_clock + timedelta(days=40)
    assert later["total"] < score.total and later["stored"] is False
    assert later["forecast"]["horizons"][0]["expiring"] == {"user_ids": [], "people": 0}
    assert later["gaps"]["current"]["gaps"][0]["user_ids"] == [seller.id]
    assert stored(northwind).total == score.total  # a page view writes nothing
    service.recompute([northwind.id])
    assert service.explained(northwind.id) == {**later, "stored": True,
                                                "rubric": stored(northwind).rubric}


def test_recompute_replaces_the_score_in_place(frozen_clock):
    organisation = make_organisation(tier="registered")
    service.recompute([organisation.id])
    first = stored(organisation)
    first_id, first_components = first.id, first.components
    person = make_user(organisation)
    complete_track(person, ONBOARDING_TRACK)
    clock.advance(timedelta(hours=1))
    service.recompute([organisation.id])
    again = stored(organisation)
    assert again.id == first_id and again.computed_at == frozen_clock + timedelta(hours=1)
    assert db.session.scalar(select(func.count()).select_from(ReadinessScore)
                             .where(ReadinessScore.organisation_id == organisation.id)) == 1
    assert again.components != first_components


def test_falls_below_on_is_stored_for_filtering(frozen_clock):
    partner = make_organisation("Expiring Partner", tier="silver")
    seller = make_user(partner, job_role="sales")
    certificate = insert_certificate(seller, "sales-professional",
                                     issued_at=frozen_clock - 330 * DAY)
    complete_track(seller, ONBOARDING_TRACK)
    for journey_milestone in _org_milestones(partner):
        journey_milestone.done_at = frozen_clock - DAY
    _org_journey(partner).completed_at = frozen_clock - DAY
    db.session.flush()
    service.recompute([partner.id])
    score = stored(partner)
    assert score.meets_tier is True
    assert score.falls_below_on == certificate.expires_at
    assert score.forecast["within_horizon"] is True
    assert "falls below Silver on" in score.forecast["sentence"]
    assert service.explained(partner.id)["forecast"]["renewals_needed"][0]["user_ids"] == \
        [seller.id]
    soon = db.session.scalars(select(ReadinessScore.organisation_id).where(
        ReadinessScore.falls_below_on <= frozen_clock + 90 * DAY)).all()
    assert partner.id in soon


def _org_journey(organisation):
    from lms.journeys.models import Journey

    return db.session.scalar(select(Journey).where(Journey.organisation_id == organisation.id,
                                                   Journey.scope == "organisation"))


def _org_milestones(organisation):
    return _org_journey(organisation).milestones


def test_a_burst_of_completions_is_one_recompute(frozen_clock, gathers):
    partner = make_organisation("Busy Partner")
    track = make_track(lessons=1)
    people = [make_user(partner) for _ in range(20)]
    for person in people:
        assign(person, track)
    commit()
    gathers.clear()
    for person in people:  # one unit of work: 20 track_completed events
        complete_lesson(user=person, track_slug=track.slug, lesson_slug="lesson-1")
    assert db.session.scalar(select(func.count()).select_from(ReadinessPending)) == 1
    assert gathers == []  # nothing until the commit
    commit()
    assert gathers == [[partner.id]]
    assert db.session.scalar(select(func.count()).select_from(ReadinessPending)) == 0


def test_pending_partners_are_recomputed_together(frozen_clock, gathers):
    one, two = make_organisation("One Partner"), make_organisation("Two Partner")
    commit()
    gathers.clear()
    service.mark_pending([one.id])
    service.mark_pending([two.id, one.id])
    commit()
    assert gathers == [sorted([one.id, two.id])]


def test_scores_follow_a_completion(frozen_clock):
    partner = make_organisation("Learning Partner", tier="registered")
    person = make_user(partner)
    commit()
    # New staff have time to finish the tracks the tier asks of everyone...
    new_staff_days = service.rules()[2].new_staff_days
    assert new_staff_days > 0 and stored(partner).meets_tier is True
    # ...until their first new_staff_days are over (the hourly run sees time pass).
    clock.advance(timedelta(days=new_staff_days, seconds=1))
    service.recompute()
    commit()
    before = stored(partner)
    total_before = before.total
    tracks = next(c for c in before.components if c["key"] == "track_completion")
    assert tracks["value"] < 1 and before.meets_tier is False
    complete_track(person, ONBOARDING_TRACK)
    commit()
    after = stored(partner)
    assert after.total > total_before
    assert after.meets_tier is True and after.gaps["current"]["meets"] is True


def test_a_milestone_completion_marks_its_partner(frozen_clock, gathers):
    from lms.journeys import service as journeys

    partner = make_organisation("Milestone Partner")
    commit()
    gathers.clear()
    journeys.complete(_org_milestones(partner)[0], at=frozen_clock)
    assert db.session.get(ReadinessPending, partner.id) is not None
    commit()
    assert gathers == [[partner.id]]


def test_a_rolled_back_mark_is_forgotten(frozen_clock):
    partner = make_organisation("Rolled Back")
    commit()
    db.session.begin_nested()
    service.mark_pending([partner.id])
    db.session.rollback()
    db.session.rollback()
    service.mark_pending([partner.id])  # a new transaction marks it again
    assert db.session.get(ReadinessPending, partner.id) is not None


def test_the_periodic_job_recomputes_everyone_hourly_and_leftovers_between(
        frozen_clock, gathers):
    assert ("recompute partner readiness", service.recompute_due) in PERIODIC_JOBS
    partner = make_organisation("Periodic Partner")
    commit()
    settings.put(service.EVERYONE_SETTING, None)
    gathers.clear()
    assert service.recompute_due() >= 1
    assert gathers == [None]
    clock.advance(timedelta(minutes=10))
    db.session.add(ReadinessPending(organisation_id=partner.id, since=clock.now()))
    db.session.flush()
    assert service.recompute_due() == 1  # the leftover only
    assert gathers[-1] == [partner.id]
    clock.advance(timedelta(hours=1))
    service.recompute_due()
    assert gathers[-1] is None


def test_nothing_is_scored_without_a_rubric(monkeypatch, frozen_clock):
    monkeypatch.setattr(sync, "latest", lambda: None)
    assert service.recompute() == 0
    assert service.explained(make_organisation().id) is None


# --- the rubric synced from content ------------------------------------------------------

def _content(the_rubric, the_rules):
    from lms.readiness.loader import ReadinessContent

    return ReadinessContent(rubric=the_rubric, tiers=the_rules)


def test_sync_stores_a_new_row_only_when_something_changed(frozen_clock):
    in_force = sync.latest()
    loaded_rubric, loaded_rules = sync.rules_from_body(in_force.body)
    report = SyncReport()
    assert sync.apply(_content(loaded_rubric, loaded_rules), report).id == in_force.id
    assert report.unchanged == ["readiness rubric (version 1)"] and not report.touched

    report = SyncReport()
    heavier = rubric(version=2, weights={"certification_coverage": 50,
                                         "certification_currency": 10,
                                         "track_completion": 25, "onboarding": 15})
    row = sync.apply(_content(heavier, loaded_rules), report)
    assert row.id != in_force.id and row.version == 2
    assert report.changed == ["readiness rubric (rubric version 2)"]
    assert sync.latest().id == row.id

    report = SyncReport()
    clock.advance(timedelta(minutes=1))
    fewer = rules()  # the four tiers, asking nothing
    sync.apply(_content(heavier, fewer), report)
    assert report.changed == ["readiness rubric (tier rules changed: "
                              "registered, silver, gold, platinum; "
                              "new staff have 0 days for tier tracks)"]

    report = SyncReport()
    clock.advance(timedelta(minutes=1))
    back = sync.apply(_content(loaded_rubric, loaded_rules), report)
    assert back.id == in_force.id and sync.latest().id == in_force.id  # published again
    assert db.session.scalar(select(func.count()).select_from(ReadinessRubric)) == 3


def test_a_changed_rubric_recomputes_everyone_after_the_commit(frozen_clock, gathers):
    in_force = sync.latest()
    loaded_rubric, loaded_rules = sync.rules_from_body(in_force.body)
    make_organisation("Rescored Partner")
    commit()
    gathers.clear()
    sync.apply(_content(rubric(version=5), loaded_rules), SyncReport())
    assert gathers == []
    commit()
    assert gathers == [None]


def test_a_body_round_trips():
    in_force = sync.latest()
    loaded_rubric, loaded_rules = sync.rules_from_body(in_force.body)
    assert sync.to_body(loaded_rubric, loaded_rules) == in_force.body
    assert loaded_rubric.content_hash == in_force.rubric_hash


def test_a_partner_marked_again_during_a_recompute_stays_pending(frozen_clock, monkeypatch):
    partner = make_organisation("Marked Twice")
    commit()
    service.mark_pending([partner.id])
    real = service.recompute

    def marked_meanwhile(organisation_ids=None, **kwargs):
        changed = real(organisation_ids, **kwargs)
        clock.advance(timedelta(seconds=1))  # another unit of work marks it again
        db.session.get(ReadinessPending, partner.id).since = clock.now()
        db.session.flush()
        return changed

    monkeypatch.setattr(service, "recompute", marked_meanwhile)
    service.recompute_pending()
    assert db.session.get(ReadinessPending, partner.id) is not None
    monkeypatch.setattr(service, "recompute", real)
    service.recompute_pending()
    assert db.session.get(ReadinessPending, partner.id) is None
