"""Page arithmetic for lists paginated in SQL: one rule for every list."""

from __future__ import annotations


def clamp(total: int, page: int, per_page: int) -> tuple[int, int, int]:
    """(page, pages, offset) for `total` rows: a page past either end shows the nearest one,
    and an empty list still has one (empty) page."""
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    return page, pages, (page - 1) * per_page
