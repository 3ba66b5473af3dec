"""The scorecard as CSV and JSON: of now, or of a closed period (from its snapshots)."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterable, Iterator
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
    return "".join(csv_lines(cards, period=period, codes=codes))


def csv_text(rows: Iterable[list]) -> Iterator[str]:
    """CSV a line at a time, writing each row as it is read (so a download can stream)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def csv_lines(cards: Iterable[dict], *, period: ReviewPeriod | None = None,
              codes: list[str] | None = None) -> Iterator[str]:
    """The CSV a line at a time, reading `cards` as it goes (so it can stream).

    Without `codes`, the metric columns are those of the first scorecard: every scorecard
    stored now was scored with the same definitions (a recompute follows every change).
    """
    cards = iter(cards)
    first = next(cards, None)
    if codes is None:
        codes = [m["code"] for m in first["metrics"]] if first is not None else []
    header = (["period", "partner_id", "partner", "tier", "partner_type", "region", "health",
               "score", "coverage_percent", "readiness"]
              + [f"{code}_{part}" for code in codes for part in ("value", "status", "as_of")]
              + ["flags", "checkpoints", "definitions_version", "rubric_version",
                 "computed_at"])
    rows = ([_cell(value) for value in _csv_row(card, codes, period)]
            for card in itertools.chain([first] if first is not None else [], cards))
    yield from csv_text(itertools.chain([header], rows))


def template_lines(names: Iterable[str], metric_codes: list[str]) -> Iterator[str]:
    """The import template: a row per partner name, an empty cell per metric to fill in.

    Names are written as they are (not made spreadsheet-safe like the exports): the file
    comes back as an import, where the name must match the partner's."""
    blanks = [""] * (len(metric_codes) + 1)  # the as-of date, then the metrics
    yield from csv_text(itertools.chain([["partner", "as_of", *metric_codes]],
                                        ([name, *blanks] for name in names)))


def _csv_row(card: dict, codes: list[str], period: ReviewPeriod | None) -> list:
    organisation, metrics = card["organisation"], {m["code"]: m for m in card["metrics"]}
    readiness = card.get("readiness") or {}
    row = [period.name if period else "current", organisation["id"], organisation["name"],
           organisation["tier"], organisation["partner_type"], organisation["region"],
           card["health"], card["score"], round(card["coverage"] * 100, 1),
           readiness.get("total")]
    for code in codes:
        metric = metrics.get(code) or {}
        row += [metric.get("value"), metric.get("status", "missing"), metric.get("as_of")]
    return row + ["; ".join(flag["text"] for flag in card["flags"]),
                  "; ".join(f"{c['code']}={c['status']}" for c in card["checkpoints"]),
                  card["definitions"]["version"], readiness.get("rubric_version"),
                  card["computed_at"]]


def json_chunks(cards: Iterable[dict], *, generated_at: datetime,
                period: ReviewPeriod | None = None) -> Iterator[str]:
    """The same text as json.dumps(as_json(...), indent=2, ensure_ascii=False), a
    scorecard at a time, reading `cards` as it goes (so it can stream)."""
    head = json.dumps(as_json([], generated_at=generated_at, period=period), indent=2,
                      ensure_ascii=False)
    opening, closing = head.rsplit('"partners": []', 1)
    yield opening + '"partners": ['
    written = False
    for card in cards:
        # At the depth the list puts it: every line of the card indented twice more.
        body = json.dumps(card, indent=2, ensure_ascii=False).replace("\n", "\n    ")
        yield ("," if written else "") + "\n    " + body
        written = True
    yield ("\n  ]" if written else "]") + closing
