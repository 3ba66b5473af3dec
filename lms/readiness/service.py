"""Readiness scores: recompute (gather, score, gaps, forecast, store) and coalescing.

Events that change what readiness is made of mark the organisation pending and queue one
recompute job per commit (jobs.enqueue drops duplicates); the job scores every pending
organisation with one gather. The periodic job catches what no event announces (time
passing: certificates expire on their own) and anything a lost job left pending.

Explicit arguments only (no request, no current user); flushes, never commits.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from lms.core import clock, events, fastpath, jobs, settings
from lms.extensions import db
from lms.readiness import gather as gathering
from lms.readiness import sync
from lms.readiness.facts import NAMED, Names, OrganisationFacts
from lms.readiness.forecast import Forecast, Horizon, Outlook, Scenario, forecast
from lms.readiness.gaps import Gaps, TierStanding, gaps
from lms.readiness.loader import Rubric, TierRules
from lms.readiness.models import ReadinessPending, ReadinessRubric, ReadinessScore
from lms.readiness.scoring import holders_label, score

EVERYONE_SETTING = "readiness_recomputed_everyone_at"
# Time alone moves scores (a certificate entering the currency window, a milestone falling
# due), but only by the day: recomputing everyone hourly is plenty, every tick is waste.
EVERYONE_EVERY = timedelta(hours=1)
MANY_PENDING = 2000
_MARKED = "lms_readiness_marked"  # session.info: organisations already marked this transaction


# --- recompute ---------------------------------------------------------------------------

def recompute(organisation_ids=None, *, now: datetime | None = None) -> int:
    """Score the given organisations (None: all) and store the scores. Returns how many.

    Does nothing (0) until content has given a rubric. Flushes, never commits.
    """
    row = sync.latest()
    if row is None:
        return 0
    now = now or clock.now()
    rubric, tiers = sync.rules_from_body(row.body)
    # About a million short-lived rows, facts and scores: see lms.core.fastpath.
    with fastpath.without_cycle_collection():
        # Without detail: the lists of people cut to what the readiness page names.
        gathered = gathering.gather(now, tiers, organisation_ids, detail=False)
        if not gathered.facts:
            return 0
        names = gathering.names()
        records = [record(facts, rubric, tiers, now, names=names,
                          organisation=gathered.organisation_names[organisation_id],
                          rubric_row=row)
                   for organisation_id, facts in gathered.facts.items()]
        del gathered  # the facts are done with: freed here, not after the store
        _upsert(records)
    events.readiness_recomputed.send(None, organisation_ids=organisation_ids)
    return len(records)


def record(facts: OrganisationFacts, rubric: Rubric, tiers: TierRules, now: datetime, *,
           names: Names, organisation: str, rubric_row: ReadinessRubric) -> dict:
    """The readiness_score row for one organisation's facts: the score with its components,
    the gaps for its tier and the next one in words, the outlook (the fall date and the
    sentence), and the explanation the readiness page shows (who is behind each gap, the
    forecast's horizons and needs), so that the page reads it instead of working it out."""
    readiness = score(facts, rubric, tiers, now, names=names)
    found = gaps(facts, tiers, now, names=names)
    ahead = forecast(facts, rubric, tiers, now, organisation=organisation, names=names)
    return {
        "organisation_id": facts.organisation_id, "rubric_id": rubric_row.id,
        "computed_at": now, "total": readiness.total, "health": readiness.health,
        "tier": facts.tier, "meets_tier": found.current.meets,
        "falls_below_on": ahead.falls_below_on, "rubric_version": readiness.rubric_version,
        "rubric_hash": readiness.rubric_hash, "tier_rules_hash": readiness.tier_rules_hash,
        "components": readiness.components_record(),
        "gaps": gaps_record(found), "forecast": outlook_record(ahead),
        "explanation": explanation_record(found, ahead),
    }


def gaps_record(found: Gaps) -> dict:
    """The gaps as JSON (the scorecard shows them; who is behind is in the explanation)."""
    return {"current": _standing(found.current),
            "next": _standing(found.next) if found.next else None}


def _standing(standing: TierStanding) -> dict:
    return {"tier": standing.tier, "meets": standing.meets, "text": standing.text,
            "gaps": [{"kind": gap.kind, "subject": gap.subject, "missing": gap.missing,
                      "text": gap.text} for gap in standing.gaps]}


def outlook_record(ahead: Outlook | Forecast) -> dict:
    """The stored forecast: the fall date and the sentence (the scorecard shows it)."""
    return {"meets_now": ahead.meets_now, "sentence": ahead.sentence,
            "falls_below_on": _iso(ahead.falls_below_on),
            "within_horizon": ahead.within_horizon}


def explanation_record(found: Gaps, ahead: Forecast) -> dict:
    """What the readiness page shows beyond the gaps and the sentence, as codes, numbers and
    ids: the staff behind each gap, the renewals and newcomers keeping the tier takes, and
    each horizon's scores with who expires or runs out of time by then. Each list of
    people keeps its first NAMED ids and how many it has (a gap at a 3,000-person partner
    would otherwise store 3,000 ids, and the page names 8)."""
    def people(user_ids, count: int) -> dict:
        return {"user_ids": list(user_ids[:NAMED]), "people": count}

    def standing(kept: TierStanding) -> list[dict]:
        # In the order of the stored gaps, written with them.
        return [people(gap.user_ids, gap.people) for gap in kept.gaps]

    def scenario(kept: Scenario) -> dict:
        return {"total": kept.total, "health": kept.health, "meets": kept.meets}

    def horizon(kept: Horizon) -> dict:
        expiring = sorted({certificate.user_id for certificate in kept.expiring})
        # Its moment is computed_at plus its days.
        return {"days": kept.days, "nobody_renews": scenario(kept.nobody_renews),
                "window_renews": scenario(kept.window_renews),
                "expiring": people(expiring, len(expiring)),
                "newcomers": people(kept.newcomers, len(kept.newcomers))}

    return {
        "gaps": {"current": standing(found.current),
                 "next": standing(found.next) if found.next else None},
        "renewals_needed": [{"program": need.rule.program,
                             "job_roles": list(need.rule.job_roles), "needed": need.needed,
                             **people(need.expiring, len(need.expiring))}
                            for need in ahead.renewals_needed],
        "renewals_by": _iso(ahead.renewals_by),
        "finishing_needed": [{"track": need.track, "count": need.count,
                              "first_by": _iso(need.first_by),
                              **people(need.user_ids, len(need.user_ids))}
                             for need in ahead.finishing_needed],
        "horizons": [horizon(kept) for kept in ahead.horizons],
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def _insert():
    """INSERT ... ON CONFLICT for the session's database (both speak it the same way)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert


def _upsert(records: list[dict]) -> None:
    """One statement for all rows, replacing each organisation's previous score in place:
    no ORM objects (a full recompute writes thousands), and concurrent recomputes of the
    same organisation cannot collide on the unique key."""
    db.session.flush()  # the statement bypasses the unit of work; let pending ORM work in
    statement = _insert()(ReadinessScore)
    columns = [key for key in records[0] if key != "organisation_id"]
    statement = statement.on_conflict_do_update(
        index_elements=[ReadinessScore.organisation_id],
        set_={key: statement.excluded[key] for key in columns})
    for start in range(0, len(records), 1000):
        db.session.execute(statement, records[start:start + 1000])
    # Scores loaded earlier in this session must not shadow the new rows.
    for instance in [obj for obj in db.session.identity_map.values()
                     if isinstance(obj, ReadinessScore)]:
        db.session.expire(instance)


# --- jobs ----------------------------------------------------------------------------------

def recompute_pending() -> int:
    """The coalesced job: score every pending organisation in one gather."""
    return _recompute_clearing(everyone=False)


def recompute_everyone() -> int:
    """Score every organisation (after a rubric change, and hourly from the periodic job)."""
    changed = _recompute_clearing(everyone=True)
    settings.put(EVERYONE_SETTING, clock.now().isoformat())
    return changed


def _recompute_clearing(*, everyone: bool) -> int:
    """Recompute, then remove the pending rows read before gathering, and only if they
    still say what was read. A row is committed with the change that marked it, so facts
    gathered after reading it include that change; an event marking the organisation again
    meanwhile moves `since`, and the row stays for the job that event queued."""
    pending = db.session.execute(select(ReadinessPending.organisation_id,
                                        ReadinessPending.since)).all()
    if not pending and not everyone:
        return 0
    # Past a few thousand, one gather of everyone is cheaper than a list of ids (and SQLite
    # limits how many parameters a statement may have).
    ids = None if everyone or len(pending) > MANY_PENDING else [row[0] for row in pending]
    changed = recompute(ids)
    for start in range(0, len(pending), MANY_PENDING):
        db.session.execute(delete(ReadinessPending).where(
            tuple_(ReadinessPending.organisation_id, ReadinessPending.since)
            .in_([tuple(row) for row in pending[start:start + MANY_PENDING]])))
    return changed


def recompute_due() -> int:
    """The periodic job: everyone once an hour, and in between what is left pending."""
    last = settings.get(EVERYONE_SETTING)
    if last is None or clock.now() - datetime.fromisoformat(last) >= EVERYONE_EVERY:
        return recompute_everyone()
    return recompute_pending()


def mark_pending(organisation_ids) -> None:
    """Note that these organisations' scores are out of date and queue the recompute.

    One upsert per organisation per transaction (a burst of 20 completions at one partner
    is one statement) and one job per commit (jobs.enqueue drops the duplicates)."""
    session = db.session()
    if not session.in_transaction():
        session.begin()
    transaction = session.get_transaction()
    marked = session.info.get(_MARKED)
    if marked is None or marked[0] is not transaction:
        marked = session.info[_MARKED] = (transaction, set())
    fresh = sorted({int(i) for i in organisation_ids if i is not None} - marked[1])
    if fresh:
        now = clock.now()
        statement = _insert()(ReadinessPending)
        statement = statement.on_conflict_do_update(
            index_elements=[ReadinessPending.organisation_id],
            set_={"since": statement.excluded.since})
        db.session.execute(statement, [{"organisation_id": organisation_id, "since": now}
                                       for organisation_id in fresh])
        marked[1].update(fresh)
    jobs.enqueue(recompute_pending)


# --- reading -------------------------------------------------------------------------------

def current(organisation_id: int) -> ReadinessScore | None:
    """The stored score of one organisation, or None before its first recompute."""
    return db.session.scalar(select(ReadinessScore)
                             .where(ReadinessScore.organisation_id == organisation_id))


def rules() -> tuple[ReadinessRubric, Rubric, TierRules] | None:
    """The rubric row in force and what it says; None before content gave one."""
    row = sync.latest()
    if row is None:
        return None
    rubric, tiers = sync.rules_from_body(row.body)
    return row, rubric, tiers


def explained(organisation_id: int) -> dict | None:
    """One organisation's readiness as the page shows it: the score, the gaps with the staff
    behind them and the whole forecast (horizons, renewals and tracks needed).

    Read from the stored row, whatever the partner's size: the recompute stores the
    explanation with the score (events queue it; the hourly job catches time passing). A
    partner without a stored row, or with one stored before explanations were (until the
    next recompute fills it), is worked out now from its facts with the rubric in force,
    writing nothing; `stored` then says whether the stored row agrees on the total. None
    before content gave a rubric.
    """
    row = db.session.scalar(select(ReadinessScore)
                            .where(ReadinessScore.organisation_id == organisation_id))
    if row is not None and row.explanation is not None:
        values = {column: getattr(row, column) for column in _SHOWN}
        return _shown(values, row.rubric, gathering.names(), stored=True)
    rubric_row = sync.latest()
    if rubric_row is None:
        return None
    at = clock.now()
    rubric, tiers = sync.rules_from_body(rubric_row.body)
    gathered = gathering.gather(at, tiers, [organisation_id])
    facts = gathered.facts.get(organisation_id)
    if facts is None:
        return None
    names = gathering.names()
    values = record(facts, rubric, tiers, at, names=names,
                    organisation=gathered.organisation_names[organisation_id],
                    rubric_row=rubric_row)
    return _shown(values, rubric_row, names,
                  stored=row is not None and abs(row.total - values["total"]) < 0.05)


# The stored row's columns the page shows (the explanation is merged in by _shown).
_SHOWN = ("organisation_id", "rubric_id", "computed_at", "total", "health", "tier",
          "meets_tier", "falls_below_on", "rubric_version", "rubric_hash", "tier_rules_hash",
          "components", "gaps", "forecast", "explanation")


def _shown(values: dict, rubric_row: ReadinessRubric, names: Names, *, stored: bool) -> dict:
    """A score row's values in the shape the page reads: each gap with its people, the
    forecast with its needs (named for display) and horizons, moments as datetimes."""
    explanation = values["explanation"]

    def standing(kept: dict | None, people: list[dict] | None) -> dict | None:
        if kept is None:
            return None
        return {**kept, "gaps": [{**gap, **named}
                                 for gap, named in zip(kept["gaps"], people, strict=True)]}

    forecast = values["forecast"]
    return {
        **values, "rubric": rubric_row, "stored": stored,
        "gaps": {"current": standing(values["gaps"]["current"], explanation["gaps"]["current"]),
                 "next": standing(values["gaps"]["next"], explanation["gaps"]["next"])},
        "forecast": {
            **forecast, "falls_below_on": _moment(forecast["falls_below_on"]),
            "renewals_needed": [{**need, "label": holders_label(need["program"],
                                                                need["job_roles"], names)}
                                for need in explanation["renewals_needed"]],
            "renewals_by": _moment(explanation["renewals_by"]),
            "finishing_needed": [{**need, "label": names.track(need["track"]),
                                  "first_by": _moment(need["first_by"])}
                                 for need in explanation["finishing_needed"]],
            "horizons": [{**horizon,
                          "at": values["computed_at"] + timedelta(days=horizon["days"])}
                         for horizon in explanation["horizons"]]},
        "names": names,
    }
