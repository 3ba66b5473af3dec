"""Gaps: exactly what a partner is missing for its tier and for the next one, and who.

Each tier's rules stand alone (tiers.yml spells out everything a tier asks), so the gaps to
the next tier are that tier's rules checked against the same facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lms.readiness.facts import Names, OrganisationFacts, TrackProgress
from lms.readiness.loader import CertificationRule, TierRule, TierRules
from lms.readiness.scoring import Holding, holder_count, holders
from lms.readiness.wording import plural

LISTED_MILESTONES = 3  # outstanding onboarding milestones named in a gap; the rest counted


@dataclass(frozen=True)
class Gap:
    kind: str  # 'certification', 'track' or 'onboarding'
    subject: str  # the program code, the track slug, or 'onboarding'
    missing: int  # holders still needed, staff still to finish the track, or 1 (onboarding)
    text: str  # "1 more active Technical Associate"
    # The staff behind the gap: for a certification, those with a qualifying job role who
    # hold none (who could close it); for a track, who has not finished it; for onboarding,
    # staff with an overdue milestone of their own. Ascending ids; from facts gathered
    # without detail, the first NAMED of them (and for a certification only at the moment
    # the facts were gathered). `people` says how many they are.
    user_ids: tuple[int, ...] = ()
    people: int = -1

    def __post_init__(self):
        if self.people < 0:
            object.__setattr__(self, "people", len(self.user_ids))


@dataclass(frozen=True)
class TierStanding:
    tier: str
    meets: bool
    gaps: tuple[Gap, ...]
    text: str  # "meets Gold" or "below Gold: 1 more active Technical Associate; ..."


@dataclass(frozen=True)
class Gaps:
    current: TierStanding  # the partner's own tier: does it keep it?
    next: TierStanding | None  # the tier above: what reaching it takes; None at the top


def gaps(facts: OrganisationFacts, tiers: TierRules, now: datetime, *,
         names: Names | None = None) -> Gaps:
    """What the partner lacks for its current tier and for the next tier up, at `now`."""
    above = tiers.above(facts.tier)
    return Gaps(current=standing(facts, tiers, facts.tier, now, names=names),
                next=standing(facts, tiers, above, now, names=names) if above else None)


def standing(facts: OrganisationFacts, tiers: TierRules, tier: str, now: datetime, *,
             names: Names | None = None) -> TierStanding:
    """Whether the facts meet `tier`'s rules at `now`, with every gap if not.

    Kept on the facts for the same rules and names: a recompute asks for the current
    standing twice (the gaps and the forecast)."""
    key = ("standing", tier, now)
    kept = facts.memo.get(key)
    if kept is not None and kept[0] is tiers and kept[1] is names:
        return kept[2]
    result = _standing(facts, tiers, tier, now, names or Names())
    facts.memo[key] = (tiers, names, result)
    return result


def _standing(facts: OrganisationFacts, tiers: TierRules, tier: str, now: datetime,
              names: Names) -> TierStanding:
    rule = tiers.rule(tier)
    if rule is None:
        return TierStanding(tier, True, (), f"no tier rules for '{tier}'")
    found = tuple(_gaps(facts, rule, now, names))
    if not found:
        return TierStanding(tier, True, (), f"meets {names.tier(tier)}")
    return TierStanding(tier, False, found, f"below {names.tier(tier)}: "
                        + "; ".join(gap.text for gap in found))


def meets_at(facts: OrganisationFacts, tiers: TierRules, tier: str,
             moments: Sequence[datetime], *, holding: Holding | None = None) -> list[bool]:
    """standing(...).meets at each of `moments`, without the gaps' words and people: what a
    forecast's horizons keep (a recompute asks for three horizons under two what-ifs, for
    every partner). `holding` answers for the certificates instead of the facts' own (a
    what-if)."""
    rule = tiers.rule(tier)
    if rule is None:
        return [True] * len(moments)
    holding = holding or facts
    met = [True] * len(moments)
    for requirement in rule.certifications:
        met = [kept and held >= requirement.count for kept, held in zip(
            met, holding.holder_counts(requirement.program, requirement.job_roles, moments),
            strict=True)]
    for slug in rule.tracks:
        progress = _progress(facts, rule, slug)
        met = [kept and not progress.behind_at(at) for kept, at in zip(met, moments, strict=True)]
    if rule.onboarding_complete and not facts.onboarding.complete:
        return [False] * len(moments)
    return met


def _progress(facts: OrganisationFacts, rule: TierRule, slug: str) -> TrackProgress:
    progress = facts.track(slug)
    if progress is None:
        # A gather that left the track out would read as "everyone finished it".
        raise ValueError(f"the facts of organisation {facts.organisation_id} have no "
                         f"progress for track '{slug}', which tier '{rule.tier}' requires")
    return progress


def _gaps(facts: OrganisationFacts, rule: TierRule, now: datetime, names: Names):
    for requirement in rule.certifications:
        gap = certification_gap(facts, requirement, now, names)
        if gap is not None:
            yield gap
    for slug in rule.tracks:
        progress = _progress(facts, rule, slug)
        # At a later moment (a forecast), newcomers whose time has run out count too.
        count = progress.behind_at(now)
        if count:
            who = "1 staff member has" if count == 1 else f"{count} staff have"
            yield Gap("track", slug, count, f"{who} not finished {names.track(slug)}",
                      progress.behind_ids_at(now), count)
    if rule.onboarding_complete and not facts.onboarding.complete:
        yield Gap("onboarding", "onboarding", 1, _onboarding_text(facts),
                  tuple(sorted(facts.onboarding.behind)), facts.onboarding.behind_count)


def certification_gap(facts: OrganisationFacts, rule: CertificationRule, at: datetime,
                      names: Names) -> Gap | None:
    """The shortfall against one certification rule at `at`, or None when it is met."""
    missing = rule.count - holder_count(facts, rule, at)
    if missing <= 0:
        return None
    if facts.detailed:
        held = holders(facts, rule, at)
        candidates = tuple(sorted(member.user_id for member in facts.staff
                                  if rule.qualifies(member.job_role)
                                  and member.user_id not in held))
        people = len(candidates)
    else:
        candidates, people = facts.candidates.get((rule.program, rule.job_roles), ((), 0))
    return Gap("certification", rule.program, missing,
               f"{missing} more active {holder_noun(rule, names, missing)}", candidates,
               people)


def holder_noun(rule: CertificationRule, names: Names, count: int) -> str:
    """'Technical Associate(s)', with the job roles that count when the rule names any."""
    name = names.program(rule.program)
    noun = name if count == 1 else plural(name)
    if rule.job_roles:
        noun += " among " + " or ".join(names.job_role(role) for role in rule.job_roles) \
            + " staff"
    return noun


def _onboarding_text(facts: OrganisationFacts) -> str:
    outstanding = facts.onboarding.outstanding
    if not outstanding:
        return "onboarding not complete"
    shown = ", ".join(outstanding[:LISTED_MILESTONES])
    more = len(outstanding) - LISTED_MILESTONES
    if more > 0:
        shown += f" and {more} more"
    return f"onboarding not complete (open: {shown})"
