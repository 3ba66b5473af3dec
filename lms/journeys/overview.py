"""Read models for the pages: journey rows with their counts, the vendor's onboarding table,
its funnel and the median days per stage. A fixed number of queries for any number of
partners: the lists are paged in SQL by index, most urgent first (overdue, by the stored
Journey.overdue_since, then open, then finished), milestones are counted for the page's
journeys only, the headline counts come from one grouped count of the journeys themselves,
and the medians are read as the periodic job stored them (lms.journeys.medians).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import selectinload

from lms.accounts.models import Organisation, User
from lms.core.pages import Window
from lms.core.pages import clamp as pages_of
from lms.extensions import db
from lms.journeys import medians, timeline
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


def _overdue(now: datetime):
    """A journey has a milestone past due and not done (by the journey's own overdue_since)."""
    return Journey.overdue_since < now


def _stalled(now: datetime):
    return and_(Journey.completed_at.is_(None), Journey.stalls_at <= now)


@dataclass(frozen=True)
class Bucket:
    """How many journeys share a stage and the three flags the lists filter and sort on."""

    stage: int
    finished: bool
    overdue: bool
    stalled: bool
    count: int


def _buckets(now: datetime, *where) -> list[Bucket]:
    """The journeys under `where` counted by stage, finished, overdue and stalled, in one
    grouped count of the journeys' own columns: every count a list shows (its total under
    any filters, the funnel, the tiles, each urgency group's size) is a sum of these."""
    flags = [case((condition, 1), else_=0) for condition in (
        Journey.completed_at.is_not(None), _overdue(now), _stalled(now))]
    return [Bucket(stage, bool(finished), bool(overdue), bool(stalled), count)
            for stage, finished, overdue, stalled, count in db.session.execute(
                select(Journey.current_stage, *flags, func.count())
                .where(*where).group_by(Journey.current_stage, *flags))]


# The lists' order before their own (start, or name): open before finished, and among
# each, those with an overdue milestone first.
URGENCY = [(False, True), (False, False), (True, True), (True, False)]


def _page_by_urgency(query: Select, buckets: list[Bucket], now: datetime, order: list,
                     offset: int, limit: int) -> list[int]:
    """The ids of one page of `query`'s journeys (a select of Journey.id), most urgent
    first, then by `order`.

    Each urgency group is a separate indexed query that reads only its part of the page
    (the bucket counts say where each group starts), all in one UNION ALL statement:
    nothing sorts every journey by a flag that depends on the time.
    """
    parts, start = [], 0
    for rank, (finished, overdue) in enumerate(URGENCY):
        size = sum(b.count for b in buckets if (b.finished, b.overdue) == (finished, overdue))
        first, last = max(offset, start), min(offset + limit, start + size)
        if first < last:
            condition = and_(Journey.completed_at.is_not(None) if finished
                             else Journey.completed_at.is_(None),
                             _overdue(now) if overdue else or_(Journey.overdue_since.is_(None),
                                                               Journey.overdue_since >= now))
            part = (query.where(condition)
                    .add_columns(literal(rank).label("rank"),
                                 *(column.label(f"o{n}") for n, column in enumerate(order)))
                    .order_by(*order).offset(first - start).limit(last - first)
                    .subquery(f"urgency{rank}"))
            parts.append(select(part))
        start += size
    if not parts:
        return []
    every = union_all(*parts).subquery("page")
    return list(db.session.scalars(
        select(every.c.id).order_by(every.c.rank, *(every.c[f"o{n}"]
                                                    for n in range(len(order))))))


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


def _rows(ids: list[int], now: datetime) -> list[JourneyRow]:
    """The rows of journeys `ids`, in that order, each with its subject's name (and, for an
    organisation's journey, the organisation), read by key: nothing joins or hashes more
    than the page's own journeys."""
    if not ids:
        return []
    found = {j.id: j for j in db.session.scalars(
        select(Journey).where(Journey.id.in_(ids))
        .options(selectinload(Journey.template_version)))}
    journeys = [found[i] for i in ids if i in found]
    person_ids = {j.user_id for j in journeys if j.user_id is not None}
    organisation_ids = {j.organisation_id for j in journeys if j.user_id is None}
    people = dict(db.session.execute(select(User.id, User.full_name).where(
        User.id.in_(person_ids))).tuples().all()) if person_ids else {}
    organisations = {o.id: o for o in db.session.scalars(select(Organisation).where(
        Organisation.id.in_(organisation_ids)))} if organisation_ids else {}
    steps, counts = _next_steps(ids), _counts(now, ids)
    rows = []
    for journey in journeys:
        step = steps.get(journey.id)
        total, done, overdue = counts.get(journey.id, (0, 0, 0))
        organisation = organisations.get(journey.organisation_id) \
            if journey.user_id is None else None
        rows.append(JourneyRow(
            journey=journey,
            subject_name=organisation.name if organisation else people.get(journey.user_id, ""),
            organisation=organisation,
            done=done, total=total, overdue=overdue,
            next_title=step.title if step else None, next_due_at=step.due_at if step else None,
            stalled=timeline.stalled(completed_at=journey.completed_at,
                                     stalls_at=journey.stalls_at, now=now)))
    return rows


def staff_journeys(organisation_id: int, now: datetime, *, page: int = 1,
                   per_page: int = 50) -> Window:
    """One page of the journeys of an organisation's people, most urgent first (unfinished,
    then overdue, then by name); milestones counted for this partner only."""
    theirs = (Journey.organisation_id == organisation_id, Journey.scope == "person")
    buckets = _buckets(now, *theirs)
    total = sum(b.count for b in buckets)
    page, pages, offset = pages_of(total, page, per_page)
    # Each urgency group walks the partner's staff by name (their index) to its part of
    # the page, instead of sorting every journey of the partner.
    ids = _page_by_urgency(
        select(Journey.id).join(User, User.id == Journey.user_id).where(*theirs), buckets,
        now, [func.lower(User.full_name), Journey.id], offset, per_page)
    return Window(_rows(ids, now), total, page, pages, per_page)


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
    medians_as_of: datetime | None = None  # when the periodic job took them (None: not yet)


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
    buckets = _buckets(now, Journey.template_id == template.id)
    conditions = [Journey.template_id == template.id]
    if stage is not None:
        conditions.append(Journey.current_stage == stage)
    if overdue:
        conditions.append(_overdue(now))
    if stalled:
        conditions.append(_stalled(now))
    chosen = [b for b in buckets if (stage is None or b.stage == stage)
              and (b.overdue or not overdue) and (b.stalled or not stalled)]
    total = sum(b.count for b in chosen)
    page, pages, offset = pages_of(total, page, per_page)
    ids = _page_by_urgency(select(Journey.id).where(*conditions), chosen, now,
                           [Journey.started_at, Journey.id], offset, per_page)
    overview = Overview(template, templates, _rows(ids, now), total, page, pages)
    _summarise(overview, template, buckets)
    return overview


def _summarise(overview: Overview, template: JourneyTemplate, buckets: list[Bucket]) -> None:
    """Funnel, medians and headline counts for the whole template (ignoring the filters)."""
    stages = template.current_version.stages
    at_stage: dict[int, int] = {}
    for bucket in buckets:
        at_stage[bucket.stage] = at_stage.get(bucket.stage, 0) + bucket.count
    overview.started = sum(at_stage.values())
    overview.completed = sum(n for index, n in at_stage.items() if index >= len(stages))
    stored = medians.stored(template.id)
    overview.medians_as_of = stored.as_of
    overview.funnel = [
        FunnelStep(index, stage["name"],
                   reached=sum(n for at, n in at_stage.items() if at >= index),
                   at=at_stage.get(index, 0), median_days=stored.stages.get(index))
        for index, stage in enumerate(stages)]
    overview.overdue_journeys = sum(b.count for b in buckets if b.overdue)
    overview.stalled_journeys = sum(b.count for b in buckets if b.stalled)
    overview.median_days_to_complete = stored.complete
    overview.median_days_to_first_certification = stored.certified
    overview.person_median_days_to_complete = stored.person_complete
    overview.person_median_days_to_first_certification = stored.person_certified
