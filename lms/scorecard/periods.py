"""Review periods: closing one freezes every partner's scorecard as a snapshot, in one
transaction, with the metric-definition and rubric versions it was scored with.

A closed period is shown from its snapshots alone, so it reads exactly as it did however
the values, definitions or rubric change afterwards. Explicit arguments; flushes only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from sqlalchemy import Select, and_, delete, exists, func, insert, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from lms.core import clock, tallies
from lms.core.errors import Conflict, Invalid, NotFound
from lms.core.pages import Window, window
from lms.extensions import db
from lms.scorecard import current, service, table
from lms.scorecard.models import PeriodOverlap, ReviewPeriod, Snapshot

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --- the calendar (pure) -------------------------------------------------------------------

def period_for(day: date, kind: str = "quarter") -> tuple[str, date, date]:
    """(name, first day, last day) of the period containing `day`: "2026 Q4" or "Oct 2026"."""
    if kind == "month":
        starts = day.replace(day=1)
        name = f"{MONTHS[day.month - 1]} {day.year}"
        following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    else:
        quarter = (day.month - 1) // 3 + 1
        starts = date(day.year, 3 * quarter - 2, 1)
        name = f"{day.year} Q{quarter}"
        following = date(day.year + 1, 1, 1) if quarter == 4 \
            else date(day.year, 3 * quarter + 1, 1)
    return name, starts, following - timedelta(days=1)


def open_periods(today: date, kind: str, closed: set[str]) -> list[tuple[str, date, date]]:
    """The periods that can be closed now: the previous one (the usual case, closed after
    it ends) and the current one, unless already closed."""
    current = period_for(today, kind)
    previous = period_for(current[1] - timedelta(days=1), kind)
    return [period for period in (previous, current) if period[0] not in closed]


def closable(starts_on: date, today: date, kind: str) -> tuple[str, date, date]:
    """The period starting `starts_on` when it is one the page offers (the previous or the
    current period); Invalid naming those otherwise. Older periods can no longer be frozen
    as they were, so a snapshot of them now would misstate the past."""
    name, starts, ends = period_for(starts_on, kind)
    offered = open_periods(today, kind, set())
    if starts != starts_on or name not in {period[0] for period in offered}:
        choices = " or ".join(f"{n} (from {s.isoformat()})" for n, s, _ in offered)
        raise Invalid(f"{starts_on.isoformat()} does not start a period that can be closed "
                      f"now: choose {choices}.", field="period")
    return name, starts, ends


# --- closing -------------------------------------------------------------------------------

def close(starts_on: date, *, actor_id: int | None, now: datetime | None = None) -> ReviewPeriod:
    """Freeze every partner's scorecard for the period starting `starts_on`."""
    now = now or clock.now()
    definitions = service.definitions()
    name, starts, ends = closable(starts_on, now.date(), definitions.review_period)
    earlier = db.session.scalar(select(ReviewPeriod).where(
        ReviewPeriod.closed_at.is_not(None), ReviewPeriod.starts_on <= ends,
        ReviewPeriod.ends_on >= starts))
    if earlier is not None:
        raise Conflict(f"{earlier.name} is already closed (on {earlier.closed_at:%d %b %Y})"
                       f"{'' if earlier.name == name else f' and overlaps {name}'}.")
    cards = service.scorecards(now, using=definitions)
    period = ReviewPeriod(name=name, starts_on=starts, ends_on=ends, closed_at=now,
                          closed_by_id=actor_id, definition_version=definitions.version,
                          definition_hash=definitions.content_hash, partners=len(cards),
                          health_counts=dict(Counter(card["health"] for card in cards)))
    try:
        with db.session.begin_nested():  # someone closing it at the same moment wins
            db.session.add(period)
            db.session.flush()
    except IntegrityError:
        raise Conflict(f"{name} was closed by someone else just now.") from None
    rows = [{"period_id": period.id, "organisation_id": card["organisation"]["id"],
             "taken_at": now, "score": card["score"], "coverage": card["coverage"],
             "health": card["health"], "name_key": card["organisation"]["name"].lower(),
             "readiness_total": card["readiness"]["total"] if card["readiness"] else None,
             "rubric_version": card["readiness"]["rubric_version"] if card["readiness"] else None,
             "rubric_hash": card["readiness"]["rubric_hash"] if card["readiness"] else None,
             "record": card, "table_row": table.compact(card)} for card in cards]
    for start in range(0, len(rows), 1000):
        db.session.execute(insert(Snapshot), rows[start:start + 1000])
    _count_overlaps(period.id)
    period.average_score, period.average_readiness = _averages(period.id).get(
        period.id, (None, None))
    db.session.flush()
    return period


def _averages(period_id: int | None = None) -> dict[int, tuple[float | None, float | None]]:
    """Per period (or for one), the frozen scorecards' average score and readiness (None
    when none has one): how closing a period and `recount` both work them out."""
    statement = (select(Snapshot.period_id, func.avg(Snapshot.score),
                        func.avg(Snapshot.readiness_total)).group_by(Snapshot.period_id))
    if period_id is not None:
        statement = statement.where(Snapshot.period_id == period_id)
    return {found: (None if score is None else float(score),
                    None if readiness is None else float(readiness))
            for found, score, readiness in db.session.execute(statement)}


def _count_overlaps(period_id: int) -> None:
    """Partners this period shares with each period closed before it (PeriodOverlap)."""
    other = aliased(Snapshot)
    db.session.execute(insert(PeriodOverlap).from_select(
        ["period_id", "other_period_id", "partners"],
        select(Snapshot.period_id, other.period_id, func.count())
        .join(other, and_(other.organisation_id == Snapshot.organisation_id,
                          other.period_id < Snapshot.period_id))
        .where(Snapshot.period_id == period_id)
        .group_by(Snapshot.period_id, other.period_id)))


@tallies.summary("scorecard")
def rebuild_summaries() -> None:
    """The scorecard tiles' summary, and per closed period its partners per health and
    those it shares with earlier periods (`lms tallies rebuild`)."""
    current.summarise()
    recount()


def recount() -> None:
    """Rebuild every closed period's partners per health and the partners each shares
    with those before it, from the snapshots (which never change after closing: this is
    for periods that arrived another way)."""
    counts: dict[int, dict[str, int]] = {}
    for period_id, health, partners in db.session.execute(
            select(Snapshot.period_id, Snapshot.health, func.count())
            .group_by(Snapshot.period_id, Snapshot.health)):
        counts.setdefault(period_id, {})[health] = partners
    averages = _averages()
    db.session.execute(delete(PeriodOverlap))
    for period in db.session.scalars(select(ReviewPeriod).order_by(ReviewPeriod.id)):
        period.health_counts = counts.get(period.id, {})
        period.average_score, period.average_readiness = averages.get(period.id,
                                                                      (None, None))
        _count_overlaps(period.id)
    db.session.flush()


# --- reading -------------------------------------------------------------------------------

def closed() -> list[ReviewPeriod]:
    return list(db.session.scalars(select(ReviewPeriod).where(
        ReviewPeriod.closed_at.is_not(None)).order_by(ReviewPeriod.starts_on.desc())))


def get(period_id: int) -> ReviewPeriod:
    period = db.session.get(ReviewPeriod, period_id)
    if period is None or period.closed_at is None:
        raise NotFound("No such review period.")
    return period


def records(period_id: int, *, health: str | None = None,
            organisation_id: int | None = None) -> Select:
    """The frozen scorecards of a period (all, of one health, or one partner's), ordered by
    partner name as they were, to page through or stream."""
    statement = select(Snapshot.record).where(Snapshot.period_id == period_id)
    if health:
        statement = statement.where(Snapshot.health == health)
    if organisation_id is not None:
        statement = statement.where(Snapshot.organisation_id == organisation_id)
    return statement.order_by(Snapshot.name_key, Snapshot.organisation_id)


def shown_total(period: ReviewPeriod, *, health: str | None,
                organisation_id: int | None) -> int | None:
    """How many partners `records` gives when the period already says (all of them, or
    one health's); None when it has to be counted (one partner's: at most one row)."""
    if organisation_id is not None:
        return None
    return period.health_counts.get(health, 0) if health else period.partners


def stream(period_id: int) -> Iterator[dict]:
    """Every frozen scorecard of a period by name, fetched in growing batches (exports)."""
    yield from current.streamed(records(period_id))


def trends() -> list[dict]:
    """Per closed period, oldest first: average score and partners by health, as stored
    when it closed (one row per period, however many partners it froze)."""
    return [{"id": period.id, "name": period.name, "counts": period.health_counts,
             "partners": sum(period.health_counts.values()),
             "score": None if period.average_score is None else round(period.average_score, 1),
             "readiness": None if period.average_readiness is None
             else round(period.average_readiness, 1)}
            for period in db.session.scalars(
                select(ReviewPeriod).where(ReviewPeriod.closed_at.is_not(None),
                                           ReviewPeriod.partners > 0)
                .order_by(ReviewPeriod.starts_on))]


def shared(first: ReviewPeriod, second: ReviewPeriod) -> int:
    """How many partners two closed periods both froze (PeriodOverlap)."""
    if first.id == second.id:
        return first.partners
    return db.session.scalar(select(PeriodOverlap.partners).where(
        PeriodOverlap.period_id == max(first.id, second.id),
        PeriodOverlap.other_period_id == min(first.id, second.id))) or 0


def compare(first_id: int, second_id: int, *, page: int, per_page: int
            ) -> tuple[ReviewPeriod, ReviewPeriod, Window]:
    """Two closed periods side by side, a page of partners at a time: one row per partner
    found in either, by name (as the later period has it, else as the earlier had it)."""
    first, second = get(first_id), get(second_id)
    if first.starts_on > second.starts_on:
        first, second = second, first  # earlier on the left, whichever order was asked
    # The later period's partners, then those only the earlier one has (partners who left
    # between them): how many of those there are is known from the counts kept at
    # closing, and when there are none (the usual case) the rows are an index read of
    # the later period's snapshots by name, with no matching of the two periods at all.
    left = first.partners - shared(first, second)
    later = select(Snapshot.organisation_id, Snapshot.name_key).where(
        Snapshot.period_id == second.id)
    if left:
        other = aliased(Snapshot)
        gone = select(Snapshot.organisation_id, Snapshot.name_key).where(
            Snapshot.period_id == first.id,
            ~exists().where(other.period_id == second.id,
                            other.organisation_id == Snapshot.organisation_id))
        either = union_all(later, gone).subquery()
        partners = select(either.c.organisation_id, either.c.name_key).order_by(
            either.c.name_key, either.c.organisation_id)
    else:
        partners = later.order_by(Snapshot.name_key, Snapshot.organisation_id)
    shown = window(db.session, partners, page=page, per_page=per_page,
                   total=second.partners + left)
    ids = [row.organisation_id for row in shown.rows]
    # The parts of each scorecard a comparison shows (Snapshot.table_row), not whole records.
    found = {(period_id, organisation_id): row for period_id, organisation_id, row in
             db.session.execute(select(Snapshot.period_id, Snapshot.organisation_id,
                                       Snapshot.table_row)
                                .where(Snapshot.period_id.in_([first.id, second.id]),
                                       Snapshot.organisation_id.in_(ids)))} if ids else {}
    rows = []
    for organisation_id in ids:
        a, b = found.get((first.id, organisation_id)), found.get((second.id, organisation_id))
        rows.append({"name": (b or a)["organisation"]["name"], "a": a, "b": b,
                     "delta": round(b["score"] - a["score"], 1)
                     if a and b and a["score"] is not None and b["score"] is not None
                     else None,
                     "moved": moved(a, b) if a and b else None})
    return first, second, Window(rows, shown.total, shown.page, shown.pages, shown.per_page)


def moved(before: dict, after: dict) -> list[tuple[str, str, str]]:
    """(name, status before, status after) of each metric of `after` whose status differs
    from `before`'s, in `after`'s order (metrics only one of them has are left out)."""
    was = {metric["code"]: metric["status"] for metric in before["metrics"]}
    return [(metric["name"], was[metric["code"]], metric["status"])
            for metric in after["metrics"]
            if was.get(metric["code"]) and was[metric["code"]] != metric["status"]]
