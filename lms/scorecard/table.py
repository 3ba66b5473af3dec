"""The scorecard table's rows as the page prints them, prepared once per row (pure).

The current table and a closed period's table show a page of partners with a cell per
metric: at 50 partners and nine metrics that is 450 cells. Drawn by a Jinja macro each,
with filters formatting every value, the cells cost most of the page, and the page grew
with its rows (10 in the demo, 50 at 5,000 partners). Here each row is worded in one pass
over the stored record (values with their units, statuses, what hovering says), and a
row's metric cells are written here as one piece of HTML, the one markup that repeats
450 times; the templates print the partner, health and flags around them. Everything
comes from the scorecard record, so a snapshot reads as it was taken.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from lms.core.numbers import format_number
from lms.core.text import BIDI_CONTROLS
from lms.scorecard import wording
from lms.scorecard.scoring import FLAG_KINDS

# Text for HTML in one pass: the characters markupsafe.escape escapes, and bidirectional
# controls dropped as the templates' finalize hook drops them (lms.core.text). One
# str.translate per value rather than escape's half a dozen calls: a page writes 450 cells.
HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;",
                      **dict.fromkeys(BIDI_CONTROLS)})


def text(value) -> str:
    return str(value).translate(HTML)


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
    cells: Markup  # a <td> per metric


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
        cells=Markup("".join([cell(metric, currency) for metric in card["metrics"]])))


def cell(metric: dict, currency: str) -> str:
    """One metric's <td>: its value coloured by its status (a dot, and the status in words
    for screen readers), or the gap in words; hovering gives the metric, its status and
    date. Every value through `text`. (f-strings: str.format takes several times longer, and
    this runs 450 times a page.)"""
    status = text(metric["status"])
    title = f"{metric['name']}: {wording.STATUS_LABELS.get(status, status)}"
    if metric.get("as_of"):
        title += f" · as of {metric['as_of']}"
    if status == "missing":
        shown = '<span class="sc-gap">missing</span>'
    else:
        value = text(wording.metric_value(metric["value"], metric["unit"], currency))
        note = f'<span class="sc-gap">stale · {text(metric["age_days"])} d</span>' \
            if status == "stale" else f'<span class="visually-hidden">{status}</span>'
        shown = f'<span class="sc-value"><span class="sc-dot" aria-hidden="true"></span>' \
                f'{value}</span> {note}'
    return (f'<td class="sc-metric sc-status-{status}" data-metric="{text(metric["code"])}"'
            f' data-status="{status}" title="{text(title)}">{shown}</td>')


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


def compared(card: dict | None) -> Markup:
    """One partner in one period of a comparison (written here, as the cells are: a
    comparison shows 50 partners twice): health and score, below them readiness, flags and
    coverage; or that the period did not score the partner."""
    if card is None:
        return Markup('<span class="muted">not scored</span>')
    health = text(card["health"])
    score = "—" if card["score"] is None else format_number(card["score"])
    readiness = format_number(card["readiness"]["total"]) if card["readiness"] else "—"
    flagged = len(card["flags"])
    return Markup(
        f'<span class="sc-health sc-health-{health}" data-health="{health}"><span class="sc-dot"'
        f' aria-hidden="true"></span>{wording.HEALTH_LABELS[health]}</span> <strong>{score}'
        f'</strong><br><small class="muted">readiness {readiness} · {flagged} flag'
        f'{"s" if flagged != 1 else ""} · {int(round(card["coverage"] * 100))}% data</small>')


def metric_lines(card: dict, currency: str) -> Markup:
    """A scorecard's metrics in full, a <tr> each (a partner's page, and every frozen
    scorecard a closed period's page shows, 20 a page): name and thresholds, the value
    coloured by its status, the status in words, the date and age, owner and source, weight.
    """
    lines = []
    for metric in card["metrics"]:
        status = text(metric["status"])
        value = "—" if metric.get("value") is None else (
            '<span class="sc-value"><span class="sc-dot" aria-hidden="true"></span>'
            f'{text(wording.metric_value(metric["value"], metric["unit"], currency))}</span>')
        if metric.get("as_of"):
            fresh = f"; fresh for {text(metric['max_age_days'])} days" \
                if metric["status"] == "stale" else ""
            dated = (f'{text(metric["as_of"])}<br><small class="muted">'
                     f'{wording.age(metric["age_days"])}{fresh}</small>')
        else:
            dated = '<small class="muted">never reported</small>'
        source = "computed here" if metric.get("source") == "readiness" else "imported"
        lines.append(
            f'<tr data-metric="{text(metric["code"])}" class="sc-status-{status}">'
            f'<td><strong>{text(metric["name"])}</strong><br><small class="muted">'
            f'{text(wording.thresholds(metric, currency))}</small></td>'
            f'<td class="num sc-metric sc-status-{status}">{value}</td>'
            f'<td><span class="sc-status sc-status-{status}">'
            f'{wording.STATUS_LABELS.get(status, status)}</span></td>'
            f'<td class="nowrap">{dated}</td>'
            f'<td>{text(metric.get("owner"))}<br>'
            f'<small class="muted">{source}</small></td>'
            f'<td class="num">{text(metric.get("weight", ""))}</td></tr>')
    return Markup("\n".join(lines))
