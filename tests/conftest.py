"""Test fixtures: one migrated database per run, a savepoint per test, a movable clock.

Set LMS_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run
the same suite on PostgreSQL; without it a SQLite file in a temporary folder is used.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import socket
from datetime import UTC, datetime

import flask_migrate
import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import Integer, create_engine, delete, event, func, make_url, select, text
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from lms import create_app
from lms.config import PROJECT_ROOT
from lms.core import clock, fastpath, tallies
from lms.extensions import db

CONTENT = PROJECT_ROOT / "content"


def test_database_url(folder) -> str:
    """The run's database: a SQLite file in `folder`, or LMS_TEST_DATABASE_URL.

    Under pytest-xdist every worker gets a PostgreSQL database of its own (`test_gw0`, ...,
    created when missing), since each worker migrates, commits and drops its schema.
    """
    url = os.environ.get("LMS_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{folder}/test.db"
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    worker_url = make_url(url).set(database=f"{make_url(url).database}_{worker}")
    _create_database_if_missing(make_url(url), worker_url.database)
    return worker_url.render_as_string(hide_password=False)


def _create_database_if_missing(server_url, name: str) -> None:
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


def reset_database() -> None:
    """Drop everything, including Alembic's version table, so `upgrade head` starts clean."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    else:
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": test_database_url(instance),
        "WTF_CSRF_ENABLED": False,
        "BASE_URL": "http://lms.test",
        "CONTENT_PATH": str(CONTENT),
        # Tests move the clock by days with one signed-in client; the session timeouts have
        # tests of their own (tests/accounts/test_sessions.py), which set them.
        "SESSION_IDLE_MINUTES": 10 * 365 * 24 * 60,
        "SESSION_MAX_HOURS": 10 * 365 * 24,
    })
    with app.app_context():
        reset_database()
        flask_migrate.upgrade()  # the suite runs on the migrated schema, not create_all()
        from lms.content import sync_all as sync_content
        from lms.core.jobs import commit

        sync_content(str(CONTENT))  # the shipped sample program is the baseline
        commit()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _isolated(request, app):
    """Each test runs inside a transaction that is rolled back; commits become savepoints.

    Sessions are scoped per app context, as in production: the test's own code and
    every request it makes get separate sessions on the one test connection.
    """
    if request.node.get_closest_marker("e2e"):
        yield
        return
    if request.node.get_closest_marker("committed"):
        request.getfixturevalue("committed_db")  # real commits, cleaned up afterwards
        yield
        return
    connection = db.engine.connect()
    outer = connection.begin()
    original = db.session
    db.session = scoped_session(
        sessionmaker(bind=connection, class_=Session, join_transaction_mode="create_savepoint"),
        scopefunc=_app_ctx_id,
    )
    original_quick_read = fastpath.quick_read
    # Quick reads use a connection of their own, which could not see the test's rows.
    fastpath.quick_read = lambda: contextlib.nullcontext(db.session.connection())
    try:
        with app.app_context():
            yield
            db.session.remove()
    finally:
        db.session = original
        fastpath.quick_read = original_quick_read
        outer.rollback()
        connection.close()
        clock.set_now(None)


@pytest.fixture
def committed_db(request, app):
    """For tests marked `committed`: work is really committed, so threads on their own
    connections see it; afterwards every row the test added is deleted again.

    Rows are told apart by primary key: a table's rows above its highest integer id before
    the test (or, for other keys, the keys it did not have) are the test's. Rows the test
    changed rather than added are not restored, so committed tests only add.
    """
    if not request.node.get_closest_marker("committed"):
        pytest.fail("committed_db is for tests marked @pytest.mark.committed")
    marks = _row_marks()
    try:
        with app.app_context():
            yield
            db.session.remove()
    finally:
        clock.set_now(None)
        _delete_rows_added_since(marks)


def _row_marks() -> dict[str, tuple[str, object]]:
    marks = {}
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            key = list(table.primary_key.columns)
            if len(key) == 1 and isinstance(key[0].type, Integer):
                marks[table.name] = ("max", connection.scalar(select(func.max(key[0]))) or 0)
            else:
                marks[table.name] = ("keys", set(connection.execute(select(*key)).tuples()))
    return marks


def _delete_rows_added_since(marks: dict[str, tuple[str, object]]) -> None:
    with db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):  # dependents first
            kind, mark = marks[table.name]
            key = list(table.primary_key.columns)
            if kind == "max":
                connection.execute(delete(table).where(key[0] > mark))
                continue
            for values in set(connection.execute(select(*key)).tuples()) - mark:
                connection.execute(delete(table).where(
                    *(column == value for column, value in zip(key, values, strict=True))))
        # The rows just deleted went behind the services' back: recount what they counted.
        tallies.rebuild(connection=connection)


class RequestClient(FlaskClient):
    """Runs each request in its own app context (its own `g` and session), as a server does."""

    def open(self, *args, **kwargs):
        def fresh_context():
            _cv_app.set(None)
            response = super(RequestClient, self).open(*args, **kwargs)
            if response.is_streamed:
                # A streamed body (stream_with_context) runs inside the request's context:
                # read it here, in that context, as a server does before the next request.
                response.get_data()
            return response

        response = contextvars.copy_context().run(fresh_context)
        db.session.expire_all()  # what the request committed is re-read by the test
        return response


@pytest.fixture
def client(app):
    app.test_client_class = RequestClient
    return app.test_client()


@pytest.fixture
def frozen_clock():
    """Freeze the clock at a known moment; tests move it with clock.advance()."""
    moment = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    clock.set_now(moment)
    yield moment
    clock.set_now(None)


class QueryCounter:
    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries():
    """Context manager counting SQL statements sent while it is open."""
    from contextlib import contextmanager

    @contextmanager
    def counting():
        counter = QueryCounter()
        event.listen(db.engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", counter)

    return counting


# --- Redis (Celery jobs, shared counters) -----------------------------------------------------

REDIS_URL = os.environ.get("LMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_client():
    """A client of the test Redis; skip without one, or fail when LMS_REQUIRE_SERVICES=1."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        message = f"Redis is not reachable at {REDIS_URL} ({error})."
        if os.environ.get("LMS_REQUIRE_SERVICES") == "1":
            pytest.fail(message + " LMS_REQUIRE_SERVICES=1 makes that a failure.")
        pytest.skip(message + " Set LMS_REQUIRE_SERVICES=1 to fail instead.")
    yield client
    client.close()


# --- a real SMTP server -----------------------------------------------------------------------


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 (aiosmtpd): yields its URL and the envelopes received."""
    aiosmtpd = pytest.importorskip("aiosmtpd.controller")
    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    with socket.socket() as probe:  # a free port (the controller cannot start on port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = aiosmtpd.Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield f"smtp://127.0.0.1:{port}", received
    controller.stop()
