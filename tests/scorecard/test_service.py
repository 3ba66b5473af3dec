"""Scorecards from the database: gathering (set-based), imports all or nothing with what
changed, change detection queuing webhooks."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from lms.core import clock
from lms.extensions import db
from lms.journeys.models import Journey
from lms.scorecard import imports, service, webhooks
from lms.scorecard.models import MetricImport, MetricValue, PartnerState, WebhookDelivery
from tests.factories import make_organisation, make_user
from tests.scorecard.support import ALL_GREEN, complete_track, put_readiness, put_values


def _card(organisation):
    return service.partner_scorecard(organisation.id, clock.now())


def _metric(card, code):
    return next(m for m in card["metrics"] if m["code"] == code)


def test_definitions_are_synced_from_content(app):
    definitions = service.definitions()
    assert definitions.version == 3 and len(definitions.metrics) == 9


def test_current_value_is_the_latest_date_then_latest_recorded(frozen_clock):
    partner = make_organisation("Latest Partner")
    today = clock.now().date()
    put_values(partner, {"co_sell_success": (30, today - timedelta(days=10))})
    put_values(partner, {"co_sell_success": (10, today - timedelta(days=20))})  # backfill
    assert _metric(_card(partner), "co_sell_success")["value"] == 30
    put_values(partner, {"co_sell_success": (40, today - timedelta(days=10))})  # correction
    metric = _metric(_card(partner), "co_sell_success")
    assert (metric["value"], metric["status"]) == (40, "green")
    assert metric["as_of"] == (today - timedelta(days=10)).isoformat()


def test_readiness_and_values_make_the_scorecard(frozen_clock):
    partner = make_organisation("Complete Partner")
    put_readiness(partner, 91.5, "green")
    put_values(partner, ALL_GREEN)
    staff = make_user(partner)
    complete_track(staff, "partner-onboarding-essentials")
    card = _card(partner)
    assert (card["score"], card["coverage"], card["health"]) == (100, 1, "green")
    assert _metric(card, "enablement_readiness")["value"] == 91.5
    assert card["readiness"]["components"][0]["label"] == "Certification coverage"
    assert [c["status"] for c in card["checkpoints"]] == ["pass", "pass"]
    assert card["organisation"]["labels"] == {"tier": "Gold", "partner_type": "Reseller",
                                              "region": "Europe, Middle East and Africa"}


def test_the_compliance_checkpoint_holds_only_staff_past_their_first_days(frozen_clock):
    # Every demo partner carried the flag: staff who joined days ago counted as failures.
    partner = make_organisation("Newcomer Partner")
    put_values(partner, ALL_GREEN)
    veteran = make_user(partner)
    complete_track(veteran, "partner-onboarding-essentials")
    make_user(partner)  # joined today, has not started
    card = _card(partner)
    assert card["checkpoints"][0]["status"] == "pass"
    assert not [f for f in card["flags"] if f["kind"] == "checkpoint_failed"]
    clock.advance(timedelta(days=91))  # now past the 90 days metrics.yml gives
    put_values(partner, ALL_GREEN)
    card = _card(partner)
    assert card["checkpoints"][0] | {"name": ""} == {
        "code": "onboarding-essentials-all-staff", "name": "", "status": "fail",
        "detail": "1 of 2 staff has not completed it."}
    assert "checkpoint_failed" in [f["kind"] for f in card["flags"]]


def test_stalled_onboarding_is_flagged(frozen_clock):
    partner = make_organisation("Stalled Partner")
    put_readiness(partner)
    journey = db.session.scalar(select(Journey).where(Journey.organisation_id == partner.id,
                                                      Journey.scope == "organisation"))
    assert journey is not None, "the partner-onboarding journey starts with the partner"
    journey.stalls_at = clock.now() - timedelta(days=2)
    db.session.flush()
    assert "onboarding_stalled" in [f["key"] for f in _card(partner)["flags"]]
    journey.completed_at = clock.now()
    db.session.flush()
    assert "onboarding_stalled" not in [f["key"] for f in _card(partner)["flags"]]


def test_an_import_records_what_changed(frozen_clock):
    partner = make_organisation("Changing Partner")
    actor = make_user(role="channel_manager")
    today = clock.now().date()
    first = put_values(partner, {"mdf_spend": 40, "co_sell_success": 25}, actor=actor)
    assert (first.status, first.rows, first.changed, first.actor_id) == ("applied", 2, 2,
                                                                         actor.id)
    second = put_values(partner, {"mdf_spend": 40, "co_sell_success": 30}, actor=actor)
    assert (second.rows, second.changed) == (2, 1)  # the same figure again changes nothing
    assert imports.changes_of(second.id) == [{
        "organisation_id": partner.id, "partner": "Changing Partner",
        "metric": "co_sell_success", "as_of": today.isoformat(), "new": 30.0, "old": 25.0,
        "old_as_of": today.isoformat(), "current": True}]
    assert db.session.scalar(select(func.count(MetricValue.id)).where(
        MetricValue.organisation_id == partner.id)) == 3


def test_api_values_are_all_or_nothing(frozen_clock):
    partner = make_organisation("Api Partner")
    before = db.session.scalar(select(func.count(MetricImport.id)))
    try:
        imports.check_api_values([
            {"partner": "Api Partner", "metric": "mdf_spend", "value": 50,
             "as_of": "2026-03-01"},
            {"partner_id": partner.id, "metric": "nope", "value": "x", "as_of": "2026-3-1"},
        ], service.definitions(), today=clock.now().date())
    except imports.RowsInvalid as error:
        assert error.problems == [
            {"index": 1, "field": "values[1].as_of",
             "message": "bad date '2026-3-1': write it as YYYY-MM-DD"},
            {"index": 1, "field": "values[1].metric", "message": "unknown metric 'nope'"},
            {"index": 1, "field": "values[1].value", "message": "not a number: 'x'"}]
    else:
        raise AssertionError("bad values were accepted")
    assert db.session.scalar(select(func.count(MetricImport.id))) == before


def test_health_change_and_new_flag_queue_webhooks_once(frozen_clock):
    webhooks.create_endpoint(url="https://prm.example/hook", actor_id=None)
    partner = make_organisation("Watched Partner")
    put_readiness(partner, 88, "green")
    put_values(partner, ALL_GREEN)
    service.recompute_all()  # the first look is the baseline: nothing is sent
    state = db.session.get(PartnerState, partner.id)
    assert state.health == "green"
    assert db.session.scalar(select(func.count(WebhookDelivery.id))) == 0

    put_readiness(partner, 40, "red")  # readiness drops: health and a new flag
    put_values(partner, {"compliance_score": 50, "lead_follow_up_sla": 100})
    assert service.recompute_all() == 2
    events = db.session.scalars(select(WebhookDelivery.event).order_by(WebhookDelivery.id))
    assert list(events) == ["scorecard.health_changed", "scorecard.risk_flag_raised"]
    assert db.session.get(PartnerState, partner.id).health in ("yellow", "red")
    assert service.recompute_all() == 0  # nothing new: nothing more queued
    assert db.session.scalar(select(func.count(WebhookDelivery.id))) == 2


def test_periodic_job_rechecks_partners_with_a_fresh_readiness(frozen_clock):
    partner = make_organisation("Periodic Partner")
    put_readiness(partner, 88, "green")
    put_values(partner, ALL_GREEN)
    service.recompute_due()  # first run: everyone
    webhooks.create_endpoint(url="https://prm.example/hook", actor_id=None)
    clock.advance(timedelta(minutes=5))
    put_readiness(partner, 30, "red")
    assert service.recompute_due() >= 1
    assert db.session.scalar(select(func.count(WebhookDelivery.id))) >= 1
