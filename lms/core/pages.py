"""Page arithmetic for lists paginated in SQL: one rule for every list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


def clamp(total: int, page: int, per_page: int) -> tuple[int, int, int]:
    """(page, pages, offset) for `total` rows: a page past either end shows the nearest one,
    and an empty list still has one (empty) page."""
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    return page, pages, (page - 1) * per_page


@dataclass(frozen=True)
class Window:
    """One page of a list: its rows and where it sits in the whole."""

    rows: list[Any]
    total: int
    page: int
    pages: int
    per_page: int


def window(session: Session, statement: Select, *, page: int, per_page: int,
           total: int | None = None, scalars: bool = False) -> Window:
    """One page of an ordered `statement`: a COUNT (unless `total` is known) and the page."""
    if total is None:
        total = session.scalar(
            select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    page, pages, offset = clamp(total, page, per_page)
    paged = statement.offset(offset).limit(per_page)
    rows = list(session.scalars(paged)) if scalars else list(session.execute(paged))
    return Window(rows, total, page, pages, per_page)
