"""Helpers shared by the browser tests: signing in, reading the outbox and the database."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

DEMO_PASSWORD = "demo-password"  # lms.demo.DEMO_PASSWORD


def query(database: Path | str, sql: str, params: tuple = ()) -> list[dict]:
    """Rows of a read-only query against the served app's database, as dicts.

    `database` is the SQLite file, or the PostgreSQL URL the app was served on; `sql` uses
    `?` placeholders either way. Values come back as SQLite keeps them (text for times,
    0/1 for booleans), so a test reads the same whichever database served it.
    """
    if isinstance(database, str):
        return _postgresql_query(database, sql, params)
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(sql, params).fetchall()]
    finally:
        connection.close()


def _postgresql_query(url: str, sql: str, params: tuple) -> list[dict]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(postgresql_dsn(url), row_factory=dict_row) as connection:
        connection.read_only = True
        rows = connection.execute(sql.replace("?", "%s"), params).fetchall()
    return [{key: _as_sqlite_keeps_it(value) for key, value in row.items()} for row in rows]


def _as_sqlite_keeps_it(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict | list):  # a JSON column, which SQLite hands back as text
        return json.dumps(value)
    return value


def postgresql_dsn(url: str) -> str:
    """A SQLAlchemy URL (`postgresql+psycopg://...`) as psycopg takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def newest_message(database: Path | str, address: str) -> dict | None:
    """The newest outbox message to `address`, read straight from the app's database."""
    rows = query(database,
                 "SELECT id, to_address, subject, body_text FROM outbox_message "
                 "WHERE lower(to_address) = lower(?) ORDER BY id DESC LIMIT 1", (address,))
    return rows[0] if rows else None


_INVITATION_PATH = re.compile(r"/invitations/[A-Za-z0-9_-]+")


def invitation_link(body: str, base_url: str) -> str:
    """The invitation URL in a mail body, pointed at `base_url` whatever host it names."""
    match = _INVITATION_PATH.search(body)
    if match is None:
        raise AssertionError(f"No /invitations/<token> link in the message:\n{body}")
    return base_url.rstrip("/") + match.group(0)


def log_in(page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the login form."""
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
