"""The few places where speed is bought by stepping around the usual machinery.

Everything else in the app goes through the ORM session and its unit of work. Two paths
are hot enough that measurements showed the machinery itself to be a large share of their
cost, and they use what is here instead:

- the public certificate lookup (lms.certifications.verification), the hottest request
  there is (QR scans, machines checking certificates in bulk): `quick_read` and
  `first_row` skip the pool checkout, BEGIN/ROLLBACK and SQLAlchemy's result layer, and on
  PostgreSQL run the SELECT as a prepared statement; `unsynchronised_commit` spares its
  rate-limit counter the wait for the write-ahead log;
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

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

_reader = threading.local()


@contextmanager
def quick_read() -> Iterator[Connection]:
    """A connection for one read outside the unit of work: autocommit, kept per thread.

    No pool checkout and no BEGIN and ROLLBACK round trips around one SELECT. It sees only
    committed rows (the tests swap it for the session's connection). A connection that
    broke is dropped and the next read opens another.
    """
    from lms.extensions import db  # extensions imports lms.core.db, which must not import us

    engine = db.engine
    connections = _reader.__dict__.setdefault("connections", {})
    connection = connections.get(engine)
    if connection is None or connection.closed or connection.invalidated:
        connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        connections[engine] = connection
    try:
        yield connection
    except Exception:
        connections.pop(engine, None)
        connection.close()
        raise


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
    sql, Row = _prepared(statement)
    values = connection.connection.driver_connection.execute(
        sql, parameters, prepare=True).fetchone()
    if values is None:
        return None
    return Row(*(value.astimezone(UTC) if isinstance(value, datetime) else value
                 for value in values))


@functools.cache
def _prepared(statement: Select):
    """The psycopg SQL of a statement built once at import, and its row type (cached)."""
    from sqlalchemy.dialects.postgresql.psycopg import dialect

    row = namedtuple("Row", [column.key for column in statement.selected_columns])
    return str(statement.compile(dialect=dialect())), row


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
