"""Numbers and dates from the address: path segments and query parameters, bounded and
refused with the parameter's name, so no value reaches the database that it cannot hold.

Every `<int:...>` in a route is the bounded converter below (registered as the app's `int`),
and views read integer and date query parameters through `query_int` and `query_date` only.
"""

from __future__ import annotations

from datetime import date

from flask import request
from werkzeug.exceptions import NotFound
from werkzeug.routing import Rule
from werkzeug.routing.converters import IntegerConverter

from lms.core.errors import Invalid

# Every id column is PostgreSQL's `integer`; SQLite would overflow only past 2**63, so one
# bound for both keeps the two databases answering alike.
MAX_INT = 2**31 - 1
EARLIEST = date(1900, 1, 1)
LATEST = date(9000, 12, 31)  # leaves room for any arithmetic on dates (year 10000 does not)


class OutOfRange(NotFound):
    """A number in the path that no record can have: 404, naming the parameter."""

    def __init__(self, field: str):
        super().__init__(f"There is no such {field.removesuffix('_id')}: the number in the "
                         f"address is larger than any that exists ({field}).")
        self.field = field


class BoundedIntConverter(IntegerConverter):
    """The app's `int` converter: ASCII digits only, at most MAX_INT."""

    regex = r"[0-9]+"
    field = "id"  # the rule's variable name, set by FieldRule

    def to_python(self, value: str) -> int:
        # Length first: int() of thousands of digits is slow and raises past 4,300.
        if len(value) > len(str(MAX_INT)) or int(value) > MAX_INT:
            raise OutOfRange(self.field)
        return super().to_python(value)


class FieldRule(Rule):
    """A url rule whose converters know the name of the variable they convert."""

    def get_converter(self, variable_name, converter_name, args, kwargs):
        converter = super().get_converter(variable_name, converter_name, args, kwargs)
        converter.field = variable_name
        return converter


def parse_int(text: str | None, field: str, *, minimum: int = 0,
              maximum: int = MAX_INT) -> int | None:
    """A whole number typed by someone (ASCII digits, optional minus), or None when blank."""
    text = (text or "").strip()
    if not text:
        return None
    digits = text.removeprefix("-")
    # str.isdigit() accepts "²" and other characters int() refuses: ASCII only.
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 12:
        raise Invalid(f"{field} must be a whole number between {minimum} and {maximum}.",
                      field=field)
    value = int(text)
    if not minimum <= value <= maximum:
        raise Invalid(f"{field} must be a whole number between {minimum} and {maximum}.",
                      field=field)
    return value


def parse_date(text: str | None, field: str, *, earliest: date = EARLIEST,
               latest: date = LATEST) -> date | None:
    """An ISO date (YYYY-MM-DD) within bounds, or None when blank."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{field} must be a date such as 2026-09-30.", field=field) from None
    if not earliest <= value <= latest:
        raise Invalid(f"{field} must be a date between {earliest.isoformat()} and "
                      f"{latest.isoformat()}.", field=field)
    return value


def query_int(name: str, default: int | None = None, *, minimum: int = 0,
              maximum: int = MAX_INT) -> int | None:
    """The query parameter `name` as a bounded whole number; 422 naming it otherwise."""
    value = parse_int(request.args.get(name), name, minimum=minimum, maximum=maximum)
    return default if value is None else value


def query_date(name: str, default: date | None = None, *, earliest: date = EARLIEST,
               latest: date = LATEST) -> date | None:
    """The query parameter `name` as a bounded ISO date; 422 naming it otherwise."""
    value = parse_date(request.args.get(name), name, earliest=earliest, latest=latest)
    return default if value is None else value


def query_text(name: str, limit: int = 200) -> str | None:
    """The query parameter `name` stripped and cut to `limit` characters; None when empty.

    (NUL and other control characters are refused for every request in lms.core.web.)"""
    return (request.args.get(name) or "").strip()[:limit] or None
