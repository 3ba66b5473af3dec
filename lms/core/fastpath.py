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

import functools
import gc
import threading
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

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

    On PostgreSQL the compiled SQL goes to psycopg as a prepared statement, so SQLAlchemy
    builds no result metadata and the server plans the query once per connection; a fifth
    of the verification lookup's cost. What is given up: column types' result processing.
    Timestamps come back as the driver gives them, aware, and are moved to UTC here as the
    app's UTCDateTime would; a statement whose columns need other processing (JSON on
    SQLite, enums, custom types) must not come this way. Elsewhere, plain Core.
    """
    if connection.dialect.name != "postgresql":
        return connection.execute(statement, parameters).first()
    Row, cursor = _execute_prepared(connection, statement, parameters)
    values = cursor.fetchone()
    if values is None:
        return None
    return Row(*map(_as_utc, values))


def all_rows(connection: Connection, statement: Select, parameters: dict) -> list:
    """Every row of a SELECT, each as `first_row` gives one (same caveats)."""
    if connection.dialect.name != "postgresql":
        return connection.execute(statement, parameters).all()
    Row, cursor = _execute_prepared(connection, statement, parameters)
    return [Row(*map(_as_utc, values)) for values in cursor.fetchall()]


def rows_together(connection: Connection, queries: list[tuple[Select, dict]]) -> list[list]:
    """Every row of each of several SELECTs, as `all_rows` gives them, in one round trip.

    On PostgreSQL the prepared statements go out in one psycopg pipeline: the server runs
    them back to back and answers once, instead of a wait for each. Only for reads that do
    not depend on one another's results (a later one may look up by the same key instead).
    """
    if connection.dialect.name != "postgresql":
        return [connection.execute(statement, parameters).all()
                for statement, parameters in queries]
    with connection.connection.dbapi_connection.pipeline():
        sent = [_execute_prepared(connection, statement, parameters)
                for statement, parameters in queries]
    return [[Row(*map(_as_utc, values)) for values in cursor.fetchall()]
            for Row, cursor in sent]


def _execute_prepared(connection: Connection, statement: Select, parameters: dict):
    """(row type, psycopg cursor) of the statement run as a prepared statement."""
    sql, Row, constants = _prepared(statement)
    values = constants | parameters
    if connection.dispatch.before_cursor_execute:
        # What listens to the engine's statements (the tests' statement counts, tracing)
        # sees these too, though they do not go through SQLAlchemy's execution.
        connection.dispatch.before_cursor_execute(connection, None, sql, values, None, False)
    return Row, connection.connection.dbapi_connection.execute(sql, values, prepare=True)


def _as_utc(value):
    return value.astimezone(UTC) if isinstance(value, datetime) else value


@functools.cache
def _prepared(statement: Select):
    """The psycopg SQL of a statement built once at import, its row type and the values of
    the parameters the statement itself fixes (`Setting.key == "vendor_name"`) (cached)."""
    from sqlalchemy.dialects.postgresql.psycopg import dialect

    row = namedtuple("Row", [column.key for column in statement.selected_columns])
    compiled = statement.compile(dialect=dialect())
    constants = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
    return str(compiled), row, constants


def attach_loaded(session, entity: type, values: dict):
    """The `entity` whose column values (attribute key -> value) a quick read brought back,
    in `session` as if the session had loaded it: no SELECT, no change to flush.

    Attributes not given are expired (read on first use). If the session already holds
    that row's object, that object is returned and `values` are ignored. Relationships are
    set with `set_loaded`.
    """
    mapper = sa_inspect(entity)
    key = mapper.identity_key_from_primary_key(
        [values[mapper.get_property_by_column(column).key] for column in mapper.primary_key])
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
