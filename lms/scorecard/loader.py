"""Read and validate content/scorecard/metrics.yml (no database): the metric definitions,
the overall health thresholds, the risk-flag rules and the compliance checkpoints.

Problems name the file, the line and the field. The same schema reads a stored copy back
(`Definitions.from_body`), so the scorecard scores with what was synced, not with whatever
the file says today.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, PositiveInt, ValidationError, model_validator

from lms.core.content_files import Problem, Strict, compose, problem_at, read_model

FOLDER = "scorecard"
FILE = "metrics.yml"
READINESS = "readiness"  # the one computed source: the readiness score of lms.readiness
UNITS = ("percent", "currency", "days", "hours", "score", "count", "ratio")
# The values a unit allows unless a metric's `min` or `max` says otherwise (None: no bound).
# Currency and score have none: a margin can be negative, and scores have their own scales.
UNIT_BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "percent": (0, 100), "days": (0, None), "hours": (0, None), "count": (0, None),
    "ratio": (0, None)}

MetricCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=50)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=100)]
Text = Annotated[str, Field(min_length=1, max_length=200)]
Percent = Annotated[int, Field(ge=0, le=100)]
Bound = Annotated[float, Field(allow_inf_nan=False)]


class MetricIn(Strict):
    name: Text
    source: Literal["import", "readiness"] = "import"
    unit: Literal["percent", "currency", "days", "hours", "score", "count", "ratio"]
    direction: Literal["higher_is_better", "lower_is_better"]
    weight: Percent
    green: float | None = None
    yellow: float | None = None
    owner: Text
    max_age_days: Annotated[int, Field(ge=1, le=3650)]
    description: Annotated[str, Field(max_length=500)] = ""
    min: Bound | None = None  # the lowest value an import may bring (default: from the unit)
    max: Bound | None = None


class HealthIn(Strict):
    green: Annotated[int, Field(ge=1, le=100)]
    yellow: Percent
    min_coverage: Percent = 50

    @model_validator(mode="after")
    def _ordered(self) -> HealthIn:
        if self.yellow >= self.green:
            raise ValueError("yellow must be below green")
        return self


class RiskFlagsIn(Strict):
    readiness_below: Literal["red", "yellow"] | None = "red"
    tier_at_risk_within_days: Annotated[int, Field(ge=1, le=730)] | None = 90
    onboarding_stalled: bool = True
    stale_metrics: bool = True
    failed_checkpoints: bool = True


class CheckpointIn(Strict):
    code: Slug
    name: Text
    track: Slug | None = None  # completed by every active staff member
    # Staff who joined fewer days ago are not held to the track yet (as tiers.yml's
    # new_staff_days): a newcomer is not a compliance failure.
    new_staff_days: Annotated[int, Field(ge=0, le=3650)] = 0
    metric: MetricCode | None = None  # a fresh value at least / at most a bound
    at_least: float | None = None
    at_most: float | None = None


class MetricsFileIn(Strict):
    version: PositiveInt
    review_period: Literal["quarter", "month"] = "quarter"
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    health: HealthIn
    metrics: Annotated[dict[MetricCode, MetricIn], Field(min_length=1)]
    risk_flags: RiskFlagsIn = Field(default_factory=RiskFlagsIn)
    compliance_checkpoints: list[CheckpointIn] = []


# --- what the rest of the scorecard works with ---------------------------------------------

@dataclass(frozen=True)
class Metric:
    code: str
    name: str
    source: str  # "import" or "readiness"
    unit: str
    direction: str
    weight: int
    green: float | None  # None for the readiness metric: its health is the rubric's
    yellow: float | None
    owner: str
    max_age_days: int
    description: str = ""
    min: float | None = None  # as given in the file; `bounds` adds the unit's defaults
    max: float | None = None

    @property
    def importable(self) -> bool:
        return self.source == "import"

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        """(lowest, highest) value an import may bring; None where there is no bound."""
        return effective_bounds(self.unit, self.min, self.max)

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "higher_is_better"


@dataclass(frozen=True)
class Checkpoint:
    code: str
    name: str
    track: str | None = None
    metric: str | None = None
    at_least: float | None = None
    at_most: float | None = None
    new_staff_days: int = 0


@dataclass(frozen=True)
class Definitions:
    version: int
    content_hash: str
    review_period: str
    currency: str
    green: int
    yellow: int
    min_coverage: int
    metrics: tuple[Metric, ...]
    flags: RiskFlagsIn
    checkpoints: tuple[Checkpoint, ...]
    body: dict  # the validated file as JSON: what the database keeps

    def metric(self, code: str) -> Metric | None:
        return next((metric for metric in self.metrics if metric.code == code), None)

    @property
    def importable(self) -> tuple[Metric, ...]:
        return tuple(metric for metric in self.metrics if metric.importable)

    def health(self, score: float | None, coverage: float) -> str:
        """Overall health; "unknown" when too little of the weight has fresh data."""
        if score is None or coverage * 100 < self.min_coverage:
            return "unknown"
        if score >= self.green:
            return "green"
        return "yellow" if score >= self.yellow else "red"

    @classmethod
    def from_spec(cls, spec: MetricsFileIn) -> Definitions:
        body = spec.model_dump(mode="json")
        for metric in body["metrics"].values():
            # Bounds not given are left out, so a file without them hashes as it did before
            # bounds existed (and syncing it again publishes nothing new).
            for name in ("min", "max"):
                if metric.get(name) is None:
                    metric.pop(name, None)
        return cls(
            version=spec.version, content_hash=_hash(body), review_period=spec.review_period,
            currency=spec.currency, green=spec.health.green, yellow=spec.health.yellow,
            min_coverage=spec.health.min_coverage,
            metrics=tuple(Metric(code=code, **metric.model_dump())
                          for code, metric in spec.metrics.items()),
            flags=spec.risk_flags,
            checkpoints=tuple(Checkpoint(**c.model_dump()) for c in spec.compliance_checkpoints),
            body=body)

    @classmethod
    def from_body(cls, body: dict) -> Definitions:
        """Rebuild from the JSON the database keeps (validated again: it is the same schema)."""
        return cls.from_spec(MetricsFileIn.model_validate(body))


def _hash(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


# --- loading -------------------------------------------------------------------------------

def load(root: Path, problems: list[Problem], *, tracks: set[str]) -> Definitions | None:
    """The definitions under `root`/scorecard, or None without that folder (no scorecard).

    Appends each problem found; `tracks` are the track slugs content/ defines.
    """
    folder = root / FOLDER
    if not folder.is_dir():
        return None
    path = folder / FILE
    spec = read_model(path, MetricsFileIn, problems)
    if spec is None:
        return None
    before = len(problems)
    _check(path, compose(path), spec, problems, tracks)
    return Definitions.from_spec(spec) if len(problems) == before else None


def _check(path: Path, node, spec: MetricsFileIn, problems: list[Problem],
           tracks: set[str]) -> None:
    def refuse(loc: tuple, message: str) -> None:
        problems.append(problem_at(path, node, loc, message))

    # Checked here rather than in validators so each problem names its own field and line.
    total = sum(metric.weight for metric in spec.metrics.values())
    if total != 100:
        refuse(("metrics",), f"the weights add up to {total}; they must add up to 100")
    computed = [code for code, metric in spec.metrics.items() if metric.source == READINESS]
    for code in computed[1:]:
        refuse(("metrics", code, "source"), "only one metric can be the readiness score "
                                            f"(already '{computed[0]}')")
    for code, metric in spec.metrics.items():
        _check_thresholds(code, metric, refuse)
        _check_bounds(code, metric, refuse)
    seen: set[str] = set()
    for index, checkpoint in enumerate(spec.compliance_checkpoints):
        if checkpoint.code in seen:
            refuse(("compliance_checkpoints", index, "code"),
                   f"duplicate checkpoint code '{checkpoint.code}'")
        seen.add(checkpoint.code)
        _check_checkpoint(index, checkpoint, spec, tracks, refuse)


def _check_thresholds(code: str, metric: MetricIn, refuse) -> None:
    where = ("metrics", code)
    if metric.source == READINESS:
        for name in ("green", "yellow"):
            if getattr(metric, name) is not None:
                refuse((*where, name), "the readiness metric takes its health from "
                                       "content/readiness/rubric.yml; remove this threshold")
        return
    missing = [name for name in ("green", "yellow") if getattr(metric, name) is None]
    for name in missing:
        refuse((*where,), f"'{name}' is required (the threshold for {name})")
    if missing:
        return
    if metric.direction == "higher_is_better" and metric.green <= metric.yellow:
        refuse((*where, "green"), "higher is better, so green must be above yellow")
    if metric.direction == "lower_is_better" and metric.green >= metric.yellow:
        refuse((*where, "green"), "lower is better, so green must be below yellow")


def _check_bounds(code: str, metric: MetricIn, refuse) -> None:
    where = ("metrics", code)
    given = [name for name in ("min", "max") if getattr(metric, name) is not None]
    if metric.source == READINESS:
        for name in given:
            refuse((*where, name), "the readiness metric is computed here (0 to 100), never "
                                   "imported; remove this bound")
        return
    low, high = effective_bounds(metric.unit, metric.min, metric.max)
    if low is not None and high is not None and low >= high:
        implied = [f"{name} {value:g} comes from unit: {metric.unit}" for name, value, own in
                   (("min", low, metric.min), ("max", high, metric.max)) if own is None]
        refuse((*where, given[-1]), f"max must be above min (here min is {low:g} and max "
                                    f"{high:g}{'; ' + implied[0] if implied else ''})")
        return
    for name in ("green", "yellow"):
        value = getattr(metric, name)
        if value is not None and ((low is not None and value < low)
                                  or (high is not None and value > high)):
            refuse((*where, name), f"{name} {value:g} is outside the values this metric "
                                   f"allows ({describe_bounds(low, high)})")


def effective_bounds(unit: str, low: float | None,
                     high: float | None) -> tuple[float | None, float | None]:
    """The bounds given in the file, or else the unit's (percent: 0 to 100)."""
    default_low, default_high = UNIT_BOUNDS.get(unit, (None, None))
    return (default_low if low is None else low, default_high if high is None else high)


def describe_bounds(low: float | None, high: float | None) -> str:
    """"0 to 100", "at least 0", "at most 5" or "any value"."""
    if low is not None and high is not None:
        return f"{low:g} to {high:g}"
    if low is not None:
        return f"at least {low:g}"
    return f"at most {high:g}" if high is not None else "any value"


def _check_checkpoint(index: int, checkpoint: CheckpointIn, spec: MetricsFileIn,
                      tracks: set[str], refuse) -> None:
    where = ("compliance_checkpoints", index)
    if bool(checkpoint.track) == bool(checkpoint.metric):
        refuse(where, "name either a track (completed by all staff) or a metric (with "
                      "at_least or at_most)")
        return
    bounds = [name for name in ("at_least", "at_most") if getattr(checkpoint, name) is not None]
    if checkpoint.track:
        if checkpoint.track not in tracks:
            refuse((*where, "track"), f"unknown track '{checkpoint.track}'")
        for name in bounds:
            refuse((*where, name), "a track checkpoint has no bound; remove it")
        return
    if checkpoint.metric not in spec.metrics:
        refuse((*where, "metric"), f"unknown metric '{checkpoint.metric}' (metrics: "
                                   f"{', '.join(spec.metrics)})")
    if len(bounds) != 1:
        refuse((*where, "metric"), "give exactly one of at_least or at_most")


def read_body(body: dict) -> Definitions | None:
    """The stored definitions, or None if a row cannot be read by this code any more."""
    try:
        return Definitions.from_body(body)
    except ValidationError:
        return None

