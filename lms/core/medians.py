"""Medians taken in SQL, the same way on SQLite and PostgreSQL.

Neither database shares a median aggregate with the other (PostgreSQL's percentile_cont
has no SQLite counterpart), so each group's values are numbered in order with window
functions and only the middle one or two come back. Python then takes their mean exactly
as statistics.median does, so a page that used to take medians of thousands of rows in
Python gets the very same numbers from one row per group.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.sql import FromClause


def middle_values(source: FromClause, value: str, groups: tuple[str, ...]) -> Select:
    """(group columns..., lower, upper): the two middle values of `value` per group of
    `source`'s rows (the same one twice when a group has an odd count); NULLs left out."""
    column = source.c[value]
    keys: list[ColumnElement] = [source.c[name] for name in groups]
    ranked = (select(*keys, column.label("value"),
                     func.row_number().over(partition_by=keys, order_by=column)
                     .label("position"),
                     func.count().over(partition_by=keys).label("size"))
              .where(column.is_not(None)).subquery("ranked"))
    size = ranked.c.size
    # Positions (size + 1) // 2 and size // 2 + 1: the middle one, or the middle two.
    return (select(*(ranked.c[name] for name in groups), func.min(ranked.c.value),
                   func.max(ranked.c.value))
            .where(ranked.c.position.between((size + 1) // 2, size // 2 + 1))
            .group_by(*(ranked.c[name] for name in groups)))


def mean_of_middle(lower: float, upper: float) -> float:
    """The median from `middle_values`' pair, computed as statistics.median does."""
    return lower if lower == upper else (lower + upper) / 2
