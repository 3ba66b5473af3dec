"""The scorecard as a pure function: statuses, gaps never counted as zero, health, flags,
compliance checkpoints."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from lms.scorecard import scoring
from tests.scorecard.support import ALL_GREEN, NOW, TODAY, facts, readiness, shipped


@pytest.fixture(scope="module")
def definitions():
    return shipped()


def _metric(card, code):
    return next(m for m in card["metrics"] if m["code"] == code)


@pytest.mark.parametrize(("code", "value", "status"), [
    ("co_sell_success", 35, "green"), ("co_sell_success", 34.9, "yellow"),
    ("co_sell_success", 20, "yellow"), ("co_sell_success", 19.99, "red"),
    # lower is better: at or under green is green
    ("lead_follow_up_sla", 24, "green"), ("lead_follow_up_sla", 24.5, "yellow"),
    ("lead_follow_up_sla", 48, "yellow"), ("lead_follow_up_sla", 48.1, "red"),
])
def test_thresholds_follow_the_direction(definitions, code, value, status):
    assert scoring.metric_status(definitions.metric(code), value) == status


def test_everything_green_scores_100(definitions):
    card = scoring.scorecard(facts(ALL_GREEN, readiness=readiness()), definitions, NOW)
    assert card["score"] == 100 and card["coverage"] == 1 and card["health"] == "green"
    assert card["gaps"] == [] and card["flags"] == []


def test_missing_and_stale_are_gaps_not_zero(definitions):
    values = dict(ALL_GREEN)
    del values["mdf_spend"]  # missing (weight 5)
    values["pipeline_velocity"] = (1000, TODAY - timedelta(days=46))  # red, but stale (10)
    card = scoring.scorecard(facts(values, readiness=readiness()), definitions, NOW)
    assert _metric(card, "mdf_spend")["status"] == "missing"
    stale = _metric(card, "pipeline_velocity")
    assert stale["status"] == "stale" and stale["age_days"] == 46 and stale["points"] is None
    # Every fresh metric is green: the gaps lower the coverage, never the score.
    assert card["score"] == 100 and card["coverage"] == 0.85
    assert card["gaps"] == ["pipeline_velocity", "mdf_spend"]
    assert card["health"] == "green"


def test_a_value_exactly_max_age_days_old_is_still_fresh(definitions):
    card = scoring.scorecard(
        facts({"pipeline_velocity": (6000, TODAY - timedelta(days=45))}), definitions, NOW)
    assert _metric(card, "pipeline_velocity")["status"] == "green"


def test_score_is_weighted_average_of_status_points(definitions):
    values = dict(ALL_GREEN, compliance_score=80, lead_follow_up_sla=100)  # 15 yellow, 10 red
    card = scoring.scorecard(facts(values, readiness=readiness()), definitions, NOW)
    assert card["score"] == round((75 * 100 + 15 * 50 + 10 * 0) / 100, 1) == 82.5
    assert card["health"] == "green"


def test_too_little_fresh_data_is_unknown_health(definitions):
    card = scoring.scorecard(facts({"co_sell_success": 40, "compliance_score": 95}),
                             definitions, NOW)
    assert card["score"] == 100 and card["coverage"] == 0.25
    assert card["health"] == "unknown"  # under min_coverage (50%), whatever the score
    empty = scoring.scorecard(facts(), definitions, NOW)
    assert empty["score"] is None and empty["coverage"] == 0 and empty["health"] == "unknown"


def test_readiness_takes_its_health_from_the_rubric(definitions):
    card = scoring.scorecard(facts(ALL_GREEN, readiness=readiness(55.0, "red")), definitions,
                             NOW)
    metric = _metric(card, "enablement_readiness")
    assert (metric["value"], metric["status"]) == (55.0, "red")
    assert card["score"] == 75.0 and card["health"] == "green"
    old = readiness(computed_at=NOW - timedelta(days=3))
    stale = scoring.scorecard(facts(ALL_GREEN, readiness=old), definitions, NOW)
    assert _metric(stale, "enablement_readiness")["status"] == "stale"


def test_readiness_below_threshold_flag(definitions):
    card = scoring.scorecard(facts(ALL_GREEN, readiness=readiness(41.5, "red")), definitions,
                             NOW)
    assert [f["key"] for f in card["flags"]] == ["readiness_low"]
    assert "41.5" in card["flags"][0]["text"]
    yellow = scoring.scorecard(facts(ALL_GREEN, readiness=readiness(70, "yellow")),
                               definitions, NOW)
    assert yellow["flags"] == []  # the shipped rule flags red only
    stricter = replace(definitions, flags=definitions.flags.model_copy(
        update={"readiness_below": "yellow"}))
    assert [f["key"] for f in scoring.scorecard(
        facts(ALL_GREEN, readiness=readiness(70, "yellow")), stricter, NOW)["flags"]] \
        == ["readiness_low"]


def test_tier_at_risk_within_90_days(definitions):
    soon = readiness(falls_below_on=NOW + timedelta(days=89),
                     sentence="Northwind falls below Gold on 12 Jan 2027 unless 1 renews.")
    card = scoring.scorecard(facts(ALL_GREEN, readiness=soon), definitions, NOW)
    assert [f["key"] for f in card["flags"]] == ["tier_at_risk"]
    assert card["flags"][0]["text"].startswith("Northwind falls below Gold")
    later = readiness(falls_below_on=NOW + timedelta(days=91))
    assert scoring.scorecard(facts(ALL_GREEN, readiness=later), definitions, NOW)["flags"] == []
    # Not meeting the tier now is the readiness flag's business, not a forecast.
    gone = readiness(meets_tier=False, falls_below_on=NOW + timedelta(days=5))
    assert scoring.scorecard(facts(ALL_GREEN, readiness=gone), definitions, NOW)["flags"] == []


def test_tier_at_risk_without_a_sentence_names_the_tier(definitions):
    card = scoring.scorecard(facts(ALL_GREEN, readiness=readiness(
        falls_below_on=NOW + timedelta(days=30))), definitions, NOW)
    assert card["flags"][0]["text"] == ("Certifications lapsing will cost the Gold tier on "
                                        "14 Nov 2026 unless someone renews.")


def test_onboarding_stalled_and_stale_metric_flags(definitions):
    values = dict(ALL_GREEN, joint_roadmap=(4.5, "2026-01-02"))
    card = scoring.scorecard(
        facts(values, readiness=readiness(), stalled_since=NOW - timedelta(days=3)),
        definitions, NOW)
    assert [f["key"] for f in card["flags"]] == ["onboarding_stalled",
                                                 "metric_stale:joint_roadmap"]
    assert card["flags"][0]["text"] == "Onboarding has stalled since 12 Oct 2026."
    assert card["flags"][1]["text"] == ("Joint roadmap is stale: last value as of 2 Jan 2026, "
                                        "286 days old (fresh for 180).")


def test_compliance_checkpoints(definitions):
    partial = facts(dict(ALL_GREEN, compliance_score=70),
                    track_completion={"onboarding-essentials-all-staff": (3, 5, 0)})
    card = scoring.scorecard(partial, definitions, NOW)
    assert [(c["code"], c["status"]) for c in card["checkpoints"]] == [
        ("onboarding-essentials-all-staff", "fail"), ("compliance-audit-passed", "fail")]
    assert card["checkpoints"][0]["detail"] == "2 of 5 staff have not completed it."
    assert card["checkpoints"][1]["detail"] == "Compliance score is 70 (needs at least 75)."
    assert {f["key"] for f in card["flags"]} == {
        "checkpoint_failed:onboarding-essentials-all-staff",
        "checkpoint_failed:compliance-audit-passed"}
    done = facts(ALL_GREEN, track_completion={"onboarding-essentials-all-staff": (5, 5, 0)})
    assert [c["status"] for c in scoring.scorecard(done, definitions, NOW)["checkpoints"]] \
        == ["pass", "pass"]
    no_data = facts({}, track_completion={})
    assert [c["status"] for c in scoring.scorecard(no_data, definitions, NOW)["checkpoints"]] \
        == ["fail", "unknown"]  # no staff fails; a missing audit score is a gap, not a fail


def test_newcomers_are_not_compliance_failures(definitions):
    # The shipped checkpoint gives new staff the 90 days tiers.yml gives them: a partner
    # whose only unfinished people joined recently passes, and says so.
    only_new = facts(ALL_GREEN, track_completion={"onboarding-essentials-all-staff": (0, 0, 1)})
    card = scoring.scorecard(only_new, definitions, NOW)
    assert card["checkpoints"][0]["status"] == "pass"
    assert card["checkpoints"][0]["detail"] == (
        "1 staff member who joined in the last 90 days is not held to it yet.")
    assert not card["flags"]
    mixed = facts(ALL_GREEN, track_completion={"onboarding-essentials-all-staff": (4, 5, 2)})
    detail = scoring.scorecard(mixed, definitions, NOW)["checkpoints"][0]["detail"]
    assert detail == ("1 of 5 staff has not completed it. 2 staff who joined in the last "
                      "90 days are not held to it yet.")


def test_the_record_keeps_definitions_and_rubric_versions(definitions):
    card = scoring.scorecard(facts(ALL_GREEN, readiness=readiness()), definitions, NOW)
    assert card["definitions"] == {"version": 3, "hash": definitions.content_hash,
                                   "currency": "USD"}
    assert card["readiness"]["rubric_version"] == 1
    assert card["readiness"]["components"] == [{"key": "certification_coverage", "points": 40}]
