"""Readiness as a pure function of an organisation's facts, the rubric and the tier rules.

Four components, each a value from 0 to 1 times its rubric weight (PRODUCT.md's default:
coverage 40, currency 20, required tracks 25, onboarding 15):
- certification coverage: for each certification rule of the partner's tier,
  min(1, holders / required), averaged;
- certification currency: the share of live certificates not expiring within the rubric's
  window (60 days by default); at a forecast horizon, of the certificates held today, so a
  lapse lowers it;
- required-track completion: completed / assigned, over the required tracks of all staff;
- onboarding progress: milestones done on time / milestones due.

A component with nothing to measure (a tier that asks for no certifications, no live
certificates, no required tracks assigned, no milestones due yet) counts as full and says
so (`measured` is False). Re-weighting the rest instead would make a component's points
mean something different from partner to partner and from one day to the next, and would
move every other component's points whenever one becomes measurable; "nothing is asked and
nothing is at risk" is not a shortfall, and what is missing shows in the other components
(no certificates at all costs the coverage points, not the currency points).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from lms.readiness.facts import Names, OrganisationFacts
from lms.readiness.loader import (
    COMPONENTS,
    COVERAGE,
    CURRENCY,
    ONBOARDING,
    TRACKS,
    CertificationRule,
    Rubric,
    TierRule,
    TierRules,
)
from lms.readiness.wording import day, part_of

LABELS = {
    COVERAGE: "Certification coverage",
    CURRENCY: "Certification currency",
    TRACKS: "Required-track completion",
    ONBOARDING: "Onboarding progress",
}


@dataclass(frozen=True)
class Component:
    key: str  # one of loader.COMPONENTS
    label: str
    value: float  # 0 to 1
    weight: int  # from the rubric
    points: float  # value × weight
    measured: bool  # False: nothing to measure, counted as full (the explanation says why)
    explanation: str


@dataclass(frozen=True)
class Readiness:
    organisation_id: int
    tier: str
    at: datetime  # the moment scored (now, or a forecast horizon)
    total: float  # 0 to 100, one decimal
    health: str  # 'green', 'yellow' or 'red'
    components: tuple[Component, ...]
    rubric_version: int
    rubric_hash: str
    tier_rules_hash: str | None  # of the tier's rules; None for a tier without rules

    def component(self, key: str) -> Component:
        """The component called `key` (one of loader.COMPONENTS)."""
        return next(component for component in self.components if component.key == key)

    def as_record(self) -> dict:
        """JSON-ready: what a stored score keeps so that it can be explained later."""
        return {
            "organisation_id": self.organisation_id, "tier": self.tier,
            "at": self.at.isoformat(), "total": self.total, "health": self.health,
            "rubric_version": self.rubric_version, "rubric_hash": self.rubric_hash,
            "tier_rules_hash": self.tier_rules_hash,
            "components": self.components_record(),
        }

    def components_record(self) -> list[dict]:
        """The components, JSON-ready (as_record's "components")."""
        return [{"key": c.key, "label": c.label, "value": c.value, "weight": c.weight,
                 "points": c.points, "measured": c.measured, "explanation": c.explanation}
                for c in self.components]


def score(facts: OrganisationFacts, rubric: Rubric, tiers: TierRules, now: datetime, *,
          names: Names | None = None) -> Readiness:
    """Score one organisation at `now`: total, health and explained components."""
    names = names or Names()
    rule = tiers.rule(facts.tier)
    values = {
        COVERAGE: _coverage(facts, rule, now, names),
        CURRENCY: _currency(facts, rubric.expiring_within_days, now),
        # Neither depends on the moment: worked out once per facts, however many horizons.
        TRACKS: _memo(facts, "tracks", _tracks),
        ONBOARDING: _memo(facts, "onboarding", _onboarding),
    }
    components = []
    for key in COMPONENTS:
        value, measured, explanation = values[key]
        weight = rubric.weights[key]
        components.append(Component(key=key, label=LABELS[key], value=value, weight=weight,
                                    points=value * weight, measured=measured,
                                    explanation=explanation))
    total = round(sum(component.points for component in components), 1)
    return Readiness(organisation_id=facts.organisation_id, tier=facts.tier, at=now,
                     total=total, health=rubric.health(total), components=tuple(components),
                     rubric_version=rubric.version, rubric_hash=rubric.content_hash,
                     tier_rules_hash=rule.content_hash if rule else None)


class Holding(Protocol):
    """What coverage and currency ask of the certificates: OrganisationFacts answers it, and
    so does a forecast's what-if without rebuilding the facts (forecast.Renewal)."""

    def holder_count(self, program: str, job_roles: tuple[str, ...],
                     moment: datetime) -> int: ...

    def holder_counts(self, program: str, job_roles: tuple[str, ...],
                      moments: Sequence[datetime]) -> list[int]: ...

    def live_count(self, moment: datetime) -> int: ...


def totals(facts: OrganisationFacts, rubric: Rubric, tiers: TierRules,
           moments: Sequence[datetime], *, holding: Holding | None = None) -> list[float]:
    """score(...).total at each of `moments`, without the components' words: what a
    forecast's horizons keep (a recompute asks for three horizons under two what-ifs, for
    every partner), what does not depend on the moment worked out once. `holding` answers
    for the certificates instead of the facts' own (a what-if)."""
    holding = holding or facts
    tracks = _memo(facts, "tracks", _tracks)[0]
    onboarding = _memo(facts, "onboarding", _onboarding)[0]
    result = []
    for at, coverage in zip(moments, _coverage_values(holding, tiers.rule(facts.tier), moments),
                            strict=True):
        values = {COVERAGE: coverage,
                  CURRENCY: _currency_value(facts, rubric.expiring_within_days, at, holding),
                  TRACKS: tracks, ONBOARDING: onboarding}
        # Summed in score()'s order, so the float comes out the same.
        result.append(round(sum(values[key] * rubric.weights[key] for key in COMPONENTS), 1))
    return result


def holders(facts: OrganisationFacts, rule: CertificationRule, at: datetime) -> frozenset[int]:
    """Staff who count towards `rule` at `at`: a live certificate and a qualifying role."""
    return frozenset(user_id for user_id, expires_at
                     in facts.holder_expiries(rule.program, rule.job_roles).items()
                     if at < expires_at)


def holder_count(facts: OrganisationFacts, rule: CertificationRule, at: datetime) -> int:
    """len(holders(...)), without building the set (coverage only needs the number)."""
    return facts.holder_count(rule.program, rule.job_roles, at)


def rule_label(rule: CertificationRule, names: Names) -> str:
    """'Technical Associate', or 'Technical Associate (Technical or Presales staff)'."""
    return holders_label(rule.program, rule.job_roles, names)


def holders_label(program: str, job_roles, names: Names) -> str:
    """rule_label for a rule's program code and job role codes (as a stored score has them)."""
    label = names.program(program)
    if job_roles:
        roles = " or ".join(names.job_role(role) for role in job_roles)
        label += f" ({roles} staff)"
    return label


Measure = tuple[float, bool, str]


def _coverage(facts: OrganisationFacts, rule: TierRule | None, now: datetime,
              names: Names) -> Measure:
    if rule is None:
        return 1.0, False, f"no tier rules for '{facts.tier}': nothing to cover"
    if not rule.certifications:
        return 1.0, False, f"{names.tier(facts.tier)} asks for no certifications"
    parts = [f"{rule_label(requirement, names)}: {holder_count(facts, requirement, now)} "
             f"held, {requirement.count} needed" for requirement in rule.certifications]
    met = sum(1 for share in _shares(facts, rule, now) if share >= 1)
    return (_coverage_value(facts, rule, now), True,
            f"{part_of(met, len(parts), 'requirement')} of {names.tier(facts.tier)} met "
            f"({'; '.join(parts)})")


def _shares(holding: Holding, rule: TierRule, at: datetime) -> list[float]:
    return [min(1.0, holding.holder_count(requirement.program, requirement.job_roles, at)
                / requirement.count) for requirement in rule.certifications]


def _coverage_value(holding: Holding, rule: TierRule | None, at: datetime) -> float:
    return _coverage_values(holding, rule, (at,))[0]


def _coverage_values(holding: Holding, rule: TierRule | None,
                     moments: Sequence[datetime]) -> list[float]:
    if rule is None or not rule.certifications:
        return [1.0] * len(moments)
    # Each requirement's share at every moment, then each moment's average (as _shares).
    shares = [[min(1.0, count / requirement.count)
               for count in holding.holder_counts(requirement.program, requirement.job_roles,
                                                  moments)]
              for requirement in rule.certifications]
    return [sum(moment) / len(moment) for moment in zip(*shares, strict=True)]


def _currency(facts: OrganisationFacts, window_days: int, now: datetime) -> Measure:
    # The whole is every certificate held when the facts were gathered, not those still
    # live at `now`: scored at a forecast horizon, a certificate that lapsed by then is not
    # current. Leaving it out would make currency rise as certificates lapse.
    # Counted by bisection on the sorted expiries: the forecast scores every horizon.
    held = len(facts.expiries)
    if not held:
        return 1.0, False, "no live certificates, so none can lapse"
    live = facts.live_count(now)
    lasting = facts.live_count(now + timedelta(days=window_days))
    explanation = (f"{part_of(lasting, held, 'live certificate')} valid for more than "
                   f"{window_days} days")
    if live < held:
        explanation += f"; {held - live} lapsed by then"
    if live > 0 and lasting < live:
        first = facts.expiries[held - live]  # the earliest still live
        explanation += f"; the first expires on {day(first, now)}"
    return _currency_value(facts, window_days, now), True, explanation


def _currency_value(facts: OrganisationFacts, window_days: int, at: datetime,
                    holding: Holding | None = None) -> float:
    # A what-if renews certificates in place: as many are held, some for longer.
    held = len(facts.expiries)
    if not held:
        return 1.0
    return (holding or facts).live_count(at + timedelta(days=window_days)) / held


def _memo(facts: OrganisationFacts, key: str, measure) -> Measure:
    found = facts.memo.get(key)
    if found is None:
        found = facts.memo[key] = measure(facts)
    return found


def _tracks(facts: OrganisationFacts) -> Measure:
    required = [progress for progress in facts.tracks if progress.required]
    assigned = sum(progress.assigned for progress in required)
    if assigned == 0:
        return 1.0, False, "no required tracks assigned yet"
    completed = sum(min(progress.completed, progress.assigned) for progress in required)
    return (completed / assigned, True,
            f"{part_of(completed, assigned, 'required-track assignment')} completed")


def _onboarding(facts: OrganisationFacts) -> Measure:
    onboarding = facts.onboarding
    if onboarding.milestones_due == 0:
        return 1.0, False, "no onboarding milestones due yet"
    on_time = min(onboarding.milestones_done_on_time, onboarding.milestones_due)
    return (on_time / onboarding.milestones_due, True,
            f"{part_of(on_time, onboarding.milestones_due, 'milestone')} due so far "
            "done on time")
