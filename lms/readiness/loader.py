"""Read and validate content/readiness/ (no database): the rubric and the tier rules.

`rubric.yml` holds the readiness components' weights, the health thresholds and the forecast
horizons; `tiers.yml` says what each partner tier asks of a partner. Cross-references (tiers,
certification programs, tracks, job roles) are checked against the rest of content/, and
problems name the file, the line and the field.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, PositiveInt

from lms.core.content_files import Problem, Strict, compose, display, problem_at, read_model

FOLDER = "readiness"
RUBRIC_FILE = "rubric.yml"
TIERS_FILE = "tiers.yml"

COVERAGE = "certification_coverage"
CURRENCY = "certification_currency"
TRACKS = "track_completion"
ONBOARDING = "onboarding"
COMPONENTS = (COVERAGE, CURRENCY, TRACKS, ONBOARDING)  # the order pages show them in

Weight = Annotated[int, Field(ge=0, le=100)]
Days = Annotated[int, Field(ge=1, le=730)]
Code = Annotated[str, Field(min_length=1, max_length=100)]


# --- file schemas --------------------------------------------------------------------------

class ComponentIn(Strict):
    weight: Weight


class CurrencyIn(ComponentIn):
    expiring_within_days: Days = 60


class ComponentsIn(Strict):
    certification_coverage: ComponentIn
    certification_currency: CurrencyIn
    track_completion: ComponentIn
    onboarding: ComponentIn


class HealthIn(Strict):
    green: Annotated[int, Field(ge=1, le=100)]
    yellow: Annotated[int, Field(ge=0, le=100)]


class RubricIn(Strict):
    version: PositiveInt
    components: ComponentsIn
    health: HealthIn
    forecast_days: list[Days] = Field(default_factory=lambda: [30, 60, 90], min_length=1,
                                      max_length=6)


class CertificationRuleIn(Strict):
    program: Code
    count: Annotated[int, Field(ge=1, le=10_000)]
    job_roles: list[Code] = []


class TierIn(Strict):
    certifications: list[CertificationRuleIn] = []
    tracks: list[Code] = []
    onboarding_complete: bool = False


class TierRulesIn(Strict):
    # New staff have this many days from joining to finish the tracks a tier asks of all
    # staff; until then they are not held against the tier.
    new_staff_days: Annotated[int, Field(ge=0, le=365)] = 0
    # `gold:` with nothing after it is YAML null: read as a tier that asks nothing.
    tiers: dict[Code, TierIn | None]


# --- what the rest of readiness works with -------------------------------------------------

def _hash(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Rubric:
    version: int
    weights: Mapping[str, int]  # component key -> points out of 100; they add up to 100
    expiring_within_days: int  # currency: certificates expiring sooner than this are at risk
    green: int  # a total at or above is green
    yellow: int  # at or above (and below green) is yellow; below is red
    forecast_days: tuple[int, ...] = (30, 60, 90)  # ascending
    source: str = ""

    @cached_property
    def content_hash(self) -> str:
        """Hash of everything that decides a score: stored with it, so it can be explained."""
        return _hash({"version": self.version, "weights": dict(self.weights),
                      "expiring_within_days": self.expiring_within_days,
                      "green": self.green, "yellow": self.yellow,
                      "forecast_days": list(self.forecast_days)})

    def health(self, total: float) -> str:
        """'green', 'yellow' or 'red' for a total from 0 to 100."""
        if total >= self.green:
            return "green"
        return "yellow" if total >= self.yellow else "red"


@dataclass(frozen=True)
class CertificationRule:
    program: str
    count: int  # distinct staff holding a live certificate of the program
    job_roles: tuple[str, ...] = ()  # holders must have one of these job roles; () = any

    def qualifies(self, job_role: str | None) -> bool:
        """Whether a holder with `job_role` counts towards this rule."""
        return not self.job_roles or job_role in self.job_roles


@dataclass(frozen=True)
class TierRule:
    tier: str
    certifications: tuple[CertificationRule, ...] = ()
    # completed by every active staff member who joined at least new_staff_days ago
    tracks: tuple[str, ...] = ()
    onboarding_complete: bool = False
    new_staff_days: int = 0  # tiers.yml's, the same for every tier

    @cached_property
    def content_hash(self) -> str:
        """Hash of this tier's rules alone: editing Platinum does not touch Gold's scores."""
        return _hash({"tier": self.tier, "tracks": list(self.tracks),
                      "new_staff_days": self.new_staff_days,
                      "onboarding_complete": self.onboarding_complete,
                      "certifications": [[rule.program, rule.count, list(rule.job_roles)]
                                         for rule in self.certifications]})


@dataclass(frozen=True)
class TierRules:
    order: tuple[str, ...]  # tier codes, lowest first (program.yml's order)
    rules: Mapping[str, TierRule]
    source: str = ""
    new_staff_days: int = 0  # newer staff are not yet held to the tracks every tier asks

    def settling_since(self, now: datetime) -> datetime:
        """Staff who joined after this are still new: their unfinished tracks do not count
        against the tier yet."""
        return now - timedelta(days=self.new_staff_days)

    def rule(self, tier: str) -> TierRule | None:
        """The rules of `tier`; None for a tier program.yml no longer lists."""
        return self.rules.get(tier)

    def above(self, tier: str) -> str | None:
        """The next tier up from `tier`; None at the top or for an unknown tier."""
        if tier not in self.order:
            return None
        index = self.order.index(tier)
        return self.order[index + 1] if index + 1 < len(self.order) else None


@dataclass(frozen=True)
class ReadinessContent:
    """Both files; each is None when content/ has no readiness folder or the file has
    problems (then `problems` says why)."""

    rubric: Rubric | None = None
    tiers: TierRules | None = None

    @property
    def configured(self) -> bool:
        return self.rubric is not None and self.tiers is not None


# --- reading -------------------------------------------------------------------------------

def load(root: Path, problems: list[Problem], *, programs: set[str], tracks: set[str],
         tiers: list[str], job_roles: set[str]) -> ReadinessContent:
    """Load `root`/readiness/rubric.yml and tiers.yml, appending each problem found.

    `tiers` is program.yml's tier codes, lowest first. Content without a readiness folder
    has no readiness (like one without certifications has no programs): nothing is scored.
    """
    folder = Path(root) / FOLDER
    if not folder.is_dir():
        return ReadinessContent()
    rubric = _load_rubric(folder / RUBRIC_FILE, problems)
    rules = _load_tiers(folder / TIERS_FILE, problems, programs=programs, tracks=tracks,
                        tiers=tiers, job_roles=job_roles)
    return ReadinessContent(rubric=rubric, tiers=rules)


def _load_rubric(path: Path, problems: list[Problem]) -> Rubric | None:
    spec = read_model(path, RubricIn, problems)
    if spec is None:
        return None
    node = compose(path)
    before = len(problems)
    weights = {key: getattr(spec.components, key).weight for key in COMPONENTS}
    if sum(weights.values()) != 100:
        terms = " + ".join(str(weight) for weight in weights.values())
        problems.append(problem_at(path, node, ("components",),
                                   f"the weights add up to {sum(weights.values())} ({terms}); "
                                   "they must add up to 100"))
    if spec.health.yellow >= spec.health.green:
        problems.append(problem_at(path, node, ("health", "yellow"),
                                   f"must be lower than green ({spec.health.green})"))
    seen: set[int] = set()
    for index, days in enumerate(spec.forecast_days):
        if days in seen:
            problems.append(problem_at(path, node, ("forecast_days", index),
                                       "each horizon may appear once"))
        seen.add(days)
    if len(problems) != before:
        return None
    return Rubric(version=spec.version, weights=weights,
                  expiring_within_days=spec.components.certification_currency
                  .expiring_within_days,
                  green=spec.health.green, yellow=spec.health.yellow,
                  forecast_days=tuple(sorted(spec.forecast_days)), source=display(path))


def _load_tiers(path: Path, problems: list[Problem], *, programs: set[str], tracks: set[str],
                tiers: list[str], job_roles: set[str]) -> TierRules | None:
    spec = read_model(path, TierRulesIn, problems)
    if spec is None:
        return None
    node = compose(path)
    before = len(problems)

    def refuse(loc: tuple, message: str) -> None:
        problems.append(problem_at(path, node, loc, message))

    listed = ", ".join(tiers)
    for code in spec.tiers:
        if code not in tiers:
            refuse(("tiers", code), f"unknown tier '{code}' (program.yml lists: {listed})")
    # Every tier is spelt out, so a tier added to program.yml cannot silently ask nothing.
    for code in tiers:
        if code not in spec.tiers:
            refuse(("tiers",), f"no rules for tier '{code}': list every tier of program.yml "
                               f"(write `{code}: {{}}` for a tier that asks nothing)")
    rules: dict[str, TierRule] = {}
    for code, tier in spec.tiers.items():
        tier = tier or TierIn()
        _check_tier(("tiers", code), tier, refuse, programs=programs, tracks=tracks,
                    job_roles=job_roles)
        rules[code] = TierRule(
            tier=code, tracks=tuple(tier.tracks), onboarding_complete=tier.onboarding_complete,
            new_staff_days=spec.new_staff_days,
            certifications=tuple(CertificationRule(rule.program, rule.count,
                                                   tuple(rule.job_roles))
                                 for rule in tier.certifications))
    if len(problems) != before:
        return None
    return TierRules(order=tuple(tiers), rules=rules, source=display(path),
                     new_staff_days=spec.new_staff_days)


def _check_tier(at: tuple, tier: TierIn, refuse, *, programs: set[str], tracks: set[str],
                job_roles: set[str]) -> None:
    roles_listed = ", ".join(sorted(job_roles))
    seen_rules: dict[tuple, int] = {}
    for index, rule in enumerate(tier.certifications):
        here = (*at, "certifications", index)
        if rule.program not in programs:
            refuse((*here, "program"), f"unknown certification program '{rule.program}'")
        for role_index, role in enumerate(rule.job_roles):
            if role not in job_roles:
                refuse((*here, "job_roles", role_index),
                       f"unknown job role '{role}' (program.yml lists: {roles_listed})")
            elif role in rule.job_roles[:role_index]:
                refuse((*here, "job_roles", role_index), f"'{role}' is listed twice")
        # Two counts for the same holders would be read as one rule or two; make it one.
        key = (rule.program, frozenset(rule.job_roles))
        if key in seen_rules:
            refuse(here, f"'{rule.program}' for the same job roles is already required "
                         f"(certifications.{seen_rules[key]}); give one count")
        seen_rules.setdefault(key, index)
    for index, slug in enumerate(tier.tracks):
        if slug not in tracks:
            refuse((*at, "tracks", index), f"unknown track '{slug}'")
        elif slug in tier.tracks[:index]:
            refuse((*at, "tracks", index), f"'{slug}' is listed twice")

