"""Scorecards now: computed from gathered facts with the definitions in force, stored for
the pages (lms.scorecard.current) by the recompute, and the change detection that fires
webhooks when a partner's health changes or a flag appears.

Explicit arguments only (no request, no current user); flushes, never commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import defer, joinedload

from lms.core import clock, settings
from lms.core.errors import NotFound
from lms.extensions import db
from lms.readiness.models import ReadinessScore
from lms.scorecard import current, sync, webhooks
from lms.scorecard import gather as gathering
from lms.scorecard.loader import Definitions
from lms.scorecard.models import MetricImport, MetricValue, PartnerState, ReviewPeriod, Snapshot
from lms.scorecard.scoring import scorecard

EVERYONE_SETTING = "scorecard_recomputed_everyone_at"
CHECKED_SETTING = "scorecard_readiness_checked_at"
# Staleness and stalled journeys move by the day: everyone hourly is plenty. In between, only
# partners whose readiness was recomputed since the last look (readiness coalesces events).
EVERYONE_EVERY = timedelta(hours=1)


def definitions() -> Definitions:
    """The definitions in force; NotFound before content gave any."""
    found = sync.current()
    if found is None:
        raise NotFound("There is no scorecard yet: content/scorecard/metrics.yml has not "
                       "been synced (lms content sync).")
    return found


def scorecards(now: datetime, organisation_ids=None, *,
               using: Definitions | None = None) -> list[dict]:
    """Every partner's scorecard (or the given ones'), ordered by name."""
    using = using or definitions()
    return [scorecard(facts, using, now)
            for facts in gathering.gather(now, using, organisation_ids)]


def partner_scorecard(organisation_id: int, now: datetime) -> dict:
    found = scorecards(now, [organisation_id])
    if not found:
        raise NotFound("No such partner.")
    return found[0]


# --- change detection (webhooks) ------------------------------------------------------------

def recompute_all() -> int:
    """Job: recompute every scorecard; fire webhooks for changes. Returns changes found."""
    now = clock.now()
    changes = _recompute(None)
    settings.put(EVERYONE_SETTING, now.isoformat())
    settings.put(CHECKED_SETTING, now.isoformat())
    return changes


def recompute_due() -> int:
    """The periodic job: everyone hourly; in between, partners with a fresh readiness."""
    last = settings.get(EVERYONE_SETTING)
    now = clock.now()
    # A clock that went backwards (a restored backup, a test) counts as overdue too.
    if last is None or not timedelta(0) <= now - datetime.fromisoformat(last) < EVERYONE_EVERY:
        return recompute_all()
    checked = datetime.fromisoformat(settings.get(CHECKED_SETTING) or last)
    ids = list(db.session.scalars(select(ReadinessScore.organisation_id).where(
        ReadinessScore.computed_at > checked)))
    settings.put(CHECKED_SETTING, now.isoformat())
    return _recompute(ids) if ids else 0


def recompute_partners(organisation_ids: list[int]) -> int:
    """Job (after an import): the same for the partners whose values changed."""
    return _recompute(organisation_ids)


def _recompute(organisation_ids) -> int:
    using = sync.current()
    if using is None:
        return 0
    now = clock.now()
    cards = scorecards(now, organisation_ids, using=using)
    current.store(cards, now, organisation_ids)  # what the pages read from now on
    ids = [card["organisation"]["id"] for card in cards]
    states = {state.organisation_id: state for state in db.session.scalars(
        select(PartnerState).where(PartnerState.organisation_id.in_(ids)))} if ids else {}
    changes, baseline = 0, []
    for card in cards:
        keys = [flag["key"] for flag in card["flags"]]
        state = states.get(card["organisation"]["id"])
        if state is None:
            # The first look at a partner is the baseline: nothing "changed" yet, and
            # enabling the scorecard must not fire a webhook for every partner at once.
            baseline.append({"organisation_id": card["organisation"]["id"],
                             "health": card["health"], "score": card["score"], "flags": keys,
                             "computed_at": now})
            continue
        new_flags = [flag for flag in card["flags"] if flag["key"] not in state.flags]
        if state.health != card["health"]:
            changes += 1
            webhooks.queue("scorecard.health_changed",
                           _event(card, previous=state.health), now=now,
                           organisation_id=card["organisation"]["id"])
        if new_flags:
            changes += 1
            webhooks.queue("scorecard.risk_flag_raised",
                           _event(card, new_flags=new_flags), now=now,
                           organisation_id=card["organisation"]["id"])
        if state.health != card["health"] or state.flags != keys or state.score != card["score"]:
            state.health, state.score, state.flags = card["health"], card["score"], keys
            state.computed_at = now
    if baseline:
        # Two recomputes racing over a new partner: the first baseline stands.
        dialect = db.session.get_bind().dialect.name
        insert = (postgresql if dialect == "postgresql" else sqlite).insert
        db.session.execute(insert(PartnerState).on_conflict_do_nothing(), baseline)
    db.session.flush()
    return changes


def _event(card: dict, *, previous: str | None = None, new_flags=None) -> dict:
    organisation = card["organisation"]
    body = {
        "partner": {key: organisation[key]
                    for key in ("id", "name", "tier", "partner_type", "region")},
        "health": card["health"], "score": card["score"], "coverage": card["coverage"],
        "flags": [{k: f[k] for k in ("key", "kind", "text")} for f in card["flags"]],
        "url": f"{current_app.config['BASE_URL'].rstrip('/')}/scorecard/partners/"
               f"{organisation['id']}",
        "definitions_version": card["definitions"]["version"],
    }
    if previous is not None:
        body["previous_health"] = previous
    if new_flags is not None:
        body["new_flags"] = [{k: f[k] for k in ("key", "kind", "text")} for f in new_flags]
    return body


# --- the partner page: history and evidence --------------------------------------------------

def history(organisation_id: int) -> dict[str, list[tuple[str, float]]]:
    """metric -> [(as_of, value)], oldest first; per date the value recorded last."""
    points: dict[str, dict[str, float]] = {}
    for metric, as_of, value in db.session.execute(
            select(MetricValue.metric, MetricValue.as_of, MetricValue.value)
            .where(MetricValue.organisation_id == organisation_id, MetricValue.counted())
            .order_by(MetricValue.as_of, MetricValue.recorded_at, MetricValue.id)):
        points.setdefault(metric, {})[as_of.isoformat()] = value
    return {metric: sorted(found.items()) for metric, found in points.items()}


def evidence_imports(organisation_id: int) -> Select:
    """The imports that brought this partner's values, newest first (to page through)."""
    touched = select(MetricValue.import_id).where(
        MetricValue.organisation_id == organisation_id).distinct()
    return (select(MetricImport).where(MetricImport.id.in_(touched))
            .options(joinedload(MetricImport.actor),  # the page names who imported each
                     defer(MetricImport.problems))
            .order_by(MetricImport.id.desc()))


def snapshots_of(organisation_id: int) -> list:
    """This partner's frozen scorecards, one per closed period, oldest first."""
    return db.session.execute(
        select(Snapshot.id, Snapshot.score, Snapshot.health, Snapshot.coverage,
               Snapshot.readiness_total, Snapshot.taken_at, ReviewPeriod.id.label("period_id"),
               ReviewPeriod.name, ReviewPeriod.starts_on, ReviewPeriod.ends_on,
               ReviewPeriod.definition_version, Snapshot.rubric_version)
        .join(ReviewPeriod, ReviewPeriod.id == Snapshot.period_id)
        .where(Snapshot.organisation_id == organisation_id)
        .order_by(ReviewPeriod.starts_on)).all()
