"""The scorecard as CSV and JSON: of now, or of a closed period (from its snapshots)."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from lms.scorecard.models import ReviewPeriod


def as_json(cards: list[dict], *, generated_at: datetime,
            period: ReviewPeriod | None = None) -> dict:
    """Everything each scorecard holds, plus what it is a scorecard of."""
    return {
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "period": None if period is None else {
            "id": period.id, "name": period.name, "starts_on": period.starts_on.isoformat(),
            "ends_on": period.ends_on.isoformat(),
            "closed_at": period.closed_at.isoformat(timespec="seconds"),
            "definitions_version": period.definition_version,
            "definitions_hash": period.definition_hash},
        "partners": cards,
    }


def _cell(value) -> str:
    """Spreadsheet-safe: a partner named "=HYPERLINK(...)" stays text when opened."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(text) \
        else text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def as_csv(cards: list[dict], *, period: ReviewPeriod | None = None) -> str:
    """One line per partner: health, score, coverage, then value/status/as-of per metric."""
    codes: list[str] = []
    for card in cards:
        codes += [m["code"] for m in card["metrics"] if m["code"] not in codes]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["period", "partner_id", "partner", "tier", "partner_type", "region", "health",
         "score", "coverage_percent", "readiness"]
        + [f"{code}_{part}" for code in codes for part in ("value", "status", "as_of")]
        + ["flags", "checkpoints", "definitions_version", "rubric_version", "computed_at"])
    for card in cards:
        organisation, metrics = card["organisation"], {m["code"]: m for m in card["metrics"]}
        readiness = card.get("readiness") or {}
        row = [period.name if period else "current", organisation["id"], organisation["name"],
               organisation["tier"], organisation["partner_type"], organisation["region"],
               card["health"], card["score"], round(card["coverage"] * 100, 1),
               readiness.get("total")]
        for code in codes:
            metric = metrics.get(code) or {}
            row += [metric.get("value"), metric.get("status", "missing"), metric.get("as_of")]
        row += ["; ".join(flag["text"] for flag in card["flags"]),
                "; ".join(f"{c['code']}={c['status']}" for c in card["checkpoints"]),
                card["definitions"]["version"], readiness.get("rubric_version"),
                card["computed_at"]]
        writer.writerow([_cell(value) for value in row])
    return buffer.getvalue()
