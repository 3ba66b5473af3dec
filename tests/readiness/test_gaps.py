"""Gaps: what is missing for the current tier and the next one, and the staff behind it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lms.readiness.facts import Names, OnboardingFacts, TrackProgress
from lms.readiness.gaps import Gap, gaps, standing
from lms.readiness.loader import TierRule
from tests.readiness.support import (
    NAMES,
    NOW,
    ONBOARDING_TRACK,
    SA,
    SP,
    TA,
    cert,
    facts,
    needs,
    rules,
    staff,
)

TIERS = rules(
    silver=TierRule("silver", certifications=(needs(SP, 1, "sales", "presales"),),
                    tracks=(ONBOARDING_TRACK,)),
    gold=TierRule("gold", certifications=(needs(SP, 2, "sales", "presales"), needs(TA, 1)),
                  tracks=(ONBOARDING_TRACK,), onboarding_complete=True),
    platinum=TierRule("platinum", certifications=(needs(TA, 3), needs(SA, 1)),
                      tracks=(ONBOARDING_TRACK, "security-basics"),
                      onboarding_complete=True),
)
MEMBERS = staff((1, "sales"), (2, "presales"), (3, "technical"), (4, "technical"),
                (5, "support"))
EVERYONE_DONE = TrackProgress(ONBOARDING_TRACK, True, assigned=5, completed=5)


def partner(tier="gold", **changes):
    """A Gold partner with five staff that meets Gold exactly."""
    values = dict(members=MEMBERS,
                  certificates=[cert(1, SP, expires_in=300, job_role="sales"),
                                cert(2, SP, expires_in=300, job_role="presales"),
                                cert(3, TA, expires_in=300)],
                  tracks=[EVERYONE_DONE,
                          TrackProgress("security-basics", False, assigned=0, completed=0,
                                        unfinished=(5, 1, 3))])
    values.update(changes)
    return facts(tier, **values)


def test_a_partner_meeting_its_tier_has_no_gaps_and_the_next_tier_lists_all_it_lacks():
    result = gaps(partner(), TIERS, NOW, names=NAMES)
    assert result.current.meets
    assert result.current.gaps == ()
    assert result.current.text == "meets Gold"
    assert not result.next.meets
    assert result.next.tier == "platinum"
    assert result.next.gaps == (
        Gap("certification", TA, 2, "2 more active Technical Associates", (1, 2, 4, 5)),
        Gap("certification", SA, 1, "1 more active Solution Architect", (1, 2, 3, 4, 5)),
        Gap("track", "security-basics", 3, "3 staff have not finished Security Basics",
            (1, 3, 5)),
    )
    assert result.next.text == (
        "below Platinum: 2 more active Technical Associates; 1 more active Solution Architect; "
        "3 staff have not finished Security Basics")


def test_current_tier_gaps_name_the_shortfall_and_who_could_close_it():
    certificates = [cert(3, TA, expires_in=300),
                    cert(4, SP, expires_in=300, job_role="technical")]  # not a sales role
    result = gaps(partner(certificates=certificates), TIERS, NOW, names=NAMES)
    assert not result.current.meets
    assert result.current.gaps == (
        Gap("certification", SP, 2, "2 more active Sales Professionals among Sales or Presales "
            "staff", (1, 2)),
    )
    assert result.current.text == ("below Gold: 2 more active Sales Professionals among Sales "
                                   "or Presales staff")


def test_an_expired_certificate_leaves_a_gap_with_its_former_holder_behind_it():
    certificates = [cert(1, SP, expires_in=300, job_role="sales"),
                    cert(2, SP, expires_in=300, job_role="presales"),
                    cert(3, TA, expires_in=10)]
    later = NOW + timedelta(days=10)
    current = standing(partner(certificates=certificates), TIERS, "gold", later, names=NAMES)
    assert current.gaps == (
        Gap("certification", TA, 1, "1 more active Technical Associate", (1, 2, 3, 4, 5)),)


def test_track_and_onboarding_gaps_with_the_staff_behind_them():
    onboarding = OnboardingFacts(milestones_due=5, milestones_done_on_time=3, complete=False,
                                 outstanding=("Agreement signed", "Two staff certified",
                                              "First deal registered", "Joint business plan",
                                              "Kick-off call"),
                                 behind=(4, 2))
    tracks = [TrackProgress(ONBOARDING_TRACK, True, assigned=5, completed=4, unfinished=(4,))]
    current = standing(partner(tracks=tracks, onboarding=onboarding), TIERS, "gold", NOW,
                       names=NAMES)
    assert current.gaps == (
        Gap("track", ONBOARDING_TRACK, 1,
            "1 staff member has not finished Partner Onboarding Essentials", (4,)),
        Gap("onboarding", "onboarding", 1,
            "onboarding not complete (open: Agreement signed, Two staff certified, "
            "First deal registered and 2 more)", (2, 4)),
    )


def test_facts_without_detail_give_the_same_gaps_naming_nobody():
    """What a recompute stores: counts instead of lists give the same gaps and texts."""
    onboarding = OnboardingFacts(milestones_due=5, milestones_done_on_time=3, complete=False,
                                 outstanding=("Agreement signed",), behind=(4, 2))
    runs_out = NOW + timedelta(days=20)  # a newcomer's time for the track
    detailed = partner(tracks=[TrackProgress(ONBOARDING_TRACK, True, assigned=5, completed=3,
                                             unfinished=(4, 5), settling=(2,),
                                             settling_ends=(runs_out,))],
                       certificates=[cert(3, TA, expires_in=300)], onboarding=onboarding)
    counted = partner(members=(), detailed=False, certificates=[
        cert(3, TA, expires_in=300)._replace(renewal_opens_at=None, validity_months=None)],
        tracks=[TrackProgress(ONBOARDING_TRACK, True, assigned=5, completed=3,
                              unfinished_count=2, settling_ends=(runs_out,))],
        onboarding=OnboardingFacts(milestones_due=5, milestones_done_on_time=3,
                                   complete=False, outstanding=("Agreement signed",)))
    with_people = standing(detailed, TIERS, "gold", NOW, names=NAMES)
    without = standing(counted, TIERS, "gold", NOW, names=NAMES)
    assert [(gap.kind, gap.missing, gap.text) for gap in with_people.gaps] == \
        [(gap.kind, gap.missing, gap.text) for gap in without.gaps]
    assert without.text == with_people.text and not without.meets
    assert [gap.user_ids for gap in with_people.gaps] == [(1, 2), (4, 5), (2, 4)]
    assert all(gap.user_ids == () for gap in without.gaps)


def test_a_newcomer_counts_against_the_tier_once_their_time_runs_out():
    runs_out = NOW + timedelta(days=20)
    facts = partner(tracks=[TrackProgress(ONBOARDING_TRACK, True, assigned=3, completed=1,
                                          unfinished=(4,), settling=(2,),
                                          settling_ends=(runs_out,))])
    tracks_only = rules(gold=TierRule("gold", tracks=(ONBOARDING_TRACK,)))

    def track_gap(at):
        return next(gap for gap in standing(facts, tracks_only, "gold", at, names=NAMES).gaps
                    if gap.kind == "track")

    assert (track_gap(NOW).missing, track_gap(NOW).user_ids) == (1, (4,))
    assert track_gap(runs_out - timedelta(seconds=1)).missing == 1
    later = track_gap(runs_out)  # from the instant it runs out, like an expiry
    assert (later.missing, later.user_ids) == (2, (2, 4))
    assert later.text == "2 staff have not finished Partner Onboarding Essentials"


def test_onboarding_counts_only_for_tiers_that_ask_for_it():
    onboarding = OnboardingFacts(complete=False)
    result = gaps(partner("silver", onboarding=onboarding), TIERS, NOW, names=NAMES)
    assert result.current.meets  # Silver does not ask for onboarding to be complete
    assert result.next.gaps[-1] == Gap("onboarding", "onboarding", 1, "onboarding not complete")


def test_the_top_tier_has_no_next_tier_and_an_unknown_tier_no_rules():
    top = gaps(partner("platinum"), TIERS, NOW, names=NAMES)
    assert top.next is None
    assert not top.current.meets
    unknown = gaps(partner("diamond"), TIERS, NOW, names=NAMES)
    assert unknown.current.meets and unknown.current.gaps == ()
    assert unknown.current.text == "no tier rules for 'diamond'"
    assert unknown.next is None


def test_a_tier_that_asks_nothing_is_met_by_a_partner_without_staff():
    empty = facts("registered", tracks=[TrackProgress(ONBOARDING_TRACK, True, 0, 0)])
    result = gaps(empty, TIERS, NOW, names=NAMES)
    assert result.current.meets
    assert result.next.tier == "silver"
    assert result.next.gaps == (
        Gap("certification", SP, 1,
            "1 more active Sales Professional among Sales or Presales staff", ()),)


def test_a_tier_track_missing_from_the_facts_is_an_error_not_a_pass():
    # A gather that left the track out would otherwise read as "everyone finished it".
    with pytest.raises(ValueError, match="no progress for track 'partner-onboarding-essentials'"):
        gaps(facts("silver"), TIERS, NOW)


def test_names_fall_back_to_the_codes_title_cased():
    result = standing(partner(certificates=[]), TIERS, "gold", NOW, names=Names())
    assert result.text == ("below Gold: 2 more active Sales Professionals among Sales or "
                           "Presales staff; 1 more active Technical Associate")
