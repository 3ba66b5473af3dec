"""Forecasts: readiness and tier standing at 30/60/90 days if nobody renews and if everyone in
a renewal window renews; the day a partner falls below its tier, said in one sentence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lms.readiness.facts import OnboardingFacts, TrackProgress
from lms.readiness.forecast import RenewalNeed, TrackNeed, forecast, renew_open_windows
from lms.readiness.loader import TierRule
from tests.readiness.support import (
    NAMES,
    NOW,
    ONBOARDING_TRACK,
    SP,
    TA,
    cert,
    done_track,
    facts,
    needs,
    rubric,
    rules,
    staff,
)

GOLD_ONE_TA = rules(gold=TierRule("gold", certifications=(needs(TA, 1),)))
ELENA, MARCO = 11, 12
MEMBERS = staff((ELENA, "technical"), (MARCO, "presales"), (13, "sales"))
DONE = OnboardingFacts(milestones_due=3, milestones_done_on_time=3)


def northwind(certificates, tier="gold"):
    return facts(tier, members=MEMBERS, certificates=certificates, tracks=[done_track()],
                 onboarding=DONE)


def run(partner, tiers=GOLD_ONE_TA, **changes):
    return forecast(partner, rubric(**changes), tiers, NOW, organisation="Northwind",
                    names=NAMES)


def test_northwind_falls_below_gold_on_the_later_expiry_unless_one_of_two_renews():
    # Gold asks for 1 active Technical Associate; Northwind holds two, both expiring within
    # 60 days (Elena in 20 days, Marco on 14 March) and both inside their renewal window.
    elena = cert(ELENA, TA, expires_in=20)
    marco = cert(MARCO, TA, expires_in=53, job_role="presales")
    assert marco.expires_at == datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
    result = run(northwind([elena, marco]))

    assert result.meets_now
    assert result.falls_below_on == marco.expires_at
    assert result.within_horizon
    assert result.renewals_needed == (RenewalNeed(needs(TA, 1), 1, (ELENA, MARCO)),)
    assert result.sentence == ("Northwind falls below Gold on 14 March unless 1 of 2 expiring "
                               "Technical Associates renews.")

    thirty, sixty, ninety = result.horizons
    assert [horizon.days for horizon in result.horizons] == [30, 60, 90]
    assert thirty.at == NOW + timedelta(days=30)
    # In 30 days Elena's has gone, Marco's still counts (and expires within 60 days then).
    assert thirty.expiring == (elena,)
    assert thirty.nobody_renews.standing.meets
    assert thirty.nobody_renews.readiness.total == 80
    assert thirty.nobody_renews.readiness.at == thirty.at
    # In 60 and 90 days neither is left: no coverage, and no currency either (a lapsed
    # certificate is not current; it does not leave the whole).
    for horizon in (sixty, ninety):
        assert horizon.expiring == (elena, marco)
        assert not horizon.nobody_renews.standing.meets
        assert horizon.nobody_renews.standing.text == (
            "below Gold: 1 more active Technical Associate")
        assert horizon.nobody_renews.readiness.total == 40
        assert horizon.nobody_renews.readiness.health == "red"
    # Both windows are open now, so if everyone in one renews, both run on for 24 months.
    for horizon in result.horizons:
        assert horizon.window_renews.standing.meets
        assert horizon.window_renews.readiness.total == 100
    assert sixty.text == ("In 60 days (21 March): 40 (red), below Gold if nobody renews; "
                          "100 (green), keeps Gold if everyone in a renewal window renews.")


def test_the_first_expiry_that_breaks_a_rule_is_the_fall_date():
    # Gold asks for two: losing Elena's certificate alone is enough.
    tiers = rules(gold=TierRule("gold", certifications=(needs(TA, 2),)))
    elena, marco = cert(ELENA, TA, expires_in=20), cert(MARCO, TA, expires_in=53)
    result = run(northwind([elena, marco]), tiers)
    assert result.falls_below_on == elena.expires_at
    assert result.renewals_needed == (RenewalNeed(needs(TA, 2), 1, (ELENA,)),)
    assert result.sentence == ("Northwind falls below Gold on 9 February unless the expiring "
                               "Technical Associate renews.")


def test_certificates_expiring_together_need_both_or_all_to_renew():
    tiers = rules(gold=TierRule("gold", certifications=(needs(TA, 2),)))
    pair = [cert(ELENA, TA, expires_in=40), cert(MARCO, TA, expires_in=40)]
    assert run(northwind(pair), tiers).sentence == (
        "Northwind falls below Gold on 1 March unless both expiring Technical Associates renew.")
    tiers = rules(gold=TierRule("gold", certifications=(needs(TA, 3),)))
    three = [*pair, cert(13, TA, expires_in=40)]
    assert run(northwind(three), tiers).sentence == (
        "Northwind falls below Gold on 1 March unless all 3 expiring Technical Associates renew.")
    tiers = rules(gold=TierRule("gold", certifications=(needs(TA, 2),)))
    assert run(northwind(three), tiers).sentence == (
        "Northwind falls below Gold on 1 March unless 2 of 3 expiring Technical Associates "
        "renew.")


def test_every_rule_broken_on_the_fall_date_is_named():
    tiers = rules(gold=TierRule("gold", certifications=(needs(SP, 1, "sales"), needs(TA, 1))))
    certificates = [cert(13, SP, expires_in=45, job_role="sales"),
                    cert(ELENA, TA, expires_in=45), cert(MARCO, TA, expires_in=45)]
    result = run(northwind(certificates), tiers)
    assert [(need.rule.program, need.needed, need.expiring)
            for need in result.renewals_needed] == [(SP, 1, (13,)), (TA, 1, (ELENA, MARCO))]
    assert result.sentence == (
        "Northwind falls below Gold on 6 March unless the expiring Sales Professional renews "
        "and 1 of 2 expiring Technical Associates renews.")


def test_a_fall_beyond_the_last_horizon_is_said_as_keeping_the_tier():
    result = run(northwind([cert(ELENA, TA, expires_in=200)]))
    assert result.falls_below_on == NOW + timedelta(days=200)
    assert not result.within_horizon
    assert result.sentence == ("Northwind keeps Gold for the next 90 days even if nobody "
                               "renews; without renewals it falls below Gold on 8 August.")
    # The year is said when it is not this year's.
    later = run(northwind([cert(ELENA, TA, expires_in=400)]))
    assert later.sentence.endswith("it falls below Gold on 24 February 2027.")


def test_the_horizons_come_from_the_rubric():
    result = run(northwind([cert(ELENA, TA, expires_in=100)]), forecast_days=(7, 120))
    assert [horizon.days for horizon in result.horizons] == [7, 120]
    assert result.within_horizon  # 100 days is inside the 120-day horizon
    assert result.sentence == ("Northwind falls below Gold on 30 April unless the expiring "
                               "Technical Associate renews.")


def test_a_partner_below_its_tier_now_is_told_what_it_lacks():
    result = run(northwind([]))
    assert not result.meets_now
    assert result.falls_below_on is None and not result.within_horizon
    assert result.renewals_needed == ()
    assert result.sentence == "Northwind does not meet Gold now: 1 more active Technical Associate."


def test_a_tier_that_asks_for_no_certifications_is_kept_whatever_expires():
    result = run(northwind([cert(ELENA, TA, expires_in=10)], tier="registered"))
    assert result.falls_below_on is None
    assert result.sentence == ("Northwind keeps Registered whatever expires: Registered asks "
                               "for no certifications.")
    unknown = run(northwind([], tier="diamond"))
    assert unknown.sentence == (
        "Northwind is on a tier with no rules ('diamond'): nothing to forecast.")


def test_only_certificates_whose_window_is_open_now_are_renewed_in_the_second_what_if():
    # The Sales Professional window is 60 days: at 75 days from expiry it is not open yet.
    tiers = rules(gold=TierRule("gold", certifications=(needs(SP, 1), needs(TA, 1))))
    certificates = [cert(13, SP, expires_in=75, window=60, job_role="sales", validity=12),
                    cert(ELENA, TA, expires_in=20)]
    ninety = run(northwind(certificates), tiers).horizons[-1]
    assert ninety.window_renews.standing.text == "below Gold: 1 more active Sales Professional"
    assert ninety.window_renews.readiness.component("certification_coverage").value == 0.5
    assert not ninety.nobody_renews.standing.meets


def test_renewing_in_the_window_runs_on_from_the_old_expiry_and_keeps_the_window_length():
    now = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
    open_now = cert(1, TA, expires_in=21, window=30, validity=1, now=now)  # 31 January
    not_yet = cert(2, TA, expires_in=200, window=90, now=now)
    renewed, untouched = renew_open_windows((open_now, not_yet), now)
    assert untouched == not_yet
    # 31 January plus one month is clamped to the end of February, as lifecycle dates it.
    assert renewed.expires_at == datetime(2026, 2, 28, 9, 0, tzinfo=UTC)
    assert renewed.expires_at - renewed.renewal_opens_at == timedelta(days=30)
    assert (renewed.user_id, renewed.program_code) == (1, TA)


def test_tracks_and_onboarding_are_held_where_they_are_now():
    onboarding = OnboardingFacts(milestones_due=4, milestones_done_on_time=2, complete=False)
    tiers = rules(gold=TierRule("gold", certifications=(needs(TA, 1),),
                                onboarding_complete=True))
    partner = facts("gold", members=MEMBERS, certificates=[cert(ELENA, TA, expires_in=300)],
                    tracks=[done_track()], onboarding=onboarding)
    result = run(partner, tiers)
    assert result.sentence == "Northwind does not meet Gold now: onboarding not complete."
    for horizon in result.horizons:
        for scenario in (horizon.nobody_renews, horizon.window_renews):
            assert scenario.readiness.component("onboarding").value == 0.5
            assert scenario.standing.text == "below Gold: onboarding not complete"


def test_a_holder_counts_until_their_last_qualifying_certificate_expires():
    # Marco holds two (an earlier one, then another running longer); Elena's does not count
    # for a rule that asks for presales holders.
    tiers = rules(gold=TierRule("gold", certifications=(needs(TA, 1, "presales"),)))
    certificates = [cert(MARCO, TA, expires_in=10, job_role="presales"),
                    cert(MARCO, TA, expires_in=53, job_role="presales"),
                    cert(ELENA, TA, expires_in=80, job_role="technical")]
    result = run(northwind(certificates), tiers)
    assert result.falls_below_on == NOW + timedelta(days=53)
    assert result.renewals_needed == (RenewalNeed(needs(TA, 1, "presales"), 1, (MARCO,)),)
    assert result.sentence == ("Northwind falls below Gold on 14 March unless the expiring "
                               "Technical Associate renews.")


GOLD_TA_AND_TRACK = rules(gold=TierRule("gold", certifications=(needs(TA, 1),),
                                        tracks=(ONBOARDING_TRACK,)))


def with_newcomer(certificates, runs_out_in_days: float):
    """Northwind where staff member 13 joined lately and has not finished the tier's track:
    their new_staff_days run out in `runs_out_in_days`."""
    newcomer = TrackProgress(ONBOARDING_TRACK, True, assigned=3, completed=2, settling=(13,),
                             settling_ends=(NOW + timedelta(days=runs_out_in_days),))
    return facts("gold", members=MEMBERS, certificates=certificates, tracks=[newcomer],
                 onboarding=DONE)


def test_a_newcomer_whose_time_runs_out_first_is_the_fall_date():
    partner = with_newcomer([cert(ELENA, TA, expires_in=300)], runs_out_in_days=36)
    result = run(partner, GOLD_TA_AND_TRACK)
    assert result.meets_now
    assert result.falls_below_on == NOW + timedelta(days=36)
    assert result.renewals_needed == ()
    assert result.finishing_needed == (
        TrackNeed(ONBOARDING_TRACK, 1, NOW + timedelta(days=36), (13,)),)
    assert result.renewals_by is None
    assert result.sentence == ("Northwind falls below Gold on 25 February unless 1 new staff "
                               "member finishes Partner Onboarding Essentials by then.")
    thirty, sixty, _ = result.horizons
    assert thirty.newcomers == () and thirty.window_renews.standing.meets
    # Renewing does not help: the track counts against Gold from then on.
    assert sixty.newcomers == (13,)
    for scenario in (sixty.nobody_renews, sixty.window_renews):
        assert scenario.standing.text == (
            "below Gold: 1 staff member has not finished Partner Onboarding Essentials")


def test_an_expiry_before_the_newcomers_time_runs_out_is_the_fall_date():
    elena = cert(ELENA, TA, expires_in=20)
    partner = with_newcomer([elena], runs_out_in_days=66)
    result = run(partner, GOLD_TA_AND_TRACK)
    assert result.falls_below_on == result.renewals_by == elena.expires_at
    # Renewing does not finish a track: the newcomer's own date follows in the sentence.
    assert result.finishing_needed == (
        TrackNeed(ONBOARDING_TRACK, 1, NOW + timedelta(days=66), (13,)),)
    assert result.sentence == (
        "Northwind falls below Gold on 9 February unless the expiring Technical Associate "
        "renews, and on 27 March unless 1 new staff member finishes Partner Onboarding "
        "Essentials by then.")
    # If she renews, Gold holds until the newcomer's time runs out (after 60 days).
    thirty, sixty, ninety = result.horizons
    assert thirty.window_renews.standing.meets and sixty.window_renews.standing.meets
    assert not ninety.window_renews.standing.meets and ninety.newcomers == (13,)


def test_a_newcomer_beyond_the_last_horizon_is_said_as_keeping_the_tier():
    partner = with_newcomer([cert(ELENA, TA, expires_in=300)], runs_out_in_days=120)
    result = run(partner, GOLD_TA_AND_TRACK)
    assert not result.within_horizon
    assert result.sentence == (
        "Northwind keeps Gold for the next 90 days even if nobody renews; it falls below "
        "Gold on 20 May unless 1 new staff member finishes Partner Onboarding Essentials "
        "by then.")


def test_if_nobody_renews_readiness_never_rises_as_certificates_lapse():
    # One of Northwind's two Technical Associates expires within the currency window and
    # lapses by the first horizon: losing it must not make what is left look more current.
    partner = northwind([cert(ELENA, TA, expires_in=20), cert(MARCO, TA, expires_in=400)])
    result = run(partner, rules(gold=TierRule("gold")))
    from lms.readiness.scoring import score
    today = score(partner, rubric(), rules(gold=TierRule("gold")), NOW).total
    totals = [h.nobody_renews.readiness.total for h in result.horizons]
    assert all(total <= today for total in totals), (today, totals)
    thirty = result.horizons[0].nobody_renews.readiness.component("certification_currency")
    assert thirty.value == 0.5


def test_the_sentence_and_the_box_count_the_same_newcomers():
    """The headline's "unless N new staff finish" and the box's "N new staff must finish"
    come from the same needs: three newcomers run out of time within the forecast."""
    ends = tuple(NOW + timedelta(days=d) for d in (36, 50, 70))
    newcomers = TrackProgress(ONBOARDING_TRACK, True, assigned=5, completed=2,
                              settling=(13, 14, 15), settling_ends=ends)
    partner = facts("gold", members=MEMBERS, certificates=[cert(ELENA, TA, expires_in=300)],
                    tracks=[newcomers], onboarding=DONE)
    result = run(partner, GOLD_TA_AND_TRACK)
    assert result.finishing_needed == (TrackNeed(ONBOARDING_TRACK, 3, ends[0], (13, 14, 15)),)
    assert result.sentence == ("Northwind falls below Gold on 25 February unless 3 new staff "
                               "finish Partner Onboarding Essentials, the first by then.")


def test_each_what_if_keeps_what_its_full_score_and_standing_say():
    """The horizons keep total, health and tier standing worked out without words (and the
    renewals without rebuilding the facts): the same as the full score and standing."""
    tiers = rules(gold=TierRule("gold", certifications=(
        needs(SP, 2, "sales", "presales"), needs(TA, 1)), tracks=(ONBOARDING_TRACK,)))
    certificates = [
        cert(13, SP, expires_in=40, window=60, job_role="sales", validity=1),  # renews to ~70
        cert(MARCO, SP, expires_in=75, window=60, job_role="presales", validity=12),
        cert(ELENA, TA, expires_in=20), cert(ELENA, TA, expires_in=200),
        cert(MARCO, TA, expires_in=50, job_role="presales", validity=1),
        cert(14, SP, expires_in=10, job_role="technical")]  # a role that does not count
    runs_out = NOW + timedelta(days=45)
    tracks = [TrackProgress(ONBOARDING_TRACK, True, assigned=5, completed=3, settling=(15,),
                            settling_ends=(runs_out,))]
    for partner in (northwind(certificates), northwind(certificates[2:]),
                    facts("gold", members=MEMBERS, certificates=certificates, tracks=tracks,
                          onboarding=DONE)):
        for horizon in run(partner, tiers).horizons:
            for scenario in (horizon.nobody_renews, horizon.window_renews):
                assert (scenario.total, scenario.health, scenario.meets) == (
                    scenario.readiness.total, scenario.readiness.health,
                    scenario.standing.meets)
