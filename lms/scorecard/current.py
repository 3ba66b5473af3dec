"""The stored current scorecards: written by the recompute, read by the pages and exports.

Scoring every partner on every view cost seconds at a few thousand partners (the
compliance checkpoint alone reads every person's track completions). The recompute that
already runs (hourly for everyone, after imports and readiness changes for the partners
concerned) now keeps each partner's whole scorecard, checkpoints and flags included, and
the table pages, sorts, filters and searches over those rows in SQL.

Explicit arguments only; flushes, never commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, case, delete, exists, func, or_, select, tuple_
from sqlalchemy.orm import aliased

from lms.accounts.models import Organisation
from lms.core.upsert import insert_new, insert_or_replace
from lms.extensions import db
from lms.scorecard import table as shown
from lms.scorecard.models import CurrentFlag, CurrentMetric, CurrentScorecard, CurrentSummary
from lms.scorecard.scoring import FLAG_KINDS

SORTS = ("partner", "score", "coverage", "flags")
EXPORT_BATCH = 500  # rows fetched at a time while an export streams


@dataclass(frozen=True)
class Filters:
    """What the table is narrowed to; empty fields narrow nothing."""

    tier: str | None = None
    region: str | None = None
    partner_type: str | None = None
    health: str | None = None
    flag: str | None = None
    q: str | None = None  # part of a partner's name, or its ID

    def query(self) -> dict[str, str]:
        """The filters that are set, as request parameters."""
        return {key: value for key, value in vars(self).items() if value}


def store(cards: list[dict], now: datetime, organisation_ids: Iterable[int] | None) -> None:
    """Keep the freshly computed `cards`; forget partners of the recomputed set (None:
    everyone) that are no longer scored."""
    insert_or_replace(CurrentScorecard, [{
        "organisation_id": card["organisation"]["id"],
        "name_key": card["organisation"]["name"].lower(),
        "tier": card["organisation"]["tier"], "region": card["organisation"]["region"],
        "partner_type": card["organisation"]["partner_type"], "health": card["health"],
        "score": card["score"], "coverage": card["coverage"], "flag_count": len(card["flags"]),
        "gap_count": len(card["gaps"]),
        "computed_at": now, "record": card, "table_row": shown.compact(card)}
        for card in cards], ["organisation_id"])
    insert_or_replace(CurrentMetric, [
        {"organisation_id": card["organisation"]["id"], "metric": metric["code"],
         "value": None if metric["status"] == "missing" else metric["value"]}
        for card in cards for metric in card["metrics"]], ["organisation_id", "metric"])
    insert_or_replace(CurrentFlag, [
        {"organisation_id": card["organisation"]["id"], "kind": kind,
         "raised": sum(1 for flag in card["flags"] if flag["kind"] == kind)}
        for card in cards for kind in FLAG_KINDS], ["organisation_id", "kind"])
    scored = {card["organisation"]["id"] for card in cards}
    if organisation_ids is None:
        # Everyone was scored: a partner with a row that was not scored is inactive now.
        gone = select(Organisation.id).where(Organisation.status == "inactive")
    else:
        gone = sorted(set(organisation_ids) - scored)
    for model in (CurrentScorecard, CurrentMetric, CurrentFlag):
        if organisation_ids is None or gone:
            db.session.execute(delete(model).where(model.organisation_id.in_(gone)))
    codes = {metric["code"] for card in cards[:1] for metric in card["metrics"]}
    if organisation_ids is None and codes:
        # Metrics the definitions no longer have: nothing to sort by any more.
        db.session.execute(delete(CurrentMetric).where(CurrentMetric.metric.not_in(codes)))
    db.session.flush()
    summarise()


# --- reading ---------------------------------------------------------------------------------

def _scored(column=CurrentScorecard.record) -> Select:
    """Stored scorecards of partners still scored (one deactivated since the last
    recompute drops out at once, as it did when every view scored everyone): their records,
    or another column."""
    return (select(column)
            .join(Organisation, Organisation.id == CurrentScorecard.organisation_id)
            .where(Organisation.status != "inactive"))


def _narrowed(statement: Select, filters: Filters) -> Select:
    card = CurrentScorecard
    for column in ("tier", "region", "partner_type", "health"):
        if getattr(filters, column):
            statement = statement.where(getattr(card, column) == getattr(filters, column))
    if filters.flag:
        statement = statement.where(exists().where(
            CurrentFlag.organisation_id == card.organisation_id,
            CurrentFlag.kind == filters.flag, CurrentFlag.raised > 0))
    if filters.q:
        text = filters.q.strip()
        named = card.name_key.contains(text.lower(), autoescape=True)
        # Digits may also be a partner's ID (ASCII only: int() refuses "²").
        is_id = re.fullmatch(r"[0-9]{1,9}", text)
        statement = statement.where(
            or_(named, card.organisation_id == int(text)) if is_id else named)
    return statement


def table(filters: Filters, sort: str = "partner", descending: bool = False, *,
          rows: bool = False) -> Select:
    """The scorecards in the table's order (whole records; with `rows`, the parts the
    table shows): missing values last whichever the direction, ties by name. `sort` is
    one of SORTS or a metric code."""
    card = CurrentScorecard
    by_name = (card.name_key, card.organisation_id)
    statement = _narrowed(_scored(card.table_row if rows else card.record), filters)
    if sort == "partner":
        return statement.order_by(*((card.name_key.desc(), card.organisation_id.desc())
                                    if descending else by_name))
    if sort in ("score", "coverage", "flags"):
        column = {"score": card.score, "coverage": card.coverage,
                  "flags": card.flag_count}[sort]
    else:
        metric = aliased(CurrentMetric)
        statement = statement.outerjoin(metric, and_(
            metric.organisation_id == card.organisation_id, metric.metric == sort))
        column = metric.value
    ordered = column.desc() if descending else column.asc()
    return statement.order_by(ordered.nulls_last(), *by_name)


HEALTHS = ("green", "yellow", "red", "unknown")


def recounted() -> dict:
    """The summary's figures counted now: one aggregate over every partner (what the
    writes that keep the summary run, and the pages before the first of them)."""
    card = CurrentScorecard
    rows = db.session.execute(
        select(card.health, func.count(Organisation.id),
               func.sum(case((card.flag_count > 0, 1), else_=0)), func.max(card.computed_at),
               func.sum(case((card.gap_count > 0, 1), else_=0)))
        .select_from(Organisation)
        .outerjoin(card, card.organisation_id == Organisation.id)
        .where(Organisation.status != "inactive")
        .group_by(card.health)).all()
    counts = {row[0]: row[1] for row in rows if row[0] is not None}
    return {**{health: counts.get(health, 0) for health in HEALTHS},
            "flagged": sum(int(row[2] or 0) for row in rows),
            "gapped": sum(int(row[4] or 0) for row in rows),
            "unscored": sum(row[1] for row in rows if row[0] is None),
            "computed_at": max((row[3] for row in rows if row[3] is not None), default=None)}


def summarise() -> None:
    """Recount the tiles' summary (CurrentSummary) after a write that changes it.

    The row is locked first: two transactions recounting at once (a recompute, a partner
    deactivated) then run one after the other, and the second counts what the first
    committed, so the summary never keeps a count that misses either write.
    """
    row = db.session.scalar(select(CurrentSummary).with_for_update())
    if row is None:
        insert_new(CurrentSummary, {"id": 1}, ["id"])
        row = db.session.scalar(select(CurrentSummary).with_for_update())
    for name, value in recounted().items():
        setattr(row, name, value)
    db.session.flush()


def tiles() -> dict:
    """Every scored partner by health, how many have flags or gaps, and partners not
    scored yet (new since the last recompute): the summary the writes keep (one row)."""
    row = db.session.scalar(select(CurrentSummary))
    found = recounted() if row is None else {  # None: nothing has written it yet
        name: getattr(row, name) for name in (*HEALTHS, "flagged", "gapped", "unscored",
                                              "computed_at")}
    counts = {health: found[health] for health in HEALTHS if found[health]}
    return {"counts": counts, "flagged": found["flagged"], "gapped": found["gapped"],
            "scored": sum(counts.values()), "unscored": found["unscored"],
            "computed_at": found["computed_at"]}


def total(filters: Filters, summary: dict) -> int | None:
    """How many rows `table(filters)` has, when the tiles' summary already says (no
    filter, or only a health): None when it has to be counted."""
    narrowing = filters.query()
    if not narrowing:
        return summary["scored"]
    if set(narrowing) == {"health"}:
        return summary["counts"].get(filters.health, 0)
    return None


def after(position: tuple[str, int] | None, limit: int) -> tuple[list[dict], tuple | None]:
    """Up to `limit` stored scorecards by name, those after `position` (a name key and an
    organisation ID, from the previous call); and the position to ask for next, or None
    after the last. A keyset read: the thousandth page costs what the first does."""
    card = CurrentScorecard
    statement = _scored().add_columns(card.name_key, card.organisation_id)
    if position is not None:
        statement = statement.where(
            tuple_(card.name_key, card.organisation_id) > tuple_(*position))
    rows = db.session.execute(
        statement.order_by(card.name_key, card.organisation_id).limit(limit + 1)).all()
    last = rows[limit - 1] if len(rows) > limit else None
    return ([row.record for row in rows[:limit]],
            (last.name_key, last.organisation_id) if last else None)


def stream(filters: Filters) -> Iterator[dict]:
    """Every stored scorecard passing `filters`, by name, fetched in batches."""
    yield from streamed(table(filters))


def streamed(statement: Select) -> Iterator:
    """The first column of `statement`'s rows, from a server-side cursor whose batches
    grow (1, 5, 25, ... up to EXPORT_BATCH rows): the first row, and with it the first
    line of an export, comes as soon as the query starts instead of after a whole batch
    of scorecards has been read and parsed. (Core execution on the session's connection:
    the ORM's own `yield_per` fetches fixed batches.)"""
    result = db.session.connection().execute(statement.execution_options(
        stream_results=True, max_row_buffer=EXPORT_BATCH))
    try:
        for row in result:
            yield row[0]
    finally:
        result.close()


def card(organisation_id: int) -> dict | None:
    """One partner's stored scorecard, or None before the recompute first scored it."""
    return db.session.scalar(_scored().where(
        CurrentScorecard.organisation_id == organisation_id))
