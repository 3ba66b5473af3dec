"""The vendor overview's medians, taken in SQL, equal the plain Python medians the page took
before (the rows brought back, statistics.median over them), on partners whose stages end
at odd times: ahead of time, before the journey started, unfinished, out of order; with
odd and even counts per stage."""

from __future__ import annotations

import random
from datetime import timedelta
from statistics import median

from sqlalchemy import Float, Integer, case, cast, func, literal, select, union_all, update

from lms.core import clock
from lms.core.db import days_since
from lms.core.medians import mean_of_middle, middle_values
from lms.extensions import db
from lms.journeys import medians, overview, timeline
from lms.journeys.models import Journey, JourneyMilestone
from tests.factories import make_organisation, make_user
from tests.journeys.support import insert_partners_onboarding, template


def python_medians(template_id: int) -> dict:
    """What the page computed before: SQL rows brought back, medians taken in Python."""
    stage_rows = db.session.execute(
        select(JourneyMilestone.journey_id, JourneyMilestone.stage_index,
               case((func.count(JourneyMilestone.done_at) == func.count(),
                     days_since(Journey.started_at, func.max(JourneyMilestone.done_at))),
                    else_=None))
        .join(Journey, Journey.id == JourneyMilestone.journey_id)
        .where(Journey.template_id == template_id)
        .group_by(JourneyMilestone.journey_id, JourneyMilestone.stage_index,
                  Journey.started_at)).all()
    times = db.session.execute(
        select(Journey.scope, days_since(Journey.started_at, Journey.completed_at),
               days_since(Journey.started_at, Journey.first_certified_at))
        .where((Journey.template_id == template_id) | (Journey.scope == "person"))).all()

    def median_of(values) -> float | None:
        present = [round(max(0.0, v), 1) for v in values if v is not None]
        return round(median(present), 1) if present else None

    found = {"stages": timeline.stage_medians([tuple(row) for row in stage_rows])}
    for scope in ("organisation", "person"):
        found[scope] = (median_of(c for kind, c, _ in times if kind == scope),
                        median_of(f for kind, _, f in times if kind == scope))
    return found


def stage_counts(template_id: int) -> list[int]:
    """How many journeys finished each stage (what each stage's median is taken over)."""
    rows = db.session.execute(
        select(JourneyMilestone.journey_id, JourneyMilestone.stage_index,
               func.count(JourneyMilestone.done_at) == func.count())
        .join(Journey, Journey.id == JourneyMilestone.journey_id)
        .where(Journey.template_id == template_id)
        .group_by(JourneyMilestone.journey_id, JourneyMilestone.stage_index)
        .order_by(JourneyMilestone.journey_id, JourneyMilestone.stage_index)).all()
    counts: dict[int, int] = {}
    blocked: set[int] = set()
    for journey_id, stage_index, finished in rows:
        if not finished:
            blocked.add(journey_id)
        elif journey_id not in blocked:
            counts[stage_index] = counts.get(stage_index, 0) + 1
    return list(counts.values())


def scramble(rng: random.Random, journey_ids: list[int]) -> None:
    """Milestones done at odd moments (or not at all), journeys ended at odd moments."""
    for milestone_id, started in db.session.execute(
            select(JourneyMilestone.id, Journey.started_at)
            .join(Journey, Journey.id == JourneyMilestone.journey_id)
            .where(Journey.id.in_(journey_ids))).all():
        done = None if rng.random() < 0.25 else \
            started + timedelta(minutes=rng.randrange(-3 * 1440, 60 * 1440))
        db.session.execute(update(JourneyMilestone).where(JourneyMilestone.id == milestone_id)
                           .values(done_at=done))
    for journey_id, started in db.session.execute(
            select(Journey.id, Journey.started_at).where(Journey.id.in_(journey_ids))).all():
        ended = {column: None if rng.random() < 0.3 else
                 started + timedelta(minutes=rng.randrange(-1440, 90 * 1440))
                 for column in ("completed_at", "first_certified_at")}
        db.session.execute(update(Journey).where(Journey.id == journey_id).values(**ended))
    db.session.flush()


def test_sql_medians_equal_python_medians(frozen_clock):
    rng = random.Random(13)
    onboarding = template("partner-onboarding")
    partner = make_organisation("Median Staff")
    parities, checked = set(), 0
    for batch, size in enumerate((1, 1, 2, 5, 9, 16)):
        organisations = insert_partners_onboarding(size, prefix=f"Median {batch}",
                                                   now=clock.now())
        people = [make_user(partner, job_role=("sales", "technical")[n % 2]).id
                  for n in range(size)]
        scramble(rng, list(db.session.scalars(select(Journey.id).where(
            Journey.organisation_id.in_(organisations) | Journey.user_id.in_(people)))))
        medians.recompute()
        data = overview.vendor_overview(template_id=onboarding.id, stage=None, overdue=False,
                                        stalled=False, page=1, per_page=50, now=clock.now())
        expected = python_medians(onboarding.id)
        assert [step.median_days for step in data.funnel] == [
            expected["stages"].get(index) for index in range(len(data.funnel))], batch
        assert (data.median_days_to_complete, data.median_days_to_first_certification) \
            == expected["organisation"], batch
        assert (data.person_median_days_to_complete,
                data.person_median_days_to_first_certification) == expected["person"], batch
        parities |= {count % 2 for count in stage_counts(onboarding.id)}
        checked += sum(value is not None for value in expected["stages"].values())
    assert parities == {0, 1} and checked >= 10  # odd and even counts, real medians


def test_middle_values_pick_the_middle_one_or_two():
    values = [(1, 5.0), (1, 1.0), (1, 3.0), (2, 4.0), (2, 2.0), (2, 10.0), (2, 8.0),
              (3, None), (4, 7.5)]
    source = union_all(*(select(cast(literal(g), Integer).label("g"),
                                cast(literal(v), Float).label("v")) for g, v in values))
    found = {g: mean_of_middle(lower, upper) for g, lower, upper in db.session.execute(
        middle_values(source.subquery("source"), "v", ("g",)))}
    assert found == {1: 3.0, 2: 6.0, 4: 7.5}  # group 3 has no value: no median
