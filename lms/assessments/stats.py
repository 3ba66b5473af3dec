"""Item statistics for authors, from running sums kept as attempts are graded.

Difficulty is the mean fraction of an item earned; discrimination is the point-biserial
(Pearson) correlation between the item's score and the rest of the attempt's score. Both
follow from sums (n, Σx, Σx², Σr, Σr², Σxr) that grading adds to once per attempt, so the
page reads a few rows per item whether there were a hundred attempts or a hundred thousand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, or_, select

from lms.assessments.items import item_type
from lms.assessments.models import (
    AssessmentItem,
    AssessmentVersion,
    Attempt,
    ItemStatistic,
    OptionStatistic,
)
from lms.core.pages import Window, window
from lms.extensions import db

MIN_SAMPLE = 5  # fewer answers than this and the flags would be noise
TOO_EASY, TOO_HARD, POOR_DISCRIMINATION = 0.9, 0.25, 0.15


@dataclass
class OptionStat:
    text: str
    correct: bool
    chosen: int


@dataclass
class ItemStat:
    item: AssessmentItem
    answered: int = 0
    difficulty: float | None = None
    discrimination: float | None = None
    options: list[OptionStat] = field(default_factory=list)

    @property
    def flags(self) -> list[str]:
        if self.answered < MIN_SAMPLE or self.difficulty is None:
            return []
        flags = []
        if self.difficulty >= TOO_EASY:
            flags.append("too easy")
        if self.difficulty <= TOO_HARD:
            flags.append("too hard")
        if self.discrimination is not None and self.discrimination < POOR_DISCRIMINATION:
            flags.append("discriminates poorly")
        return flags


@dataclass
class VersionStats:
    version: AssessmentVersion
    attempts: int
    passed: int
    mean_percent: float | None
    distribution: list[int]  # attempts per 10-point band, 0-9 .. 90-100
    items: list[ItemStat]  # the page's, or all of them
    item_total: int = 0
    flagged: int = 0  # items flagged, over the whole version
    page: int = 1
    pages: int = 1

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.attempts if self.attempts else None


ITEMS_PER_PAGE = 25


def version_stats(version: AssessmentVersion, *, page: int | None = None,
                  per_page: int = ITEMS_PER_PAGE) -> VersionStats:
    """The version's attempt figures and its items' statistics: one page of items (by
    position), or every item when `page` is None (the CSV export)."""
    finished = and_(Attempt.assessment_version_id == version.id,
                    Attempt.status != "in_progress")
    attempts, passed, mean = db.session.execute(
        select(func.count(), func.count().filter(Attempt.passed.is_(True)),
               func.avg(Attempt.percent)).where(finished)).one()
    # 0-9 -> 0 ... 90-100 -> 9, spelled out: casts round on PostgreSQL and truncate on SQLite.
    band = case(*[(Attempt.percent >= 10 * b, b) for b in range(9, 0, -1)], else_=0)
    distribution = [0] * 10
    for value, count in db.session.execute(
            select(band, func.count()).where(finished).group_by(band)):
        distribution[int(value)] += count

    ordered = (select(AssessmentItem).where(AssessmentItem.assessment_version_id == version.id)
               .order_by(AssessmentItem.position, AssessmentItem.id))
    if page is None:
        rows = list(db.session.scalars(ordered))
        found = Window(rows, len(rows), 1, 1, max(1, len(rows)))
    else:
        found = window(db.session, ordered, page=page, per_page=per_page, scalars=True)
    items = {item.id: ItemStat(item) for item in found.rows}
    for row in db.session.scalars(select(ItemStatistic).where(
            ItemStatistic.assessment_item_id.in_(list(items)))):
        stat = items[row.assessment_item_id]
        stat.answered = row.answered
        stat.difficulty = row.sum_x / row.attempts if row.attempts else None
        stat.discrimination = _pearson(row.attempts, row.sum_x, row.sum_xx, row.sum_r,
                                       row.sum_rr, row.sum_xr)
    chosen = {(row.assessment_item_id, row.option_id): row.chosen
              for row in db.session.scalars(select(OptionStatistic).where(
                  OptionStatistic.assessment_item_id.in_(list(items))))}
    for stat in items.values():
        stat.options = _options(stat.item, chosen)
    flagged = sum(1 for stat in items.values() if stat.flags) if page is None \
        else flagged_count(version.id)
    return VersionStats(version, attempts, passed, float(mean) if mean is not None else None,
                        distribution, list(items.values()), found.total, flagged,
                        found.page, found.pages)


def flagged_count(version_id: int) -> int:
    """How many of the version's items ItemStat.flags would flag, counted in SQL.

    The same rules, with the square root squared away: discrimination = numerator /
    sqrt(spread) is below the bar when the numerator is negative or its square is below
    bar² x spread (spread > 0; with n < 2 or no spread there is no discrimination).
    """
    s = ItemStatistic
    numerator = s.attempts * s.sum_xr - s.sum_x * s.sum_r
    spread = (s.attempts * s.sum_xx - s.sum_x * s.sum_x) * (s.attempts * s.sum_rr
                                                            - s.sum_r * s.sum_r)
    poorly = and_(s.attempts >= 2, spread > 0, or_(
        numerator < 0, numerator * numerator < POOR_DISCRIMINATION ** 2 * spread))
    return db.session.scalar(
        select(func.count()).select_from(s)
        .join(AssessmentItem, AssessmentItem.id == s.assessment_item_id)
        .where(AssessmentItem.assessment_version_id == version_id,
               s.answered >= MIN_SAMPLE, s.attempts > 0,
               or_(s.sum_x >= TOO_EASY * s.attempts, s.sum_x <= TOO_HARD * s.attempts,
                   poorly))) or 0


def _pearson(n, sx, sxx, sr, srr, sxr) -> float | None:
    if not n or n < 2:
        return None
    numerator = n * sxr - sx * sr
    spread = (n * sxx - sx * sx) * (n * srr - sr * sr)
    if spread <= 0:
        return None  # everyone scored the same on the item or on the rest
    return numerator / math.sqrt(spread)


def _options(item: AssessmentItem, chosen: dict) -> list[OptionStat]:
    definition = item.definition
    if item.item_type in ("single_choice", "multiple_response"):
        return [OptionStat(o["text"], o["correct"], chosen.get((item.id, o["id"]), 0))
                for o in definition["options"]]
    if item.item_type == "true_false":
        return [OptionStat(label, definition["answer"] == value,
                           chosen.get((item.id, key), 0))
                for key, label, value in (("true", "True", True), ("false", "False", False))]
    return []


def type_label(item: AssessmentItem) -> str:
    return item_type(item.item_type).label


def as_csv_rows(stats: VersionStats) -> list[list]:
    rows = [["position", "item", "type", "points", "answered", "difficulty", "discrimination",
             "flags", "options (chosen)"]]
    for stat in stats.items:
        rows.append([
            stat.item.position + 1, f"{stat.item.bank_slug}/{stat.item.item_key}",
            stat.item.item_type, stat.item.points, stat.answered,
            "" if stat.difficulty is None else f"{stat.difficulty:.3f}",
            "" if stat.discrimination is None else f"{stat.discrimination:.3f}",
            "; ".join(stat.flags),
            "; ".join(f"{'*' if o.correct else ''}{o.text}: {o.chosen}" for o in stat.options),
        ])
    return rows



