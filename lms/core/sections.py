"""Sections that higher domains add to a lower domain's page.

The person page belongs to the catalog (it shows tracks), but certificates, exam attempts
and onboarding journeys live in domains above it, which the catalog may not import. So the
page names a slot, and those domains add a section to it when their views load: each
section is a template and a loader that works out its context in a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Section:
    template: str
    load: Callable[..., dict]
    order: int


@dataclass(frozen=True)
class Filled:
    template: str
    data: dict
    # The latest moment the section knows the person did something, or None.
    last_activity: datetime | None


_slots: dict[str, dict[str, Section]] = {}


def add(slot: str, name: str, *, template: str, load: Callable[..., dict],
        order: int = 100) -> None:
    """Add (or replace, so re-imports are harmless) section `name` to `slot`. `load` takes
    the page's keyword arguments and returns the template's `data`; a key `last_activity`
    in it says when the person last did something the section shows."""
    _slots.setdefault(slot, {})[name] = Section(template, load, order)


def fill(slot: str, **arguments) -> list[Filled]:
    """Every section of `slot`, loaded, in order."""
    filled = []
    for section in sorted(_slots.get(slot, {}).values(), key=lambda s: s.order):
        data = section.load(**arguments)
        filled.append(Filled(section.template, data, data.get("last_activity")))
    return filled
