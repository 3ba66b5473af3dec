"""The pure timeline: stages in order, what is next and late, stalls, and stage medians."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lms.journeys import timeline

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass
class M:
    key: str
    stage_index: int
    position: int
    due_days: int
    done_days: float | None = None
    stage_name: str = ""

    def __post_init__(self):
        self.stage_name = self.stage_name or f"Stage {self.stage_index}"
        self.due_at = T0 + self.due_days * DAY
        self.done_at = None if self.done_days is None else T0 + self.done_days * DAY


def keys(milestones) -> list[str]:
    return [m.key for m in milestones]


def test_build_arranges_stages_and_finds_the_next_step():
    milestones = [M("c", 1, 0, 30), M("b", 0, 1, 7), M("a", 0, 0, 7, done_days=2),
                  M("e", 2, 0, 90), M("d", 1, 1, 20)]
    state = timeline.build(milestones, T0 + 3 * DAY)
    assert [(s.index, s.name, keys(s.milestones)) for s in state.stages] == [
        (0, "Stage 0", ["a", "b"]), (1, "Stage 1", ["c", "d"]), (2, "Stage 2", ["e"])]
    assert state.current_stage == 0 and state.next_milestone.key == "b"
    assert (state.done, state.total, state.complete) == (1, 5, False)
    assert state.overdue == []
    assert [s.done_count for s in state.stages] == [1, 0, 0]
    assert [s.done for s in state.stages] == [False, False, False]

    milestones[1].done_at = T0 + 5 * DAY  # "b": the first stage is finished
    state = timeline.build(milestones, T0 + 25 * DAY)
    assert state.current_stage == 1
    assert state.stages[0].finished_at == T0 + 5 * DAY and state.stages[1].finished_at is None
    # In the current stage, the step due first comes next, whatever its position.
    assert state.next_milestone.key == "d"
    assert keys(state.overdue) == ["d"]  # due day 20; "c" (day 30) is not late yet


def test_next_step_ties_on_due_date_go_by_position_and_overdue_is_sorted_by_due():
    milestones = [M("late-2", 1, 0, 10), M("second", 0, 1, 7), M("first", 0, 0, 7),
                  M("late-1", 1, 1, 8)]
    state = timeline.build(milestones, T0 + 40 * DAY)
    assert state.next_milestone.key == "first"
    assert keys(state.overdue)[2:] == ["late-1", "late-2"]  # by due date
    assert set(keys(state.overdue)[:2]) == {"first", "second"}


def test_a_finished_journey_has_no_next_step():
    milestones = [M("a", 0, 0, 7, done_days=1), M("b", 1, 0, 30, done_days=40)]
    state = timeline.build(milestones, T0 + 50 * DAY)
    assert state.complete and state.current_stage == 2 == len(state.stages)
    assert state.next_milestone is None and state.overdue == []
    assert [s.finished_at for s in state.stages] == [T0 + DAY, T0 + 40 * DAY]


def test_an_empty_journey_is_complete():
    state = timeline.build([], T0)
    assert (state.stages, state.current_stage, state.next_milestone, state.complete) \
        == ([], 0, None, True)


def test_stalled_and_on_time():
    stalls_at = T0 + 14 * DAY
    assert not timeline.stalled(completed_at=None, stalls_at=stalls_at, now=stalls_at - DAY)
    assert timeline.stalled(completed_at=None, stalls_at=stalls_at, now=stalls_at)
    assert not timeline.stalled(completed_at=T0, stalls_at=stalls_at, now=stalls_at + DAY)
    assert timeline.on_time(T0 + DAY, T0 + DAY) and not timeline.on_time(T0 + 2 * DAY, T0 + DAY)
    assert not timeline.on_time(None, T0)


def test_days_between():
    assert timeline.days_between(T0, T0 + timedelta(days=2, hours=12)) == 2.5
    assert timeline.days_between(T0, T0 - DAY) == 0.0  # never negative
    assert timeline.days_between(None, T0) is None and timeline.days_between(T0, None) is None


def test_stage_durations_are_medians_over_journeys_that_finished_the_stage():
    rows = [
        # journey 1: stage 0 took 4 days, stage 1 six more, stage 2 still open
        (1, 0, T0, T0 + 4 * DAY), (1, 1, T0, T0 + 10 * DAY), (1, 2, T0, None),
        # journey 2: 2 days; stage 1 was finished ahead of time (counts as 0); stage 2 3 days
        (2, 1, T0, T0 + DAY), (2, 0, T0, T0 + 2 * DAY), (2, 2, T0, T0 + 5 * DAY),
        # journey 3: stage 0 open, so its finished later stage has not really started
        (3, 0, T0, None), (3, 1, T0, T0 + 3 * DAY),
        # journey 4 started later: its own start counts
        (4, 0, T0 + 10 * DAY, T0 + 18 * DAY),
    ]
    assert timeline.stage_durations(rows) == {0: 4.0, 1: 3.0, 2: 3.0}
    assert timeline.stage_durations([]) == {}
    assert timeline.stage_durations([(1, 0, T0, T0 + timedelta(hours=36))]) == {0: 1.5}
