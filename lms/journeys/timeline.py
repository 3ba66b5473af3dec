"""Pure: a journey's milestones arranged as a timeline of stages, with what is next and late.

Touches no database; the service and the pages both read journeys through it, so "current
stage", "overdue" and "stalled" mean the same thing everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from typing import Protocol


class MilestoneLike(Protocol):
    stage_index: int
    stage_name: str
    position: int
    due_at: datetime
    done_at: datetime | None


@dataclass
class Stage:
    index: int
    name: str
    milestones: list = field(default_factory=list)

    @property
    def done(self) -> bool:
        return all(m.done_at is not None for m in self.milestones)

    @property
    def done_count(self) -> int:
        return sum(1 for m in self.milestones if m.done_at is not None)

    @property
    def finished_at(self) -> datetime | None:
        """When its last milestone was done; None while one is open."""
        return max(m.done_at for m in self.milestones) if self.done else None


@dataclass
class Timeline:
    stages: list[Stage]
    current_stage: int  # index of the first unfinished stage; len(stages) when all done
    next_milestone: object | None  # the open milestone due first in the current stage
    overdue: list
    done: int
    total: int

    @property
    def complete(self) -> bool:
        return self.done == self.total


def build(milestones: list, now: datetime) -> Timeline:
    """Arrange milestones into stages in template order and find what comes next."""
    stages: dict[int, Stage] = {}
    for milestone in sorted(milestones, key=lambda m: (m.stage_index, m.position)):
        stage = stages.setdefault(milestone.stage_index,
                                  Stage(milestone.stage_index, milestone.stage_name))
        stage.milestones.append(milestone)
    ordered = [stages[index] for index in sorted(stages)]
    current = next((i for i, stage in enumerate(ordered) if not stage.done), len(ordered))
    next_milestone = None
    if current < len(ordered):
        open_ones = [m for m in ordered[current].milestones if m.done_at is None]
        next_milestone = min(open_ones, key=lambda m: (m.due_at, m.position))
    overdue = [m for m in milestones if m.done_at is None and m.due_at < now]
    done = sum(1 for m in milestones if m.done_at is not None)
    return Timeline(ordered, current, next_milestone, sorted(overdue, key=lambda m: m.due_at),
                    done, len(milestones))


def stalled(*, completed_at: datetime | None, stalls_at: datetime, now: datetime) -> bool:
    """No milestone done for the template's stalled_after_days (stalls_at already adds them)."""
    return completed_at is None and stalls_at <= now


def on_time(done_at: datetime | None, due_at: datetime) -> bool:
    return done_at is not None and done_at <= due_at


def stage_durations(stage_rows: list[tuple[int, int, datetime, datetime | None]],
                    ) -> dict[int, float]:
    """Median days each stage took, over journeys that finished it.

    `stage_rows` holds (journey_id, stage_index, journey started_at, stage finished_at or
    None); a stage starts when the one before it finished (the first at the journey's start).
    """
    return stage_medians([
        (journey_id, stage_index,
         None if finished_at is None else (finished_at - started_at).total_seconds() / 86400)
        for journey_id, stage_index, started_at, finished_at in stage_rows])


def stage_medians(stage_rows: list[tuple[int, int, float | None]]) -> dict[int, float]:
    """`stage_durations` from (journey_id, stage_index, days from the journey's start to the
    stage's finish, or None).

    The rule in plain Python: the vendor overview takes the same medians in SQL
    (lms.journeys.medians._stage_medians) and tests/journeys/test_overview_medians.py
    proves the two agree to the last digit."""
    by_journey: dict[int, list[tuple[int, float | None]]] = {}
    for journey_id, stage_index, finished_after in stage_rows:
        by_journey.setdefault(journey_id, []).append((stage_index, finished_after))
    days: dict[int, list[float]] = {}
    for rows in by_journey.values():
        rows.sort(key=lambda row: row[0])
        previous_end = 0.0
        for stage_index, finished_after in rows:
            if finished_after is None:
                break  # later stages have not really started, even if some work is done
            # Work done ahead of time (before the stage began) counts as no time at all.
            days.setdefault(stage_index, []).append(max(0.0, finished_after - previous_end))
            previous_end = max(previous_end, finished_after)
    return {index: round(median(values), 1) for index, values in days.items()}


def days_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round(max(0.0, (end - start).total_seconds() / 86400), 1)
