"""The few places where speed is bought by stepping around the usual machinery.

Everything else in the app goes through the ORM session and its unit of work. Two paths
are hot enough that measurements showed the machinery itself to be a large share of their
cost, and they use what is here instead:

- the public certificate lookup (lms.certifications.verification), the hottest request
  there is (QR scans, machines checking certificates in bulk): `quick_read` and
  `first_row` skip the pool checkout, BEGIN/ROLLBACK and SQLAlchemy's result layer, and on
  PostgreSQL run the SELECT as a prepared statement; `unsynchronised_commit` spares its
  rate-limit counter the wait for the write-ahead log;
- the signed-in person behind every page's cookie (lms.accounts.sessions) and the learner
  pages' progress reads (lms.catalog.progress), paid on every request a learner makes:
  `quick_read`, `all_rows` and `attach_loaded`, which gives the session the person read
  that way without a second query;
- a full readiness recompute (lms.readiness.service), which builds about a million
  short-lived objects: `without_cycle_collection` pauses Python's cycle collector meanwhile.

Each helper says what it gives up. Nothing here knows about a domain; the domains say why
they use it. Benchmarks: benchmarks/verification_throughput.py and readiness_recompute.py.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import select
import threading
import weakref
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC

from psycopg import errors
from psycopg.adapt import PyFormat, Transformer
from psycopg.pq import ExecStatus
from sqlalchemy import event, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, make_transient_to_detached, scoped_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import Select

_reader = threading.local()


@contextmanager
def quick_read() -> Iterator[Connection]:
    """A connection for reads outside the unit of work: autocommit, kept per thread.

    No pool checkout and no BEGIN and ROLLBACK round trips around the reads, so PostgreSQL
    also keeps the prepared statements `first_row` and `all_rows` send (psycopg forgets
    them at every ROLLBACK). It sees only committed rows (the tests swap it for the
    session's connection). The connection is detached from the pool: a thread holding it
    takes no pool slot from the unit of work (twenty threads, each with both, once
    exhausted the pool), and it is closed with its thread. A connection that broke is
    dropped and the next read opens another.
    """
    from lms.extensions import db  # extensions imports lms.core.db, which must not import us

    engine = db.engine
    connections = _reader.__dict__.setdefault("connections", {})
    connection = connections.get(engine)
    if connection is None or connection.closed or connection.invalidated:
        connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        connection.detach()
        connections[engine] = connection
        if engine.dialect.name == "postgresql":
            _readers.add(connection.connection.dbapi_connection)
    try:
        yield connection
    except Exception:
        connections.pop(engine, None)
        connection.close()
        raise


@contextmanager
def read_connection(session) -> Iterator[Connection]:
    """Where a read that must see the session's own work goes: the session's connection
    once its unit of work has begun or holds changes (flushed first), else a quick read.

    Before the unit of work begins there is nothing of this request's to see, and a quick
    read sees what a new transaction would; a page that only reads never begins one (no
    pool checkout, no BEGIN and ROLLBACK).
    """
    if isinstance(session, scoped_session):
        session = session()
    if session.new or session.dirty or session.deleted:
        session.flush()
    if session.info.get(_DATABASE_TRANSACTION):
        yield session.connection()
        return
    with quick_read() as connection:
        yield connection


# Whether a session's unit of work holds a database transaction: `in_transaction()` is
# already true once an object is added (as `attach_loaded` does), before any SQL is sent.
_DATABASE_TRANSACTION = "fastpath.database_transaction"


@event.listens_for(Session, "after_begin")
def _database_transaction_begun(session, transaction, connection) -> None:
    session.info[_DATABASE_TRANSACTION] = True


@event.listens_for(Session, "after_transaction_end")
def _database_transaction_ended(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_DATABASE_TRANSACTION, None)


def first_row(connection: Connection, statement: Select, parameters: dict):
    """The first row of a SELECT (or None), as a named tuple with the statement's column keys.

    On PostgreSQL the compiled SQL runs as a prepared statement straight through libpq
    (`_run_prepared`), so neither SQLAlchemy's result layer nor psycopg's cursor machinery
    is paid, and the server plans the query once per connection (on a quick read's
    connection; elsewhere the statement is sent unnamed); psycopg's cursor alone was about
    a sixth of a learner page's CPU. What is given up: column types' result processing. Values are
    loaded by psycopg's own loaders; timestamps are moved to UTC here as the app's
    UTCDateTime would. A statement whose columns need other processing (JSON on SQLite,
    enums, custom types) must not come this way. Elsewhere, plain Core.
    """
    if connection.dialect.name != "postgresql":
        return connection.execute(statement, parameters).first()
    (rows,) = _run_prepared(connection, [(statement, parameters)])
    return rows[0] if rows else None


def all_rows(connection: Connection, statement: Select, parameters: dict) -> list:
    """Every row of a SELECT, each as `first_row` gives one (same caveats)."""
    if connection.dialect.name != "postgresql":
        return connection.execute(statement, parameters).all()
    (rows,) = _run_prepared(connection, [(statement, parameters)])
    return rows


def rows_together(connection: Connection, queries: list[tuple[Select, dict]]) -> list[list]:
    """Every row of each of several SELECTs, as `all_rows` gives them, in one round trip.

    On PostgreSQL the statements go out in one libpq pipeline: the server runs
    them back to back and answers once, instead of a wait for each. Only for reads that do
    not depend on one another's results (a later one may look up by the same key instead).
    """
    if connection.dialect.name != "postgresql":
        return [connection.execute(statement, parameters).all()
                for statement, parameters in queries]
    return _run_prepared(connection, queries)


@dataclass(frozen=True)
class _Prepared:
    """A statement compiled once for libpq: its SQL with $n placeholders, the parameter
    names in placeholder order, the values the statement itself fixes, its row type."""

    name: bytes
    sql: bytes
    sql_text: str  # what statement listeners see
    parameter_names: tuple[str, ...]
    constants: dict
    row: type


# The psycopg connections `quick_read` made: only these keep the statements prepared by
# `_run_prepared`. psycopg sends DEALLOCATE ALL on a connection where it prepared statements
# of its own when it sees a ROLLBACK or a DROP, which the unit of work's connections see;
# these run nothing but quick reads, in autocommit.
_readers: weakref.WeakSet = weakref.WeakSet()
_TIMESTAMPTZ_OID = 1184
_TEXT = PyFormat.TEXT  # parameters as text: the server types them from the SQL
_statement_numbers = itertools.count(1)
# psycopg connection -> names of the statements prepared on it (a connection's prepared
# statements live as long as it does).
_prepared_on: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _run_prepared(connection: Connection, queries: list[tuple[Select, dict]]) -> list[list]:
    """The rows of each query, run through libpq, in one round trip.

    psycopg's cursor machinery (preparing, adapting and fetching, in Python) cost more
    than the work the server does for these small reads; libpq through psycopg's `pq`
    module and psycopg's own (compiled) adapters do the same for a fraction. On a quick
    read's connection the statements are prepared once, under names of their own (psycopg's
    prepared statements are untouched); on the unit of work's, they are sent unnamed.
    """
    dbapi_connection = connection.connection.dbapi_connection
    pgconn = dbapi_connection.pgconn
    # psycopg's adapters for this connection (how parameters are written and columns read,
    # in its encoding and time zone). Made per call: kept beside the connection, it would
    # hold the connection, which is closed when the last reference to it goes.
    transformer = Transformer(dbapi_connection)
    prepared_here = _prepared_on.setdefault(dbapi_connection, set()) \
        if dbapi_connection in _readers else None
    runs = []
    for statement, parameters in queries:
        prepared = _compiled(statement)
        values = [parameters[name] if name in parameters else prepared.constants[name]
                  for name in prepared.parameter_names]
        if connection.dispatch.before_cursor_execute:
            # What listens to the engine's statements (the tests' statement counts,
            # tracing) sees these too, though they do not go through SQLAlchemy.
            connection.dispatch.before_cursor_execute(
                connection, None, prepared.sql_text, dict(zip(prepared.parameter_names,
                                                              values, strict=True)),
                None, False)
        if prepared_here is not None and prepared.name not in prepared_here:
            _check(pgconn.prepare(prepared.name, prepared.sql), dbapi_connection)
            prepared_here.add(prepared.name)
        runs.append((prepared, transformer.dump_sequence(values, [_TEXT] * len(values))))
    named = prepared_here is not None
    if len(runs) == 1:
        prepared, dumped = runs[0]
        result = pgconn.exec_prepared(prepared.name, dumped) if named \
            else pgconn.exec_params(prepared.sql, dumped)
        results = [_check(result, dbapi_connection)]
    else:
        results = _pipelined(pgconn, runs, named, dbapi_connection)
    return [_rows(transformer, result, prepared) for (prepared, _), result in
            zip(runs, results, strict=True)]


def _pipelined(pgconn, runs: list, named: bool, dbapi_connection) -> list:
    """Send every statement, then one Sync, and collect each one's result."""
    pgconn.enter_pipeline_mode()
    try:
        for prepared, dumped in runs:
            if named:
                pgconn.send_query_prepared(prepared.name, dumped)
            else:
                pgconn.send_query_params(prepared.sql, dumped)
        pgconn.pipeline_sync()
        while pgconn.flush():  # the connection is non-blocking: send everything queued
            select.select([], [pgconn.socket], [])
        # Each statement's result, then a null one; then the Sync's. All are read before
        # leaving pipeline mode, even after an error. A result missing where one is due
        # means the connection went: libpq would answer null from then on.
        results = []
        for _ in runs:
            results.append(_next_result(pgconn))
            if pgconn.get_result() is not None:
                raise errors.InternalError("a statement in a pipeline gave two results")
        if _next_result(pgconn).status != ExecStatus.PIPELINE_SYNC:
            raise errors.InternalError("a pipeline did not end with its Sync")
    except BaseException:
        # With results left unread, leaving pipeline mode fails too: the first error is
        # the one raised (and a quick read drops its connection).
        with contextlib.suppress(Exception):
            pgconn.exit_pipeline_mode()
        raise
    pgconn.exit_pipeline_mode()
    failed = next((result for result in results
                   if result.status != ExecStatus.TUPLES_OK), None)
    if failed is not None:
        _check(failed, dbapi_connection)
    return results


def _next_result(pgconn):
    result = pgconn.get_result()
    if result is None:
        raise errors.OperationalError(
            pgconn.get_error_message() or "the connection ended in the middle of a read")
    return result


def _check(result, dbapi_connection):
    if result.status not in (ExecStatus.TUPLES_OK, ExecStatus.COMMAND_OK):
        raise errors.error_from_result(result, encoding=dbapi_connection.info.encoding)
    return result


def _rows(transformer, result, prepared: _Prepared) -> list:
    transformer.set_pgresult(result)
    moved = [column for column in range(result.nfields)
             if result.ftype(column) == _TIMESTAMPTZ_OID]
    rows = transformer.load_rows(0, result.ntuples, tuple)
    if moved:
        rows = [_to_utc(values, moved) for values in rows]
    return [prepared.row._make(values) for values in rows]


def _to_utc(values: tuple, columns: list[int]) -> list:
    values = list(values)
    for column in columns:
        if values[column] is not None:
            values[column] = values[column].astimezone(UTC)
    return values


@functools.cache
def _compiled(statement: Select) -> _Prepared:
    """A statement built once at import, compiled for libpq (cached)."""
    from sqlalchemy.dialects.postgresql.psycopg import dialect

    compiled = statement.compile(dialect=dialect(paramstyle="numeric_dollar"))
    fixed = compiled.construct_params(_check=False)
    names = tuple(compiled.positiontup or ())
    required = {bind.key for bind in compiled.binds.values() if bind.required}
    sql = str(compiled)
    return _Prepared(
        name=f"lms_fastpath_{next(_statement_numbers)}".encode(), sql=sql.encode(),
        sql_text=sql, parameter_names=names,
        constants={name: fixed[name] for name in names if name not in required},
        row=namedtuple("Row", [column.key for column in statement.selected_columns]))


def attach_loaded(session, entity: type, values: dict):
    """The `entity` whose column values (attribute key -> value) a quick read brought back,
    in `session` as if the session had loaded it: no SELECT, no change to flush.

    Attributes not given are expired (read on first use). If the session already holds
    that row's object, that object is returned and `values` are ignored. Relationships are
    set with `set_loaded`.
    """
    if isinstance(session, scoped_session):
        session = session()
    mapper, primary_key = _identity(entity)
    key = mapper.identity_key_from_primary_key([values[name] for name in primary_key])
    held = session.identity_map.get(key)
    if held is not None:
        return held
    instance = mapper.class_manager.new_instance()
    # What the ORM's own loader does with a row: the values go straight into the instance's
    # dict, with no attribute events and no history (set_committed_value, one attribute at
    # a time, costs twice as much on a path every request takes).
    instance.__dict__.update(values)
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


@functools.cache
def _identity(entity: type) -> tuple:
    """The mapper of `entity` and the attribute keys of its primary key (cached)."""
    mapper = sa_inspect(entity)
    return mapper, tuple(mapper.get_property_by_column(column).key
                         for column in mapper.primary_key)


def set_loaded(instance, relationship: str, value) -> None:
    """Give a loaded instance a related object as if it had been loaded with it."""
    set_committed_value(instance, relationship, value)


def unsynchronised_commit(session) -> None:
    """This transaction's commit does not wait for the write-ahead log to reach disk.

    For rows whose loss in a crash costs nothing (a rate-limit counter): waiting for the
    flush on every public request would cost most of the endpoint's throughput. PostgreSQL
    only (SQLite has no such switch); the transaction stays atomic and ordered.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector for a block that allocates very many acyclic objects.

    Rows, facts and scores are freed by reference counting; the collector would walk all of
    them, and everything else the process holds, again and again (a quarter of a full
    readiness recompute's time in its benchmark). Cycles made meanwhile are collected
    after. It is switched back on, as it was, at the end; not for code that may block.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
