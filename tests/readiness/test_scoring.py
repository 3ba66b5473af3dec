"""Readiness scoring: a pure function of facts, rubric and tier rules, component by component."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from lms.readiness.facts import OnboardingFacts, TrackProgress
from lms.readiness.loader import COMPONENTS, TierRule
from lms.readiness.scoring import score
from tests.readiness.support import (
    NAMES,
    NOW,
    SP,
    TA,
    cert,
    done_track,
    facts,
    needs,
    rubric,
    rules,
)

GOLD = TierRule("gold", certifications=(needs(SP, 2, "sales", "presales"), needs(TA, 1)))
TIERS = rules(gold=GOLD)
ALL_DONE = OnboardingFacts(milestones_due=4, milestones_done_on_time=4)


def ready(**changes):
    """A Gold partner meeting every rule with certificates valid for a year."""
    values = dict(certificates=[cert(1, SP, expires_in=365, job_role="sales"),
                                cert(2, SP, expires_in=365, job_role="presales"),
                                cert(3, TA, expires_in=365)],
                  tracks=[done_track()], onboarding=ALL_DONE)
    values.update(changes)
    return facts("gold", **values)


def points(readiness) -> dict[str, float]:
    return {component.key: component.points for component in readiness.components}


def test_a_partner_meeting_everything_scores_100_green_with_the_rubric_it_was_scored_on():
    result = score(ready(), rubric(), TIERS, NOW, names=NAMES)
    assert result.total == 100
    assert result.health == "green"
    assert [component.key for component in result.components] == list(COMPONENTS)
    assert points(result) == {"certification_coverage": 40, "certification_currency": 20,
                              "track_completion": 25, "onboarding": 15}
    assert all(component.measured for component in result.components)
    assert result.rubric_version == 1
    assert result.rubric_hash == rubric().content_hash
    assert result.tier_rules_hash == GOLD.content_hash
    assert (result.organisation_id, result.tier, result.at) == (7, "gold", NOW)


def test_coverage_averages_holders_over_required_per_rule():
    # One of the two Sales Professionals required, the Technical Associate held: (0.5 + 1) / 2.
    result = score(ready(certificates=[cert(1, SP, expires_in=365, job_role="sales"),
                                       cert(3, TA, expires_in=365)]),
                   rubric(), TIERS, NOW, names=NAMES)
    coverage = result.component("certification_coverage")
    assert coverage.value == 0.75
    assert coverage.points == 30
    assert coverage.explanation == (
        "1 of 2 requirements of Gold met (Sales Professional (Sales or Presales staff): "
        "1 held, 2 needed; Technical Associate: 1 held, 1 needed)")
    assert result.total == 90


def test_coverage_caps_each_rule_at_full_and_counts_people_not_certificates():
    many = [cert(user, TA, expires_in=365) for user in (3, 4, 5)]
    twice = [cert(1, SP, expires_in=365, job_role="sales"),
             cert(1, SP, expires_in=200, job_role="sales")]  # one person counts once
    coverage = score(ready(certificates=many + twice), rubric(), TIERS, NOW).component(
        "certification_coverage")
    assert coverage.value == (0.5 + 1) / 2  # 3 Technical Associates do not make up for sales


def test_coverage_counts_only_qualifying_job_roles_and_live_certificates():
    certificates = [cert(1, SP, expires_in=365, job_role="technical"),  # role does not count
                    cert(2, SP, expires_in=0, job_role="sales"),  # expires at this instant
                    cert(3, TA, expires_in=365, job_role=None)]  # any role counts for TA
    coverage = score(ready(certificates=certificates), rubric(), TIERS, NOW).component(
        "certification_coverage")
    assert coverage.value == (0 + 1) / 2


def test_currency_is_the_share_of_live_certificates_valid_beyond_the_window():
    certificates = [cert(1, SP, expires_in=365, job_role="sales"),
                    cert(2, SP, expires_in=200, job_role="presales"),
                    cert(3, TA, expires_in=60),  # exactly at the window's end: at risk
                    cert(4, TA, expires_in=60.5)]
    currency = score(ready(certificates=certificates), rubric(), TIERS, NOW,
                     names=NAMES).component("certification_currency")
    assert currency.value == 0.75
    assert currency.points == 15
    assert currency.explanation == ("3 of 4 live certificates valid for more than 60 days; "
                                    "the first expires on 21 March")


def test_the_currency_window_comes_from_the_rubric():
    certificates = [cert(1, SP, expires_in=45, job_role="sales"),
                    cert(2, SP, expires_in=45, job_role="sales")]
    short = score(ready(certificates=certificates), rubric(expiring_within_days=30), TIERS, NOW)
    long = score(ready(certificates=certificates), rubric(), TIERS, NOW)
    assert short.component("certification_currency").value == 1
    assert long.component("certification_currency").value == 0


def test_track_completion_pools_required_tracks_and_ignores_optional_ones():
    tracks = [TrackProgress("partner-onboarding-essentials", True, assigned=10, completed=7),
              TrackProgress("sales-foundations", True, assigned=4, completed=1),
              TrackProgress("support-essentials", False, assigned=3, completed=0)]
    component = score(ready(tracks=tracks), rubric(), TIERS, NOW).component("track_completion")
    assert component.value == 8 / 14
    assert component.points == pytest.approx(25 * 8 / 14)
    assert component.explanation == "8 of 14 required-track assignments completed"


def test_onboarding_is_milestones_done_on_time_over_milestones_due():
    onboarding = OnboardingFacts(milestones_due=4, milestones_done_on_time=3, complete=False)
    component = score(ready(onboarding=onboarding), rubric(), TIERS, NOW).component("onboarding")
    assert component.value == 0.75
    assert component.points == 11.25
    assert component.explanation == "3 of 4 milestones due so far done on time"


def test_components_with_nothing_to_measure_count_as_full_and_say_why():
    # A brand-new Registered partner: no certification asked, none held, no required track
    # assigned yet, no milestone due yet.
    result = score(facts("registered"), rubric(), TIERS, NOW, names=NAMES)
    assert result.total == 100
    explanations = {component.key: (component.measured, component.value,
                                    component.explanation)
                    for component in result.components}
    assert explanations == {
        "certification_coverage": (False, 1, "Registered asks for no certifications"),
        "certification_currency": (False, 1, "no live certificates, so none can lapse"),
        "track_completion": (False, 1, "no required tracks assigned yet"),
        "onboarding": (False, 1, "no onboarding milestones due yet"),
    }


def test_no_certificates_costs_the_coverage_points_not_the_currency_points():
    result = score(ready(certificates=[]), rubric(), TIERS, NOW)
    assert points(result)["certification_coverage"] == 0
    assert points(result)["certification_currency"] == 20
    assert result.total == 60
    assert result.health == "yellow"


def test_a_tier_without_rules_is_scored_and_explained():
    result = score(facts("diamond", tracks=[done_track()], onboarding=ALL_DONE), rubric(),
                   TIERS, NOW)
    coverage = result.component("certification_coverage")
    assert (coverage.measured, coverage.value) == (False, 1)
    assert coverage.explanation == "no tier rules for 'diamond': nothing to cover"
    assert result.tier_rules_hash is None


@pytest.mark.parametrize(("done_on_time", "total", "health"), [
    (4, 100, "green"),
    (0, 85, "green"),
])
def test_health_follows_the_rubric_thresholds(done_on_time, total, health):
    onboarding = OnboardingFacts(milestones_due=4, milestones_done_on_time=done_on_time)
    result = score(ready(onboarding=onboarding), rubric(), TIERS, NOW)
    assert (result.total, result.health) == (total, health)


def test_health_bands_at_their_boundaries():
    scale = rubric()
    assert [scale.health(total) for total in (100, 80, 79.9, 60, 59.9, 0)] == [
        "green", "green", "yellow", "yellow", "red", "red"]


def test_total_is_rounded_to_one_decimal_and_weights_come_from_the_rubric():
    tracks = [TrackProgress("partner-onboarding-essentials", True, assigned=3, completed=1)]
    weights = {"certification_coverage": 10, "certification_currency": 10,
               "track_completion": 70, "onboarding": 10}
    result = score(ready(tracks=tracks), rubric(weights=weights), TIERS, NOW)
    assert result.component("track_completion").points == pytest.approx(70 / 3)
    assert result.total == 53.3  # 30 + 23.33...
    assert result.health == "red"


def test_scoring_at_a_later_moment_drops_what_has_expired_by_then():
    later = NOW + timedelta(days=400)
    result = score(ready(), rubric(), TIERS, later)
    assert result.at == later
    assert result.component("certification_coverage").value == 0
    # Lapsed certificates are not current: they stay in the whole, so currency falls to 0
    # rather than counting as "nothing to measure".
    currency = result.component("certification_currency")
    assert currency.measured is True and currency.value == 0


def test_a_lapse_lowers_currency_instead_of_leaving_the_whole():
    certificates = [cert(1, SP, expires_in=10, job_role="sales"),  # lapses by day 30
                    cert(2, SP, expires_in=80, job_role="sales"),  # at risk on day 30
                    cert(3, TA, expires_in=365),
                    cert(4, TA, expires_in=365)]
    partner = ready(certificates=certificates)
    today = score(partner, rubric(), TIERS, NOW).component("certification_currency")
    in_30 = score(partner, rubric(), TIERS, NOW + timedelta(days=30),
                  names=NAMES).component("certification_currency")
    assert today.value == 0.75
    assert in_30.value == 0.5 <= today.value
    assert in_30.explanation == ("2 of 4 live certificates valid for more than 60 days; "
                                 "1 lapsed by then; the first expires on 10 April")


def test_a_score_as_a_record_keeps_everything_needed_to_explain_it_later():
    result = score(ready(certificates=[]), rubric(), TIERS, NOW, names=NAMES)
    record = json.loads(json.dumps(result.as_record()))  # JSON all the way down
    assert record["total"] == 60 and record["health"] == "yellow"
    assert record["at"] == "2026-01-20T09:00:00+00:00"
    assert (record["rubric_version"], record["rubric_hash"], record["tier_rules_hash"]) == (
        1, rubric().content_hash, GOLD.content_hash)
    assert record["components"][0] == {
        "key": "certification_coverage", "label": "Certification coverage", "value": 0.0,
        "weight": 40, "points": 0.0, "measured": True,
        "explanation": "0 of 2 requirements of Gold met (Sales Professional (Sales or "
                       "Presales staff): 0 held, 2 needed; Technical Associate: 0 held, "
                       "1 needed)"}


def test_explanations_count_in_good_english():
    from lms.readiness.wording import part_of

    assert part_of(1, 1, "requirement") == "1 of 1 requirement"
    assert part_of(0, 1, "live certificate") == "0 of 1 live certificate"
    assert part_of(3, 4, "milestone") == "3 of 4 milestones"
