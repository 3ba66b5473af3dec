"""The scorecard table's rows as the page prints them, prepared once per row (pure).

The current table and a closed period's table show a page of partners with a cell per
metric: at 50 partners and nine metrics that is 450 cells. Drawn by a Jinja macro each,
with filters formatting every value, the cells cost most of the page and grew with the
page's rows; here each cell's text (value with its unit, status, what hovering says) is
worked out in one pass over the stored record, and the templates print it with a plain
loop. Everything comes from the scorecard record, so a snapshot reads as it was taken.
"""

from __future__ import annotations

from dataclasses import dataclass

from lms.core.numbers import format_number
from lms.scorecard import wording
from lms.scorecard.scoring import FLAG_KINDS


@dataclass(frozen=True, slots=True)
class Cell:
    """One metric of one partner."""

    code: str
    status: str  # green, yellow, red, stale or missing: the cell's colour
    title: str  # what hovering says: "Pipeline velocity: Stale · as of 2026-09-30"
    value: str | None  # with its unit ("$4,600"); None when missing
    stale: str | None  # "stale · 68 d" when the value is too old to count


@dataclass(frozen=True, slots=True)
class Flags:
    """A partner's risk flags of one kind, shown as one short label."""

    kind: str
    label: str  # "Stale data", "Stale data ×2"
    keys: str  # the flags' keys, space-separated
    text: str  # every flag's sentence, for hovering


@dataclass(frozen=True, slots=True)
class Row:
    """One partner's line of the table."""

    id: int
    name: str
    labels: str  # "Silver · System integrator · Americas"
    health: str
    health_label: str
    score: str | None  # None below the coverage a health needs: a score would read as a verdict
    coverage: str  # "90% data"
    flags: list[Flags]
    cells: list[Cell]


def rows(cards: list[dict], currency: str | None = None) -> list[Row]:
    """The table's rows for `cards` (stored scorecard records), each value in `currency`,
    or in the currency its own record was scored with (a closed period's)."""
    return [row(card, currency or card["definitions"]["currency"]) for card in cards]


def row(card: dict, currency: str) -> Row:
    organisation = card["organisation"]
    labels = organisation["labels"]
    score = card["score"]
    return Row(
        id=organisation["id"], name=organisation["name"],
        labels=f"{labels['tier']} · {labels['partner_type']} · {labels['region']}",
        health=card["health"], health_label=wording.HEALTH_LABELS[card["health"]],
        score=format_number(round(score, 1)) if score is not None
        and card["health"] != "unknown" else None,
        coverage=f"{int(round(card['coverage'] * 100))}% data",
        flags=flags(card["flags"]),
        cells=[cell(metric, currency) for metric in card["metrics"]])


def cell(metric: dict, currency: str) -> Cell:
    status = metric["status"]
    title = f"{metric['name']}: {wording.STATUS_LABELS.get(status, status)}"
    if metric.get("as_of"):
        title += f" · as of {metric['as_of']}"
    if status == "missing":
        return Cell(metric["code"], status, title, None, None)
    return Cell(metric["code"], status, title,
                wording.metric_value(metric["value"], metric["unit"], currency),
                f"stale · {metric['age_days']} d" if status == "stale" else None)


def flags(raised: list[dict]) -> list[Flags]:
    """The flags grouped by kind, in the order of FLAG_KINDS."""
    by_kind: dict[str, list[dict]] = {}
    for flag in raised:
        by_kind.setdefault(flag["kind"], []).append(flag)
    groups = []
    for kind in FLAG_KINDS:
        group = by_kind.get(kind)
        if group:
            label = wording.FLAG_SHORT.get(kind, kind)
            groups.append(Flags(
                kind, f"{label} ×{len(group)}" if len(group) > 1 else label,
                " ".join(flag["key"] for flag in group),
                " ".join(flag["text"] for flag in group)))
    return groups
