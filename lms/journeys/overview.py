"""Read models for the pages: journey rows with their counts, the vendor's onboarding table,
its funnel and the median days per stage. A fixed number of queries for any number of
partners: counts are grouped in SQL, medians taken from one grouped result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from statistics import median

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import selectinload

from lms.accounts.models import Organisation, User
from lms.core.db import days_since
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
    # Days from the journey's start to each finished stage, as numbers: one row per partner
    # and stage, so no datetime is parsed per row.
    stage_rows = db.session.execute(
        select(JourneyMilestone.journey_id, JourneyMilestone.stage_index,
               case((func.count(JourneyMilestone.done_at) == func.count(),
                     days_since(Journey.started_at, func.max(JourneyMilestone.done_at))),
                    else_=None))
        .join(Journey, Journey.id == JourneyMilestone.journey_id)
        .where(Journey.template_id == template.id)
        .group_by(JourneyMilestone.journey_id, JourneyMilestone.stage_index,
                  Journey.started_at)).all()
    medians = timeline.stage_medians([tuple(row) for row in stage_rows])
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
    times = db.session.execute(
        select(Journey.scope, days_since(Journey.started_at, Journey.completed_at),
               days_since(Journey.started_at, Journey.first_certified_at))
        .where(Journey.completed_at.is_not(None) | Journey.first_certified_at.is_not(None))
        .where((Journey.template_id == template.id) | (Journey.scope == "person"))).all()
    for scope, prefix in (("organisation", ""), ("person", "person_")):
        mine = [(completed, certified) for kind, completed, certified in times if kind == scope]
        setattr(overview, f"{prefix}median_days_to_complete",
                _median(_days(completed) for completed, _ in mine))
        setattr(overview, f"{prefix}median_days_to_first_certification",
                _median(_days(certified) for _, certified in mine))


def _days(value: float | None) -> float | None:
    """As timeline.days_between: never negative, to a tenth of a day."""
    return None if value is None else round(max(0.0, value), 1)


def _median(values) -> float | None:
    present = [value for value in values if value is not None]
    return round(median(present), 1) if present else None
