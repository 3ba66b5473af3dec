"""The scorecard's repeated markup, written once per row from the stored records (pure).

The current table and a closed period's table show a page of partners with a cell per
metric: at 50 partners and nine metrics, 450 cells. Drawn by a Jinja macro each, with
filters formatting every value, the cells cost most of the page, and the page's time grew
with its rows (10 in the demo, 50 at 5,000 partners: 2.4 times as long). Here a row is
worded and written in one pass over its record, with f-strings (str.format and Jinja
expressions cost several times as much per value), text escaped by one str.translate, and
what every row repeats (a metric's opening tag, its thresholds) remembered across rows;
the templates print the rows as they come. The same goes for the other pieces a page
repeats per partner: a comparison's rows and a closed period's frozen scorecards (shared
with the partner page: flags, checkpoints, the metrics in full). The tables read
`compact` records, stored beside the whole ones. Everything comes from the scorecard
record, so a snapshot reads as it was taken. tests/scorecard/test_table.py pins the
markup; the browser tests read it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup

from lms.core.numbers import format_number
from lms.core.text import BIDI_CONTROLS
from lms.scorecard import wording
from lms.scorecard.scoring import FLAG_KINDS

# Text for HTML in one pass: the characters markupsafe.escape escapes, and bidirectional
# controls dropped as the templates' finalize hook drops them (lms.core.text).
HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;",
                      **dict.fromkeys(BIDI_CONTROLS)})


def text(value) -> str:
    """Any value as text for HTML (the rows call `.translate(HTML)` on what is already
    text: a function call costs more than the translation)."""
    return str(value).translate(HTML)


@dataclass(frozen=True, slots=True)
class Flags:
    """A partner's risk flags of one kind, shown as one short label."""

    kind: str
    label: str  # "Stale data", "Stale data ×2"
    keys: str  # the flags' keys, space-separated
    text: str  # every flag's sentence, for hovering


def rows(cards: list[dict], link: Callable[[int], str], currency: str | None = None
         ) -> list[Markup]:
    """The table's rows (a <tr> each) for `cards`, stored scorecard records: each partner's
    name links to `link(organisation id)`; values are in `currency`, or in the currency
    each record was scored with (a closed period's)."""
    return [row(card, link, currency or card["definitions"]["currency"]) for card in cards]


def row(card: dict, link: Callable[[int], str], currency: str) -> Markup:
    """The partner (name, tier, type and region), its health and score with the share of
    data behind it, its risk flags, then a cell per metric."""
    organisation, health = card["organisation"], card["health"].translate(HTML)
    labels = organisation["labels"]
    score = card["score"]
    # Below the coverage a health needs, a score would read as a verdict: none is shown.
    scored = f'<strong class="sc-score">{format_number(round(score, 1))}</strong>' \
        if score is not None and card["health"] != "unknown" \
        else '<strong class="sc-score muted">—</strong>'
    return Markup(
        f'<tr data-partner="{text(organisation["id"])}"><th scope="row" class="sc-partner">'
        f'<a href="{link(organisation["id"]).translate(HTML)}">'
        f'{organisation["name"].translate(HTML)}</a> <small class="muted">'
        f'{text(labels["tier"])} · {text(labels["partner_type"])} · {text(labels["region"])}'
        f'</small></th>\n'
        f'<td class="sc-overall"><span class="sc-health sc-health-{health}" data-health='
        f'"{health}"><span class="sc-dot" aria-hidden="true"></span>'
        f'{wording.HEALTH_LABELS[card["health"]]}</span><br>{scored} <small class="muted '
        f'sc-coverage" title="Share of the weight with fresh data">'
        f'{int(round(card["coverage"] * 100))}% data</small></td>\n'
        f'<td class="sc-flag-cell">{flag_labels(card["flags"])}</td>\n'
        + "".join([cell(metric, currency) for metric in card["metrics"]]) + "</tr>\n")


def cell(metric: dict, currency: str) -> str:
    """One metric's <td>: its value coloured by its status (a dot, and the status in words
    for screen readers), or the gap in words."""
    status = metric["status"]
    opening = _opening(metric["code"], metric["name"], status, metric.get("as_of"))
    if status == "missing":
        return f'{opening}<span class="sc-gap">missing</span></td>'
    value = wording.metric_value(metric["value"], metric["unit"], currency).translate(HTML)
    note = f'<span class="sc-gap">stale · {text(metric["age_days"])} d</span>' \
        if status == "stale" else f'<span class="visually-hidden">{status.translate(HTML)}</span>'
    return (f'{opening}<span class="sc-value"><span class="sc-dot" aria-hidden="true"></span>'
            f'{value}</span> {note}</td>')


@functools.lru_cache(maxsize=1024)
def _opening(code: str, name: str, status: str, as_of: str | None) -> str:
    """A metric cell's <td> tag, whose title says the metric, its status and date when
    hovered. Remembered: every row of a page repeats the same metrics, statuses and dates."""
    title = f"{name}: {wording.STATUS_LABELS.get(status, status)}"
    if as_of:
        title += f" · as of {as_of}"
    return (f'<td class="sc-metric sc-status-{text(status)}" data-metric="{text(code)}" '
            f'data-status="{text(status)}" title="{text(title)}">')


def flag_labels(raised: list[dict]) -> str:
    """The risk flags by kind, each kind one short label; every flag's sentence on hover."""
    groups = flags(raised)
    if not groups:
        return ""
    return '<ul class="sc-flags sc-flags-compact">' + "".join(
        f'<li class="sc-flag sc-flag-{text(group.kind)}" data-flags="{text(group.keys)}" '
        f'title="{text(group.text)}">{text(group.label)}</li>' for group in groups) + "</ul>"


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


def comparison_row(row: dict) -> Markup:
    """One partner in two closed periods (a row of periods.compare; written here, as the
    table's rows are): its health and score in each, the change in score, and the metrics
    whose status changed."""
    delta, moved = row["delta"], row["moved"]
    if delta is None:
        change, direction = "—", ""
    else:
        change = ("+" if delta > 0 else "") + format_number(delta)
        direction = " sc-up" if delta > 0 else " sc-down" if delta < 0 else ""
    if moved:
        changes = "<br>".join(
            f'{text(name)}: <span class="sc-status sc-status-{text(was)}">{text(was)}</span> → '
            f'<span class="sc-status sc-status-{text(now)}">{text(now)}</span>'
            for name, was, now in moved)
    else:  # None: the partner is in one of the periods only
        changes = "" if moved is None else '<span class="muted">none</span>'
    return Markup(
        f'<tr data-partner="{text((row["b"] or row["a"])["organisation"]["id"])}">'
        f'<th scope="row">{text(row["name"])}</th>\n<td>{compared(row["a"])}</td>\n'
        f'<td>{compared(row["b"])}</td>\n<td class="num sc-delta{direction}">{change}</td>\n'
        f'<td class="small">{changes}</td></tr>\n')


def compared(card: dict | None) -> str:
    """One partner in one period: health and score, below them readiness, flags and
    coverage; or that the period did not score the partner."""
    if card is None:
        return '<span class="muted">not scored</span>'
    health = card["health"].translate(HTML)
    score = "—" if card["score"] is None else format_number(card["score"])
    readiness = format_number(card["readiness"]["total"]) if card["readiness"] else "—"
    flagged = len(card["flags"])
    return (
        f'<span class="sc-health sc-health-{health}" data-health="{health}"><span class="sc-dot"'
        f' aria-hidden="true"></span>{wording.HEALTH_LABELS[card["health"]]}</span> <strong>'
        f'{score}</strong><br><small class="muted">readiness {readiness} · {flagged} flag'
        f'{"s" if flagged != 1 else ""} · {int(round(card["coverage"] * 100))}% data</small>')


def metric_lines(card: dict, currency: str) -> Markup:
    """A scorecard's metrics in full, a <tr> each (a partner's page, and every frozen
    scorecard a closed period's page shows, 20 a page): name and thresholds, the value
    coloured by its status, the status in words, the date and age, owner and source, weight.
    """
    lines = []
    for metric in card["metrics"]:
        status = metric["status"].translate(HTML)
        value = "—" if metric.get("value") is None else (
            '<span class="sc-value"><span class="sc-dot" aria-hidden="true"></span>'
            f'{wording.metric_value(metric["value"], metric["unit"], currency).translate(HTML)}'
            '</span>')
        if metric.get("as_of"):
            fresh = f"; fresh for {text(metric['max_age_days'])} days" \
                if metric["status"] == "stale" else ""
            dated = (f'{text(metric["as_of"])}<br><small class="muted">'
                     f'{wording.age(metric["age_days"])}{fresh}</small>')
        else:
            dated = '<small class="muted">never reported</small>'
        lines.append(
            f'<tr data-metric="{text(metric["code"])}" class="sc-status-{status}">'
            + _described(metric["name"], metric.get("green"), metric.get("yellow"),
                         metric.get("direction"), metric["unit"], currency)
            + f'<td class="num sc-metric sc-status-{status}">{value}</td>'
            f'<td><span class="sc-status sc-status-{status}">'
            f'{wording.STATUS_LABELS.get(status, status)}</span></td>'
            f'<td class="nowrap">{dated}</td>'
            + _owned(metric.get("owner"), metric.get("source"), metric.get("weight", ""))
            + "</tr>")
    return Markup("\n".join(lines))


# A metric's name, thresholds, owner and weight read the same for every partner of a page:
# their cells are remembered.
@functools.lru_cache(maxsize=1024)
def _described(name: str, green, yellow, direction, unit: str, currency: str) -> str:
    thresholds = wording.thresholds({"green": green, "yellow": yellow, "direction": direction,
                                     "unit": unit}, currency)
    return f'<td><strong>{text(name)}</strong><br><small class="muted">{text(thresholds)}' \
           '</small></td>'


@functools.lru_cache(maxsize=1024)
def _owned(owner, source, weight) -> str:
    return (f'<td>{text(owner)}<br><small class="muted">'
            f'{"computed here" if source == "readiness" else "imported"}</small></td>'
            f'<td class="num">{text(weight)}</td>')


def compact(card: dict) -> dict:
    """The parts of a scorecard record the tables and comparisons show, about a quarter of
    it (no readiness components, checkpoints, gaps, thresholds or descriptions). The writes
    that store a record store this beside it (CurrentScorecard.table_row and
    Snapshot.table_row), so a page of 50 partners reads and parses 50 of these rather than
    50 whole records."""
    organisation, readiness = card["organisation"], card.get("readiness")
    return {
        "organisation": {"id": organisation["id"], "name": organisation["name"],
                         "labels": organisation["labels"]},
        "health": card["health"], "score": card["score"], "coverage": card["coverage"],
        "flags": [{"kind": flag["kind"], "key": flag["key"], "text": flag["text"]}
                  for flag in card["flags"]],
        "metrics": [{key: metric.get(key) for key in METRIC_SHOWN} for metric in card["metrics"]],
        "readiness": {"total": readiness["total"]} if readiness else None,
        "definitions": {"currency": card["definitions"]["currency"]}}


METRIC_SHOWN = ("code", "name", "unit", "status", "value", "as_of", "age_days")


# --- a frozen scorecard in full (a closed period's page shows 20) ----------------------------

CHECK_MARKS = {"pass": "Pass", "fail": "Fail", "unknown": "No data"}


def frozen(card: dict, closed_on: str) -> Markup:
    """One partner's scorecard as its period froze it, folded (<details>): health, score and
    readiness in the summary; the flags, every metric, the compliance checkpoints and the
    readiness components inside. `closed_on`: the day it was frozen, which its ages are
    as at (they were frozen with it, on purpose)."""
    organisation, readiness = card["organisation"], card.get("readiness")
    health = card["health"].translate(HTML)
    score = "" if card["score"] is None else format_number(card["score"])
    ready = f"{format_number(readiness['total'])} (rubric v{text(readiness['rubric_version'])})" \
        if readiness else "not computed"
    closed_on = text(closed_on)
    parts = [
        f'<details class="card sc-snapshot" id="partner-{text(organisation["id"])}">\n'
        f'<summary><strong>{organisation["name"].translate(HTML)}</strong> '
        f'<span class="sc-health sc-health-{health}" data-health="{health}"><span class="sc-dot"'
        f' aria-hidden="true"></span>{wording.HEALTH_LABELS[card["health"]]}</span> {score}\n'
        f'<small class="muted">· readiness {ready} · metrics '
        f'v{text(card["definitions"]["version"])}</small></summary>\n'
        f'<p class="small muted sc-ages-note">Ages as at closing on {closed_on}: values, ages '
        'and flags are as they stood then, not today.</p>\n',
        flag_list(card["flags"]), "\n",
        metrics_table(card, card["definitions"]["currency"], ages_as_at=closed_on),
        "\n<h3>Compliance checkpoints</h3>\n", checkpoint_list(card["checkpoints"])]
    if readiness and readiness.get("components"):
        parts.append('\n<h3>Readiness components</h3>\n<ul class="sc-components '
                     'sc-components-inline">' + "".join(
                         f'<li>{text(c["label"])}: <strong>{format_number(round(c["points"], 1))}'
                         f'</strong> / {text(c["weight"])}</li>'
                         for c in readiness["components"]) + "</ul>")
        if readiness.get("forecast"):
            parts.append(f'\n<p class="sc-forecast">{text(readiness["forecast"])}</p>')
    parts.append("\n</details>\n")
    return Markup("".join(parts))


def flag_list(raised: list[dict]) -> Markup:
    """Every risk flag: its label and its sentence."""
    if not raised:
        return Markup('<p class="muted">No risk flags.</p>')
    return Markup('<ul class="sc-flags">' + "".join(
        f'<li class="sc-flag sc-flag-{text(flag["kind"])}" data-flag="{text(flag["key"])}">'
        f'<strong>{text(flag["label"])}</strong> {text(flag["text"])}</li>'
        for flag in raised) + "</ul>")


def checkpoint_list(checkpoints: list[dict]) -> Markup:
    """The compliance checkpoints: passed, failed or without data, and why."""
    if not checkpoints:
        return Markup('<p class="muted">No compliance checkpoints are defined.</p>')
    return Markup('<ul class="sc-checkpoints">' + "".join(
        f'<li class="sc-check sc-check-{text(c["status"])}" data-checkpoint="{text(c["code"])}">'
        f'<span class="sc-check-mark">{CHECK_MARKS[c["status"]]}</span> '
        f'<span><strong>{text(c["name"])}</strong><br><small class="muted">{text(c["detail"])}'
        '</small></span></li>' for c in checkpoints) + "</ul>")


def metrics_table(card: dict, currency: str, ages_as_at: str | None = None) -> Markup:
    """Every metric of a scorecard in full (metric_lines) as a table. `ages_as_at`: for a
    snapshot, the day it was frozen, so the ages do not read as today's."""
    ages = f'<br><small class="sc-ages-note">age at closing on {text(ages_as_at)}</small>' \
        if ages_as_at else ""
    return Markup(
        '<div class="table-wrap">\n<table class="data sc-metrics">\n<thead><tr><th>Metric</th>'
        f'<th class="num">Value</th><th>Status</th><th>As of{ages}</th><th>Owner</th>'
        f'<th class="num">Weight</th></tr></thead>\n<tbody>\n{metric_lines(card, currency)}\n'
        '</tbody>\n</table>\n</div>')
