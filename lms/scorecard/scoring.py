"""The scorecard as a pure function of a partner's facts and the metric definitions.

Each metric is green, yellow or red against its thresholds, or a data-quality gap:
"missing" (never reported) or "stale" (older than its max_age_days). Gaps are never
counted as zero: the overall score is the weighted average over fresh metrics only
(green 100, yellow 50, red 0 points) and its coverage, the share of the weight that had
fresh data, is shown beside it. Risk flags come from the explicit rules in metrics.yml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from lms.scorecard.loader import READINESS, Checkpoint, Definitions, Metric

STATUS_POINTS = {"green": 100, "yellow": 50, "red": 0}
GAPS = ("missing", "stale")
FLAG_KINDS = {
    "readiness_low": "Readiness below threshold",
    "tier_at_risk": "The tier is at risk",
    "onboarding_stalled": "Onboarding stalled",
    "metric_stale": "Stale metric",
    "checkpoint_failed": "Compliance checkpoint failed",
}


@dataclass(frozen=True)
class Observation:
    value: float
    as_of: date
    import_id: int | None = None


@dataclass(frozen=True)
class ReadinessFacts:
    total: float
    health: str
    computed_at: datetime
    meets_tier: bool
    falls_below_on: datetime | None
    rubric_version: int
    rubric_hash: str
    components: list = field(default_factory=list)
    forecast_sentence: str = ""
    gaps: list = field(default_factory=list)  # what the tier (and the next) still needs, in words


@dataclass(frozen=True)
class PartnerFacts:
    organisation_id: int
    name: str
    partner_type: str
    tier: str
    region: str
    labels: dict = field(default_factory=dict)  # {"tier": "Gold", "partner_type": ..., ...}
    readiness: ReadinessFacts | None = None
    values: dict[str, Observation] = field(default_factory=dict)  # metric code -> current
    stalled_since: datetime | None = None  # the organisation's onboarding journey stalled
    # checkpoint code -> (staff who completed its track, active staff held to it, newer
    # staff not held to it yet)
    track_completion: dict[str, tuple[int, int, int]] = field(default_factory=dict)


def metric_status(metric: Metric, value: float) -> str:
    """'green', 'yellow' or 'red' for a fresh value of an imported metric."""
    if metric.higher_is_better:
        if value >= metric.green:
            return "green"
        return "yellow" if value >= metric.yellow else "red"
    if value <= metric.green:
        return "green"
    return "yellow" if value <= metric.yellow else "red"


def score_metric(metric: Metric, facts: PartnerFacts, today: date) -> dict:
    """One metric of one partner: its value, status, age and definition, JSON-ready."""
    value = as_of = import_id = None
    status = "missing"
    if metric.source == READINESS:
        if facts.readiness is not None:
            value, as_of = facts.readiness.total, facts.readiness.computed_at.date()
            status = facts.readiness.health
    elif metric.code in facts.values:
        observed = facts.values[metric.code]
        value, as_of, import_id = observed.value, observed.as_of, observed.import_id
        status = metric_status(metric, value)
    age = (today - as_of).days if as_of is not None else None
    if age is not None and age > metric.max_age_days:
        status = "stale"
    return {
        "code": metric.code, "name": metric.name, "source": metric.source,
        "unit": metric.unit, "direction": metric.direction, "weight": metric.weight,
        "green": metric.green, "yellow": metric.yellow, "owner": metric.owner,
        "max_age_days": metric.max_age_days, "description": metric.description, "value": value,
        "as_of": as_of.isoformat() if as_of else None, "age_days": age, "status": status,
        "points": STATUS_POINTS.get(status), "import_id": import_id,
    }


def overall(metrics: list[dict]) -> tuple[float | None, float]:
    """(score 0-100 or None, coverage 0-1): the weighted average over fresh metrics only."""
    total_weight = sum(m["weight"] for m in metrics) or 1
    fresh = [m for m in metrics if m["status"] in STATUS_POINTS]
    weight = sum(m["weight"] for m in fresh)
    if not weight:
        return None, 0.0
    score = sum(m["points"] * m["weight"] for m in fresh) / weight
    return round(score, 1), round(weight / total_weight, 3)


def checkpoint_result(checkpoint: Checkpoint, facts: PartnerFacts,
                      metrics: dict[str, dict]) -> dict:
    """pass / fail (or unknown, when the metric it reads has no fresh value), with why."""
    result = {"code": checkpoint.code, "name": checkpoint.name}
    if checkpoint.track:
        done, staff, newcomers = facts.track_completion.get(checkpoint.code, (0, 0, 0))
        if not staff and newcomers:
            return result | {"status": "pass", "detail": _newcomers(newcomers, checkpoint)}
        if not staff:
            return result | {"status": "fail", "detail": "No active staff yet."}
        if done >= staff:
            everyone = "The 1 staff member" if staff == 1 else f"All {staff} staff"
            later = f" {_newcomers(newcomers, checkpoint)}" if newcomers else ""
            return result | {"status": "pass", "detail": f"{everyone} completed it.{later}"}
        behind = staff - done
        verb = "has" if behind == 1 else "have"
        later = f" {_newcomers(newcomers, checkpoint)}" if newcomers else ""
        return result | {"status": "fail",
                         "detail": f"{behind} of {staff} staff {verb} not completed it.{later}"}
    metric = metrics.get(checkpoint.metric)
    if metric is None or metric["status"] in GAPS:
        return result | {"status": "unknown",
                         "detail": f"No fresh {metric['name'] if metric else checkpoint.metric}"
                                   " value to check."}
    value = metric["value"]
    if checkpoint.at_least is not None:
        ok, bound = value >= checkpoint.at_least, f"at least {checkpoint.at_least:g}"
    else:
        ok, bound = value <= checkpoint.at_most, f"at most {checkpoint.at_most:g}"
    return result | {"status": "pass" if ok else "fail",
                     "detail": f"{metric['name']} is {value:g} (needs {bound})."}


def _newcomers(count: int, checkpoint: Checkpoint) -> str:
    who = "1 staff member" if count == 1 else f"{count} staff"
    return (f"{who} who joined in the last {checkpoint.new_staff_days} days "
            f"{'is' if count == 1 else 'are'} not held to it yet.")


def risk_flags(facts: PartnerFacts, definitions: Definitions, metrics: list[dict],
               checkpoints: list[dict], now: datetime) -> list[dict]:
    """The flags raised by the rules in metrics.yml; `key` identifies a flag over time."""
    rules, flags = definitions.flags, []
    readiness = facts.readiness

    def flag(kind: str, key: str, text: str) -> None:
        flags.append({"kind": kind, "key": key, "label": FLAG_KINDS[kind], "text": text})

    low = {"red": ("red",), "yellow": ("red", "yellow")}.get(rules.readiness_below or "", ())
    if readiness is not None and readiness.health in low:
        flag("readiness_low", "readiness_low",
             f"Enablement readiness is {readiness.health} ({readiness.total:g} of 100).")
    days = rules.tier_at_risk_within_days
    if days and readiness is not None and readiness.meets_tier \
            and readiness.falls_below_on is not None \
            and readiness.falls_below_on <= now + timedelta(days=days):
        tier = facts.labels.get("tier", facts.tier)
        flag("tier_at_risk", "tier_at_risk", readiness.forecast_sentence or
             f"Certifications lapsing will cost the {tier} tier on "
             f"{_day(readiness.falls_below_on)} unless someone renews.")
    if rules.onboarding_stalled and facts.stalled_since is not None:
        flag("onboarding_stalled", "onboarding_stalled",
             f"Onboarding has stalled since {_day(facts.stalled_since)}.")
    if rules.stale_metrics:
        for m in metrics:
            if m["status"] == "stale":
                flag("metric_stale", f"metric_stale:{m['code']}",
                     f"{m['name']} is stale: last value as of {_day(m['as_of'])}, "
                     f"{m['age_days']} days old (fresh for {m['max_age_days']}).")
    if rules.failed_checkpoints:
        for c in checkpoints:
            if c["status"] == "fail":
                flag("checkpoint_failed", f"checkpoint_failed:{c['code']}",
                     f"{c['name']}: {c['detail']}")
    return flags


def scorecard(facts: PartnerFacts, definitions: Definitions, now: datetime) -> dict:
    """The whole scorecard of one partner as JSON: what pages, exports and snapshots show."""
    today = now.date()
    metrics = [score_metric(metric, facts, today) for metric in definitions.metrics]
    by_code = {m["code"]: m for m in metrics}
    score, coverage = overall(metrics)
    checkpoints = [checkpoint_result(c, facts, by_code) for c in definitions.checkpoints]
    readiness = facts.readiness
    return {
        "organisation": {"id": facts.organisation_id, "name": facts.name,
                         "partner_type": facts.partner_type, "tier": facts.tier,
                         "region": facts.region, "labels": dict(facts.labels)},
        "computed_at": now.isoformat(timespec="seconds"),
        "score": score, "coverage": coverage, "health": definitions.health(score, coverage),
        "gaps": [m["code"] for m in metrics if m["status"] in GAPS],
        "metrics": metrics,
        "checkpoints": checkpoints,
        "flags": risk_flags(facts, definitions, metrics, checkpoints, now),
        "readiness": None if readiness is None else {
            "total": readiness.total, "health": readiness.health,
            "computed_at": readiness.computed_at.isoformat(timespec="seconds"),
            "meets_tier": readiness.meets_tier,
            "falls_below_on": readiness.falls_below_on.isoformat(timespec="seconds")
            if readiness.falls_below_on else None,
            "components": list(readiness.components),
            "forecast": readiness.forecast_sentence, "gaps": list(readiness.gaps),
            "rubric_version": readiness.rubric_version, "rubric_hash": readiness.rubric_hash,
        },
        "definitions": {"version": definitions.version, "hash": definitions.content_hash,
                        "currency": definitions.currency},
    }


def _day(moment: date | datetime | str) -> str:
    if isinstance(moment, str):
        moment = date.fromisoformat(moment[:10])
    return f"{moment.day} {moment:%b %Y}"
