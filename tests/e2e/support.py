"""Helpers shared by the browser tests: signing in, reading the outbox and the database."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

DEMO_PASSWORD = "demo-password"  # lms.demo.DEMO_PASSWORD


def query(database: Path, sql: str, params: tuple = ()) -> list[dict]:
    """Rows of a read-only query against the served app's SQLite file, as dicts."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(sql, params).fetchall()]
    finally:
        connection.close()


def newest_message(database: Path, address: str) -> dict | None:
    """The newest outbox message to `address`, read straight from the SQLite file."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        connection.row_factory = sqlite3.Row
        row = connection.execute(
            "SELECT id, to_address, subject, body_text FROM outbox_message "
            "WHERE lower(to_address) = lower(?) ORDER BY id DESC LIMIT 1", (address,)).fetchone()
    finally:
        connection.close()
    return dict(row) if row else None


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
