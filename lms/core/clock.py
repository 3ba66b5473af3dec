"""The one source of time. Tests move it with `frozen()` instead of sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_frozen_at: datetime | None = None


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    return _frozen_at if _frozen_at is not None else datetime.now(UTC)


def set_now(moment: datetime | None) -> None:
    """Freeze the clock at `moment` (None thaws it)."""
    global _frozen_at
    if moment is not None and moment.tzinfo is None:
        raise ValueError("the clock only holds timezone-aware datetimes")
    _frozen_at = moment


def advance(delta: timedelta) -> datetime:
    """Move a frozen clock forward."""
    set_now(now() + delta)
    return now()


@contextmanager
def frozen(moment: datetime) -> Iterator[None]:
    previous = _frozen_at
    set_now(moment)
    try:
        yield
    finally:
        set_now(previous)
