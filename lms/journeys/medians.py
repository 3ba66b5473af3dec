"""The median days the vendor overview shows, recomputed by the periodic job and stored.

An exact median cannot be kept up by the writes (one milestone done can move the middle of
thousands), and taking it on every view read every milestone of the platform. So `lms tick`
takes them again once they are MEDIANS_EVERY old, in SQL (lms.core.medians: only the middle
values leave the database), and the page reads a few stored rows and says when they were
taken. `lms tallies rebuild` takes them too (registered as a summary).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, insert, literal_column, select, union_all

from lms.core import clock, settings, tallies
from lms.core.db import days_since
from lms.core.medians import mean_of_middle, middle_values
from lms.extensions import db
from lms.journeys.models import Journey, JourneyMedian, JourneyMilestone, JourneyTemplate

PEOPLE = 0  # the template_id of the medians over every person's journey
MEDIANS_EVERY = timedelta(minutes=15)
TAKEN_SETTING = "journey_medians_at"


@dataclass
class Medians:
    """One organisation template's medians, with every person journey's, as stored."""

    as_of: datetime | None = None  # None until the periodic job first took them
    stages: dict[int, float] = field(default_factory=dict)
    complete: float | None = None
    certified: float | None = None
    person_complete: float | None = None
    person_certified: float | None = None


def stored(template_id: int) -> Medians:
    """The stored medians of one template and of every person's journey (one query, and
    the time they were taken from the settings)."""
    taken = settings.get(TAKEN_SETTING)
    found = Medians(as_of=datetime.fromisoformat(taken) if taken else None)
    for row in db.session.scalars(select(JourneyMedian).where(
            JourneyMedian.template_id.in_([template_id, PEOPLE]))):
        if row.measure == "stage":
            found.stages[row.stage_index] = row.days
        else:
            prefix = "person_" if row.template_id == PEOPLE else ""
            setattr(found, prefix + row.measure, row.days)
    return found


def recompute_due() -> int:
    """The periodic job: take the medians again once they are MEDIANS_EVERY old."""
    taken = settings.get(TAKEN_SETTING)
    if taken and clock.now() - datetime.fromisoformat(taken) < MEDIANS_EVERY:
        return 0
    return recompute()


@tallies.summary("journey_medians")
def recompute() -> int:
    """Replace the stored medians with ones taken now; how many were stored."""
    now = clock.now()
    rows = []
    for template_id in db.session.scalars(
            select(JourneyTemplate.id).where(JourneyTemplate.scope == "organisation")):
        rows += [{"template_id": template_id, "measure": "stage", "stage_index": index,
                  "days": days, "computed_at": now}
                 for index, days in _stage_medians(template_id).items()]
    rows += [{"template_id": subject, "measure": measure, "stage_index": 0, "days": days,
              "computed_at": now} for (subject, measure), days in _journey_medians().items()]
    db.session.execute(delete(JourneyMedian))
    if rows:
        db.session.execute(insert(JourneyMedian), rows)
    settings.put(TAKEN_SETTING, now.isoformat())
    db.session.flush()
    return len(rows)


def _stage_medians(template_id: int) -> dict[int, float]:
    """Median days each stage took, over the journeys that finished it, as
    timeline.stage_durations takes them, in one statement: only the middle values leave
    the database.

    A stage starts when the stages before it finished (the first at the journey's start),
    counts only while every stage before it is finished, and work done before it began
    counts as no time at all.
    """
    # Days from the journey's start to each stage's finish (None while unfinished).
    finished = (
        select(JourneyMilestone.journey_id, JourneyMilestone.stage_index,
               case((func.count(JourneyMilestone.done_at) == func.count(),
                     days_since(Journey.started_at, func.max(JourneyMilestone.done_at))),
                    else_=None).label("finished_after"))
        .join(Journey, Journey.id == JourneyMilestone.journey_id)
        .where(Journey.template_id == template_id)
        .group_by(JourneyMilestone.journey_id, JourneyMilestone.stage_index,
                  Journey.started_at)
        .subquery("finished"))
    journey_order = {"partition_by": finished.c.journey_id,
                     "order_by": finished.c.stage_index}
    stages = select(
        finished.c.stage_index, finished.c.finished_after,
        # Unfinished stages up to this one: a stage counts only while this is 0.
        func.count(case((finished.c.finished_after.is_(None), 1)))
        .over(**journey_order).label("unfinished"),
        # When the stages before it were done: the latest finish among them.
        func.max(finished.c.finished_after).over(**journey_order, rows=(None, -1))
        .label("before")).subquery("stages")
    began = case((stages.c.before > 0, stages.c.before), else_=0.0)
    took = stages.c.finished_after - began
    durations = (select(stages.c.stage_index, case((took > 0, took), else_=0.0).label("days"))
                 .where(stages.c.unfinished == 0).subquery("durations"))
    return {stage_index: round(mean_of_middle(lower, upper), 1)
            for stage_index, lower, upper in db.session.execute(
                middle_values(durations, "days", ("stage_index",)))}


def _journey_medians() -> dict[tuple[int, str], float]:
    """(template id, or PEOPLE for every person's journey; "complete" or "certified") ->
    median days to complete and to a first certification, in one statement."""
    subject = case((Journey.scope == "person", PEOPLE), else_=Journey.template_id)
    spans = [
        select(subject.label("subject"), literal_column(f"'{kind}'").label("kind"),
               days_since(Journey.started_at, ended).label("days"))
        .where(ended.is_not(None))
        for kind, ended in (("complete", Journey.completed_at),
                            ("certified", Journey.first_certified_at))]
    # Each value as the page shows durations (a tenth of a day, never negative), then
    # their median: as statistics.median of the rounded values would give.
    return {(subject, kind): round(mean_of_middle(_days(lower), _days(upper)), 1)
            for subject, kind, lower, upper in db.session.execute(
                middle_values(union_all(*spans).subquery("spans"), "days",
                              ("subject", "kind")))}


def _days(value: float) -> float:
    """As timeline.days_between: never negative, to a tenth of a day."""
    return round(max(0.0, value), 1)
