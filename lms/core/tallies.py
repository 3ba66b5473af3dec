"""Tallies: counts kept by the writes that change them, so a page reads a few rows instead of
counting a table that grows with the platform.

A tally is a row of the `tally` table: what it counts (`name`), where (`scope`: 0 for the
whole platform, else the id of the thing it belongs to, e.g. a track) and which part (`key`,
e.g. a status, or a day for counts that time moves from one status to another). The
service that makes a change adds to the tallies it moves with `add`, in the same
transaction (the caller commits once), through an atomic INSERT ... ON CONFLICT DO UPDATE
so that concurrent writers add up instead of overwriting each other (they do wait for each
other's commit on a row they share, e.g. the people count: keep the transactions short).

Each tally's owner registers its recount (`@recount("name")`: a SELECT of scope, key and
count over the rows themselves). `rebuild` replaces the stored tallies with the recounts
(after a bulk load that bypassed the services, and in the migration that adds a tally);
`differences` compares them, which is what the tests check after each kind of write and
what `lms tallies check` reports.

Some summaries kept by the writes live in their own tables or columns instead (the
scorecard's one-row summary of its tiles, its closed periods' counts, each certificate's
holder): their owner registers how to rebuild them (`@summary("name")`), so that `lms
tallies rebuild` rebuilds every count the writes keep, tallies and summaries, without core
knowing the domains that keep them; and, where it can say cheaply, how many rows differ
(`check=`), which `lms tallies check` reports with the tallies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import click
from flask.cli import with_appcontext
from sqlalchemy import BigInteger, Integer, Select, String, delete, func, insert, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.functions import FunctionElement

from lms.core.upsert import insert_or_add
from lms.extensions import db

PLATFORM = 0  # the scope of a count over the whole platform


class Tally(db.Model):
    __tablename__ = "tally"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    scope: Mapped[int] = mapped_column(Integer, primary_key=True)
    # As long as the longest key there is: an outbox message's kind (its template's name).
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


# name -> a function returning SELECT scope, key, count over the counted rows
_RECOUNTS: dict[str, Callable[[], Select]] = {}


def recount(name: str):
    """Register the function whose SELECT (scope, key, count) recounts tally `name`."""
    def register(function: Callable[[], Select]) -> Callable[[], Select]:
        _RECOUNTS[name] = function
        return function
    return register


# name -> a function that rebuilds a summary kept in its own table, on the session
_SUMMARIES: dict[str, Callable[[], None]] = {}
# name -> a function counting where a summary differs from its rows (those that can say)
_SUMMARY_CHECKS: dict[str, Callable[[], int]] = {}


def summary(name: str, *, check: Callable[[], int] | None = None):
    """Register the function that rebuilds summary `name` (one the writes keep in its own
    table or columns, not as tallies) from the rows it summarises, on the session (the
    caller commits); and, if given, `check`: how many rows differ from them (0 if none)."""
    def register(function: Callable[[], None]) -> Callable[[], None]:
        _SUMMARIES[name] = function
        if check is not None:
            _SUMMARY_CHECKS[name] = check
        return function
    return register


def add(changes: Iterable[tuple[str, int, str, int]]) -> None:
    """Add each (name, scope, key, delta) to its tally, all in one statement."""
    totals: dict[tuple[str, int, str], int] = {}
    for name, scope, key, delta in changes:
        totals[name, scope, key] = totals.get((name, scope, key), 0) + delta
    rows = [{"name": name, "scope": scope, "key": key, "count": delta}
            for (name, scope, key), delta in totals.items() if delta]
    insert_or_add(Tally, rows, ["name", "scope", "key"], ["count"])


def add_selected(name: str, selected: Select) -> None:
    """Add to tally `name` what a SELECT of (scope, key, delta) finds, one row per scope and
    key, in one INSERT ... SELECT ... ON CONFLICT DO UPDATE: a write whose change to a count
    depends on rows the database holds (is this person staff, is the track assigned)."""
    found = selected.subquery()
    statement = _insert_tally().from_select(
        ["name", "scope", "key", "count"],
        select(literal(name, String()), *found.c).where(found.c[2] != 0))
    db.session.execute(statement.on_conflict_do_update(
        index_elements=["name", "scope", "key"],
        set_={"count": Tally.count + statement.excluded["count"]}))


def _insert_tally():
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(Tally)


def add_one(name: str, delta: int = 1, *, scope: int = PLATFORM, key: str = "") -> None:
    add([(name, scope, key, delta)])


def counts(name: str, scope: int = PLATFORM) -> dict[str, int]:
    """Key -> count of tally `name` in `scope`."""
    return dict(db.session.execute(select(Tally.key, Tally.count).where(
        Tally.name == name, Tally.scope == scope)).tuples().all())


def by_scope(name: str, key: str = "") -> dict[int, int]:
    """Scope -> count of tally `name` for one key (e.g. each track's assignments)."""
    return dict(db.session.execute(select(Tally.scope, Tally.count).where(
        Tally.name == name, Tally.key == key)).tuples().all())


def total(name: str, scope: int = PLATFORM) -> int:
    """The sum of tally `name` over its keys in `scope`."""
    return summed([name], scope=scope)


def summed(names: Iterable[str], *, scope: int = PLATFORM, key: str | None = None) -> int:
    """The sum of the tallies `names` in `scope`, over every key or only `key` (e.g. the
    outbox's messages of one kind in any of the statuses asked for)."""
    return int(db.session.scalar(select(func.coalesce(func.sum(Tally.count), 0)).where(
        Tally.name.in_(list(names)), Tally.scope == scope,
        *([Tally.key == key] if key is not None else []))) or 0)


# --- keys by day ----------------------------------------------------------------------------

def day_key(moment: datetime) -> str:
    """The key of a count kept by UTC day: ISO dates, so their order is the keys' order."""
    return moment.astimezone(UTC).date().isoformat()


class utc_day(FunctionElement):
    """SQL: the UTC day of a UTC datetime column as day_key writes it ('YYYY-MM-DD')."""

    type = String()
    inherit_cache = True
    name = "utc_day"


@compiles(utc_day)
def _utc_day_sqlite(element, compiler, **kw):  # SQLite keeps UTC datetimes as ISO text
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


# --- recounting ---------------------------------------------------------------------------

def names() -> list[str]:
    return sorted(_RECOUNTS)


def recounted(name: str) -> dict[tuple[int, str], int]:
    """(scope, key) -> count, counted from the rows themselves."""
    return {(scope, key): number for scope, key, number in db.session.execute(_RECOUNTS[name]())
            if number}


def stored(name: str) -> dict[tuple[int, str], int]:
    """(scope, key) -> count as the writes kept it (zeros left by decrements omitted)."""
    return {(scope, key): number for scope, key, number in db.session.execute(
        select(Tally.scope, Tally.key, Tally.count).where(Tally.name == name)) if number}


def differences(only: Iterable[str] | None = None) -> dict[str, dict]:
    """Each tally whose stored counts differ from a recount: name -> {(scope, key): (stored,
    recounted)} for the rows that differ. Empty when every tally is exact."""
    found = {}
    for name in only or names():
        kept, counted = stored(name), recounted(name)
        wrong = {where: (kept.get(where, 0), counted.get(where, 0))
                 for where in kept.keys() | counted.keys()
                 if kept.get(where, 0) != counted.get(where, 0)}
        if wrong:
            found[name] = wrong
    return found


def rebuild(only: Iterable[str] | None = None, *, connection=None) -> None:
    """Replace the stored tallies with recounts, each in one INSERT ... SELECT, on the
    session (it flushes; the caller commits) or on a migration's `connection`. Writes made
    meanwhile would be lost from the recount: run it when nothing else writes (after a bulk
    load, in a migration, in maintenance)."""
    target = connection if connection is not None else db.session
    for name in only or names():
        target.execute(delete(Tally).where(Tally.name == name))
        counted = _RECOUNTS[name]().subquery()
        target.execute(insert(Tally).from_select(
            ["name", "scope", "key", "count"],
            select(literal(name, String()), *counted.c).where(counted.c[2] != 0)))
    if connection is None:
        db.session.flush()


def summary_names() -> list[str]:
    return sorted(_SUMMARIES)


def rebuild_summaries(only: Iterable[str] | None = None) -> None:
    """Rebuild every registered summary (or those named) on the session; the caller commits."""
    for name in only or summary_names():
        _SUMMARIES[name]()
    db.session.flush()


@click.group("tallies")
def tallies_command() -> None:
    """Counts kept by the writes (tallies, and summaries in their own tables): check the
    tallies against a recount, or rebuild them all."""


@tallies_command.command("rebuild")
@click.argument("name", nargs=-1)
@with_appcontext
def rebuild_command(name: tuple[str, ...]) -> None:
    """Recount every tally and summary (or those NAMEd) from the rows themselves: after
    data arrived another way (a bulk load, a restored backup)."""
    unknown = set(name) - set(names()) - set(summary_names())
    if unknown:
        raise click.BadParameter(f"no tally or summary named {', '.join(sorted(unknown))}",
                                 param_hint="NAME")
    chosen_tallies = [each for each in name if each in _RECOUNTS] if name else names()
    chosen_summaries = [each for each in name if each in _SUMMARIES] if name else summary_names()
    if chosen_tallies:  # (an empty list would mean all of them to rebuild())
        rebuild(chosen_tallies)
    if chosen_summaries:
        rebuild_summaries(chosen_summaries)
    db.session.commit()
    click.echo(f"rebuilt {', '.join([*chosen_tallies, *chosen_summaries])}")


@tallies_command.command("check")
@with_appcontext
def check_command() -> None:
    """Compare every tally (and every summary that can say) with a recount; exit 1 if any
    differs."""
    wrong = differences()
    for name in names():
        click.echo(f"{name}: differs in {len(wrong[name])} rows" if name in wrong
                   else f"{name}: exact")
    for name in sorted(_SUMMARY_CHECKS):
        differing = _SUMMARY_CHECKS[name]()
        click.echo(f"{name}: differs in {differing} rows" if differing else f"{name}: exact")
        if differing:
            wrong[name] = differing
    if wrong:
        raise SystemExit(1)
