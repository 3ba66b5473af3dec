"""How scorecard numbers, statuses and thresholds read on pages and in exports (pure)."""

from __future__ import annotations

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
HEALTH_LABELS = {"green": "Green", "yellow": "Yellow", "red": "Red",
                 "unknown": "Not enough data"}
STATUS_LABELS = {"green": "Green", "yellow": "Yellow", "red": "Red", "missing": "Missing",
                 "stale": "Stale"}
# For the table's narrow flag column; the full label and text show on hover and elsewhere.
FLAG_SHORT = {"readiness_low": "Readiness low", "tier_at_risk": "Tier at risk",
              "onboarding_stalled": "Onboarding stalled", "metric_stale": "Stale data",
              "checkpoint_failed": "Compliance"}
UNIT_SUFFIX = {"percent": "%", "days": " days", "hours": " h"}


def number(value: float, places: int = 2) -> str:
    """1,234.5 : thousands separated, no trailing zeros."""
    text = f"{value:,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def metric_value(value: float | None, unit: str, currency: str = "USD") -> str:
    """A metric's value with its unit: "32.5%", "$5,200", "30 h", "12 days", "4.5"."""
    if value is None:
        return "—"
    if unit == "currency":
        symbol = SYMBOLS.get(currency)
        amount = number(value, 0 if abs(value) >= 1000 else 2)
        return f"{symbol}{amount}" if symbol else f"{amount} {currency}"
    if unit == "days" and value == 1:
        return "1 day"
    return number(value, 1 if unit in ("percent", "score") else 2) + UNIT_SUFFIX.get(unit, "")


def thresholds(metric: dict, currency: str = "USD") -> str:
    """"green ≥ 35% · yellow ≥ 20%" (or ≤ when lower is better); readiness says where."""
    if metric.get("green") is None:
        return "health from the readiness rubric"
    sign = "≥" if metric["direction"] == "higher_is_better" else "≤"
    unit = metric["unit"]
    return (f"green {sign} {metric_value(metric['green'], unit, currency)} · "
            f"yellow {sign} {metric_value(metric['yellow'], unit, currency)}")


def age(days: int | None) -> str:
    if days is None:
        return ""
    if days == 0:
        return "today"
    return "1 day old" if days == 1 else f"{days} days old"
