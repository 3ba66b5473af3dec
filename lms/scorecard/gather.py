"""Gather scorecard facts for many partners at once, with set-based SQL.

A fixed number of queries whatever the number of partners: organisations, display names,
stored readiness scores, current metric values, stalled onboarding journeys, and one per
track a compliance checkpoint names. Python only sorts rows into PartnerFacts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, func, select, true

from lms.accounts.models import Organisation, Term, User, active_staff
from lms.catalog.models import Track, TrackCompletion
from lms.extensions import db
from lms.journeys.models import Journey
from lms.readiness.models import ReadinessScore
from lms.scorecard.loader import Definitions
from lms.scorecard.models import MetricValue
from lms.scorecard.scoring import Observation, PartnerFacts, ReadinessFacts

LABELLED = {"tier": "tier", "partner_type": "partner_type", "region": "region"}


def gather(now: datetime, definitions: Definitions,
           organisation_ids: Iterable[int] | None = None) -> list[PartnerFacts]:
    """Facts at `now` for the given partners (None: every partner not marked inactive),
    ordered by name."""
    ids = None if organisation_ids is None else sorted(set(organisation_ids))
    if ids == []:
        return []

    def only(column):
        return true() if ids is None else column.in_(ids)

    organisations = db.session.execute(
        select(Organisation.id, Organisation.name, Organisation.partner_type, Organisation.tier,
               Organisation.region)
        .where(only(Organisation.id), Organisation.status != "inactive")
        # The order the stored scorecard list sorts by name in (name_key, id), so the two agree.
        .order_by(Organisation.name_key, Organisation.id)).all()
    if not organisations:
        return []
    labels = term_labels()
    readiness = _readiness(only)
    values = current_values(only)
    stalled = dict(db.session.execute(
        select(Journey.organisation_id, func.min(Journey.stalls_at))
        .where(only(Journey.organisation_id), Journey.scope == "organisation",
               Journey.completed_at.is_(None), Journey.stalls_at <= now)
        .group_by(Journey.organisation_id)).all())
    completion = {checkpoint.code: _track_completion(
        checkpoint.track, only, now - timedelta(days=checkpoint.new_staff_days))
        for checkpoint in definitions.checkpoints if checkpoint.track}
    return [
        PartnerFacts(
            organisation_id=row.id, name=row.name, partner_type=row.partner_type,
            tier=row.tier, region=row.region,
            labels={kind: labels.get(kind, {}).get(getattr(row, kind), getattr(row, kind))
                    for kind in LABELLED},
            readiness=readiness.get(row.id), values=values.get(row.id, {}),
            stalled_since=stalled.get(row.id),
            track_completion={code: found.get(row.id, (0, 0, 0))
                              for code, found in completion.items()})
        for row in organisations]


def term_labels() -> dict[str, dict[str, str]]:
    """{"tier": {"gold": "Gold", ...}, "partner_type": {...}, "region": {...}} (one query)."""
    labels: dict[str, dict[str, str]] = defaultdict(dict)
    for kind, code, name in db.session.execute(
            select(Term.kind, Term.code, Term.name).where(Term.kind.in_(LABELLED))
            .order_by(Term.kind, Term.rank, Term.name)):
        labels[kind][code] = name
    return dict(labels)


def _readiness(only) -> dict[int, ReadinessFacts]:
    score = ReadinessScore
    found = {}
    for row in db.session.execute(
            select(score.organisation_id, score.total, score.health, score.computed_at,
                   score.meets_tier, score.falls_below_on, score.rubric_version,
                   score.rubric_hash, score.components, score.forecast, score.gaps)
            .where(only(score.organisation_id))):
        found[row.organisation_id] = ReadinessFacts(
            total=row.total, health=row.health, computed_at=row.computed_at,
            meets_tier=row.meets_tier, falls_below_on=row.falls_below_on,
            rubric_version=row.rubric_version, rubric_hash=row.rubric_hash,
            components=list(row.components or []),
            forecast_sentence=(row.forecast or {}).get("sentence") or "",
            gaps=_gap_texts(row.gaps or {}))
    return found


def _gap_texts(gaps: dict) -> list[dict]:
    """[{"tier", "meets", "text", "gaps": [text, ...]}] for the current and the next tier."""
    return [{"tier": standing.get("tier"), "meets": standing.get("meets"),
             "text": standing.get("text", ""),
             "gaps": [gap.get("text", "") for gap in standing.get("gaps") or []]}
            for standing in (gaps.get("current"), gaps.get("next")) if standing]


def current_values(only) -> dict[int, dict[str, Observation]]:
    """Each partner's current value per metric: the latest as-of date, latest recorded."""
    ranked = select(
        MetricValue.organisation_id, MetricValue.metric, MetricValue.value, MetricValue.as_of,
        MetricValue.import_id,
        func.row_number().over(
            partition_by=(MetricValue.organisation_id, MetricValue.metric),
            order_by=(MetricValue.as_of.desc(), MetricValue.recorded_at.desc(),
                      MetricValue.id.desc())).label("rank"),
    ).where(only(MetricValue.organisation_id), MetricValue.counted()).subquery()
    found: dict[int, dict[str, Observation]] = defaultdict(dict)
    for row in db.session.execute(select(ranked).where(ranked.c.rank == 1)):
        found[row.organisation_id][row.metric] = Observation(row.value, row.as_of, row.import_id)
    return found


def _track_completion(slug: str, only, settling_since: datetime
                      ) -> dict[int, tuple[int, int, int]]:
    """organisation id -> (active staff who completed the track, active staff held to it,
    newer staff who have not completed it yet and are not held to it)."""
    track_id = select(Track.id).where(Track.slug == slug).scalar_subquery()
    done = exists().where(TrackCompletion.user_id == User.id,
                          TrackCompletion.track_id == track_id)
    new = and_(~done, User.created_at > settling_since)
    rows = db.session.execute(
        select(User.organisation_id, func.sum(case((done, 1), else_=0)),
               func.sum(case((new, 1), else_=0)), func.count(User.id))
        .where(and_(active_staff(), only(User.organisation_id)))
        .group_by(User.organisation_id)).all()
    return {organisation_id: (int(completed or 0), staff - int(newcomers or 0),
                              int(newcomers or 0))
            for organisation_id, completed, newcomers, staff in rows}
