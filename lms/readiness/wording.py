"""Small pieces of English for gaps and forecasts ("1 more active Technical Associate")."""

from __future__ import annotations

from datetime import UTC, datetime

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def plural(noun: str) -> str:
    """English plural of a display name: the last word takes the ending."""
    lower = noun.lower()
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u", ""):
        return noun[:-1] + "ies"
    return noun + "s"


def counted(count: int, noun: str, nouns: str | None = None) -> str:
    """'1 Technical Associate', '2 Technical Associates' (or the given plural)."""
    return f"{count} {noun if count == 1 else nouns or plural(noun)}"


def part_of(part: int, whole: int, noun: str) -> str:
    """'1 of 1 requirement', '2 of 4 live certificates': the noun agrees with the whole."""
    return f"{part} of {whole} {noun if whole == 1 else plural(noun)}"


def join_and(parts: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def day(moment: datetime, now: datetime) -> str:
    """'14 March', with the year only when it is not the current one ('3 January 2027')."""
    # A table, not strftime's %B: the same English whatever the process locale, and this
    # runs for every partner at every forecast horizon.
    moment = moment.astimezone(UTC)  # days are UTC days, whatever zone a value came in
    text = f"{moment.day} {MONTHS[moment.month - 1]}"
    return text if moment.year == now.year else f"{text} {moment.year}"
