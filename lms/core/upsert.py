"""Add to counters in place: INSERT, or on a key clash add the new values to the old ones."""

from __future__ import annotations

from lms.extensions import db


def insert_or_add(model, rows: list[dict], keys: list[str], counters: list[str]) -> None:
    """One statement for all rows; atomic per row on SQLite and PostgreSQL alike."""
    if not rows:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    # Sorted by key so concurrent writers lock rows in the same order (no deadlock).
    rows = sorted(rows, key=lambda row: tuple(row[key] for key in keys))
    statement = insert(model)
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_={name: getattr(model, name) + statement.excluded[name] for name in counters})
    # Rows as parameters, not inlined VALUES: the statement compiles once and is cached.
    db.session.execute(statement, rows)
