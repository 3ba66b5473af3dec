"""Inserts that race or repeat safely: INSERT ... ON CONFLICT, on SQLite and PostgreSQL alike.

`insert_new` adds a row unless one with the same key exists (a double click, two workers,
a retried job), and says whether it was this call that added it, so only the first one
announces it (`insert_new_rows` does the same for many rows in one statement).
`insert_or_add` adds to counters in place; `insert_or_replace` overwrites the row's other
columns (a recompute's latest result wins).
"""

from __future__ import annotations

from lms.extensions import db


def _insert(model):
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def insert_new(model, values: dict, keys: list[str]) -> bool:
    """INSERT the row unless its `keys` are taken; True if this call inserted it.

    The database decides, atomically: a concurrent insert of the same key waits for the
    other transaction and then does nothing, instead of failing with a unique violation.
    """
    statement = (_insert(model).values(**values).on_conflict_do_nothing(index_elements=keys)
                 # A row comes back only when one was inserted (rowcount is not reliable
                 # for ORM-executed inserts on every driver).
                 .returning(*model.__table__.primary_key.columns))
    return db.session.execute(statement).first() is not None


def insert_new_rows(model, rows: list[dict], keys: list[str]) -> set[tuple]:
    """`insert_new` for many rows in one statement; the keys of the rows it inserted."""
    if not rows:
        return set()
    rows = sorted(rows, key=lambda row: tuple(row[key] for key in keys))  # lock order
    table = model.__table__
    statement = (_insert(table).on_conflict_do_nothing(index_elements=keys)
                 .returning(*(table.c[key] for key in keys)))
    return {tuple(row) for row in db.session.execute(statement, rows)}


def insert_or_add(model, rows: list[dict], keys: list[str], counters: list[str]) -> None:
    """One statement for all rows; atomic per row on SQLite and PostgreSQL alike."""
    if not rows:
        return
    # Sorted by key so concurrent writers lock rows in the same order (no deadlock).
    rows = sorted(rows, key=lambda row: tuple(row[key] for key in keys))
    statement = _insert(model)
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_={name: getattr(model, name) + statement.excluded[name] for name in counters})
    # Rows as parameters, not inlined VALUES: the statement compiles once and is cached.
    db.session.execute(statement, rows)


def insert_or_replace(model, rows: list[dict], keys: list[str]) -> None:
    """Insert each row, or overwrite the columns other than `keys` of the one it collides
    with: two writers racing over one key both succeed, the later one's values standing."""
    if not rows:
        return
    rows = sorted(rows, key=lambda row: tuple(row[key] for key in keys))  # lock order
    statement = _insert(model)
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_={column: statement.excluded[column] for column in rows[0] if column not in keys})
    db.session.execute(statement, rows)
