"""Read models for the pages: journey rows with their counts, the vendor's onboarding table,
its funnel and the median days per stage. A fixed number of queries for any number of
partners: counts are grouped in SQL, and medians taken in SQL too (lms.core.medians), so
only a row per stage leaves the database however many partners there are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, literal_column, select, union_all
from sqlalchemy.orm import selectinload

from lms.accounts.models import Organisation, User
from lms.core.db import days_since
from lms.core.medians import mean_of_middle, middle_values
from lms.core.pages import Window
from lms.core.pages import clamp as pages_of
from lms.extensions import db
from lms.journeys import timeline
from lms.journeys.models import Journey, JourneyMilestone, JourneyTemplate


@dataclass
class JourneyRow:
    journey: Journey
    subject_name: str
    organisation: Organisation | None
    done: int
    total: int
    overdue: int
    next_title: str | None
    next_due_at: datetime | None
    stalled: bool

    @property
    def stage_name(self) -> str:
        stages = self.journey.template_version.stages
        if self.journey.current_stage >= len(stages):
            return "Complete"
        return stages[self.journey.current_stage]["name"]


def _counts(now: datetime, journey_ids: list[int]) -> dict[int, tuple[int, int, int]]:
    """(total, done, overdue) milestones of each journey of one page, in one grouped query:
    a page aggregates its own journeys' milestones, never the platform's."""
    if not journey_ids:
        return {}
    return {row.journey_id: (row.total, row.done, row.overdue or 0) for row in db.session.execute(
        select(JourneyMilestone.journey_id, func.count().label("total"),
               func.count(JourneyMilestone.done_at).label("done"),
               func.sum(case((and_(JourneyMilestone.done_at.is_(None),
                                   JourneyMilestone.due_at < now), 1), else_=0))
               .label("overdue"))
        .where(JourneyMilestone.journey_id.in_(journey_ids))
        .group_by(JourneyMilestone.journey_id))}


def _has_overdue(now: datetime):
    """A journey has a milestone past due and not done (probed per journey by its index)."""
    return select(JourneyMilestone.id).where(
        JourneyMilestone.journey_id == Journey.id, JourneyMilestone.done_at.is_(None),
        JourneyMilestone.due_at < now).exists()


def _next_steps(journey_ids: list[int]) -> dict[int, JourneyMilestone]:
    """Each journey's next step: first unfinished stage, due first (one query)."""
    if not journey_ids:
        return {}
    found: dict[int, JourneyMilestone] = {}
    for milestone in db.session.scalars(
            select(JourneyMilestone).where(JourneyMilestone.journey_id.in_(journey_ids),
                                           JourneyMilestone.done_at.is_(None))
            .order_by(JourneyMilestone.journey_id, JourneyMilestone.stage_index,
                      JourneyMilestone.due_at, JourneyMilestone.position)):
        found.setdefault(milestone.journey_id, milestone)
    return found


def _rows(query, now: datetime) -> list[JourneyRow]:
    results = db.session.execute(query).all()
    ids = [r.Journey.id for r in results]
    steps, counts = _next_steps(ids), _counts(now, ids)
    rows = []
    for result in results:
        journey = result.Journey
        step = steps.get(journey.id)
        total, done, overdue = counts.get(journey.id, (0, 0, 0))
        rows.append(JourneyRow(
            journey=journey, subject_name=result.subject_name,
            organisation=getattr(result, "Organisation", None),
            done=done, total=total, overdue=overdue,
            next_title=step.title if step else None, next_due_at=step.due_at if step else None,
            stalled=timeline.stalled(completed_at=journey.completed_at,
                                     stalls_at=journey.stalls_at, now=now)))
    return rows


def staff_journeys(organisation_id: int, now: datetime, *, page: int = 1,
                   per_page: int = 50) -> Window:
    """One page of the journeys of an organisation's people, most urgent first (unfinished,
    then by overdue milestones, then by name); milestones counted for this partner only."""
    theirs = (Journey.organisation_id == organisation_id, Journey.scope == "person")
    total = db.session.scalar(select(func.count()).select_from(Journey).where(*theirs)) or 0
    page, pages, offset = pages_of(total, page, per_page)
    # "Has an overdue milestone" is an index probe per journey; counting every journey's
    # milestones to sort by how many are overdue would read the whole partner's.
    query = (select(Journey, User.full_name.label("subject_name"))
             .join(User, User.id == Journey.user_id)
             .options(selectinload(Journey.template_version))
             .where(*theirs)
             .order_by(Journey.completed_at.is_not(None), _has_overdue(now).desc(),
                       func.lower(User.full_name), Journey.id)
             .limit(per_page).offset(offset))
    return Window(_rows(query, now), total, page, pages, per_page)


@dataclass
class FunnelStep:
    index: int
    name: str
    reached: int  # journeys that got at least this far
    at: int  # journeys whose current stage this is
    median_days: float | None


@dataclass
class Overview:
    template: JourneyTemplate | None
    templates: list[JourneyTemplate]
    rows: list[JourneyRow]
    total: int  # rows under the filters, before paging
    page: int
    pages: int
    funnel: list[FunnelStep] = field(default_factory=list)
    completed: int = 0
    started: int = 0
    overdue_journeys: int = 0
    stalled_journeys: int = 0
    median_days_to_complete: float | None = None
    median_days_to_first_certification: float | None = None
    person_median_days_to_first_certification: float | None = None
    person_median_days_to_complete: float | None = None


def vendor_overview(*, template_id: int | None, stage: int | None, overdue: bool,
                    stalled: bool, page: int, per_page: int, now: datetime) -> Overview:
    """Every partner's organisation journey of one template, filtered and paged, with the
    funnel (partners per stage) and the median days each stage takes."""
    templates = list(db.session.scalars(
        select(JourneyTemplate).where(JourneyTemplate.scope == "organisation")
        .options(selectinload(JourneyTemplate.current_version))
        .order_by(JourneyTemplate.archived_at.is_not(None), JourneyTemplate.code)))
    template = next((t for t in templates if t.id == template_id),
                    templates[0] if templates else None)
    if template is None:
        return Overview(None, [], [], 0, 1, 1)
    conditions = [Journey.template_id == template.id]
    if stage is not None:
        conditions.append(Journey.current_stage == stage)
    if overdue:
        conditions.append(_has_overdue(now))
    if stalled:
        conditions.append(and_(Journey.completed_at.is_(None), Journey.stalls_at <= now))
    # Counted on the journeys themselves; milestones are counted for the page's rows only.
    total = db.session.scalar(select(func.count()).select_from(Journey)
                              .where(*conditions)) or 0
    filtered = (select(Journey, Organisation, Organisation.name.label("subject_name"))
                .join(Organisation, Organisation.id == Journey.organisation_id)
                .options(selectinload(Journey.template_version))
                .where(*conditions))
    page, pages, offset = pages_of(total, page, per_page)
    rows = _rows(filtered.order_by(Journey.completed_at.is_not(None),
                                   _has_overdue(now).desc(), Journey.started_at, Journey.id)
                 .limit(per_page).offset(offset), now)
    overview = Overview(template, templates, rows, total, page, pages)
    _summarise(overview, template, now)
    return overview


def _summarise(overview: Overview, template: JourneyTemplate, now: datetime) -> None:
    """Funnel, medians and headline counts for the whole template (ignoring the filters)."""
    stages = template.current_version.stages
    at_stage = dict(db.session.execute(
        select(Journey.current_stage, func.count())
        .where(Journey.template_id == template.id)
        .group_by(Journey.current_stage)).all())
    overview.started = sum(at_stage.values())
    overview.completed = sum(n for index, n in at_stage.items() if index >= len(stages))
    medians = _stage_medians(template.id)
    overview.funnel = [
        FunnelStep(index, stage["name"],
                   reached=sum(n for at, n in at_stage.items() if at >= index),
                   at=at_stage.get(index, 0), median_days=medians.get(index))
        for index, stage in enumerate(stages)]
    overview.overdue_journeys = db.session.scalar(
        select(func.count()).select_from(Journey)
        .where(Journey.template_id == template.id, _has_overdue(now))) or 0
    overview.stalled_journeys = db.session.scalar(
        select(func.count()).select_from(Journey)
        .where(Journey.template_id == template.id, Journey.completed_at.is_(None),
               Journey.stalls_at <= now)) or 0
    _journey_medians(overview, template.id)


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


def _journey_medians(overview: Overview, template_id: int) -> None:
    """Median days to complete and to a first certification: of this template's partner
    journeys and of every person's journey, in one statement (the middle values only)."""
    spans = [
        select(Journey.scope, literal_column(f"'{kind}'").label("kind"),
               days_since(Journey.started_at, ended).label("days"))
        .where(ended.is_not(None))
        .where((Journey.template_id == template_id) | (Journey.scope == "person"))
        for kind, ended in (("complete", Journey.completed_at),
                            ("certified", Journey.first_certified_at))]
    found = {(scope, kind): (lower, upper) for scope, kind, lower, upper in db.session.execute(
        middle_values(union_all(*spans).subquery("spans"), "days", ("scope", "kind")))}
    for scope, prefix in (("organisation", ""), ("person", "person_")):
        for kind, name in (("complete", "median_days_to_complete"),
                           ("certified", "median_days_to_first_certification")):
            middle = found.get((scope, kind))
            # Each value as the page shows durations (a tenth of a day, never negative),
            # then their median: as statistics.median of the rounded values would give.
            setattr(overview, prefix + name, None if middle is None else round(
                mean_of_middle(_days(middle[0]), _days(middle[1])), 1))


def _days(value: float | None) -> float | None:
    """As timeline.days_between: never negative, to a tenth of a day."""
    return None if value is None else round(max(0.0, value), 1)
