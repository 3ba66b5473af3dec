"""Item statistics for authors, from running sums kept as attempts are graded.

Difficulty is the mean fraction of an item earned; discrimination is the point-biserial
(Pearson) correlation between the item's score and the rest of the attempt's score. Both
follow from sums (n, Σx, Σx², Σr, Σr², Σxr) that grading adds to once per attempt, so the
page reads a few rows per item whether there were a hundred attempts or a hundred thousand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, select

from lms.assessments.items import item_type
from lms.assessments.models import (
    AssessmentItem,
    AssessmentVersion,
    Attempt,
    ItemStatistic,
    OptionStatistic,
)
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
    items: list[ItemStat]

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.attempts if self.attempts else None


def version_stats(version: AssessmentVersion) -> VersionStats:
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

    items = {item.id: ItemStat(item) for item in db.session.scalars(
        select(AssessmentItem).where(AssessmentItem.assessment_version_id == version.id)
        .order_by(AssessmentItem.position))}
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
    return VersionStats(version, attempts, passed, float(mean) if mean is not None else None,
                        distribution, list(items.values()))


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



