"""Site-wide settings that content or admins set (e.g. the vendor's name), in one table."""

from __future__ import annotations

from flask import g, has_app_context
from sqlalchemy import JSON, String, bindparam, select
from sqlalchemy.orm import Mapped, mapped_column

from lms.core import fastpath
from lms.extensions import db

DEFAULTS = {"vendor_name": "Kestrel Security"}


class Setting(db.Model):
    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[object] = mapped_column(JSON)


# Read by every page (the layout names the vendor): the session lookup reads them in the
# same statement (`every_page_columns`, `remember`), so a signed-in page pays no query.
EVERY_PAGE = ("vendor_name",)


def get(key: str):
    """A setting's value, read once per app context (pages ask for the vendor name a lot)."""
    cache = _request_cache()
    if key not in cache:
        # A plain select of the value: no entity to build and track for a read.
        with fastpath.read_connection(db.session) as connection:
            found = fastpath.first_row(connection, _VALUE, {"key": key})
        cache[key] = found[0] if found is not None else DEFAULTS.get(key)
    return cache[key]


def every_page_columns() -> list:
    """Scalar subqueries of the EVERY_PAGE settings, labelled `setting_<key>`, for a select
    that runs on every request anyway."""
    return [select(Setting.value).where(Setting.key == key).scalar_subquery()
            .label(f"setting_{key}") for key in EVERY_PAGE]


def remember(row) -> None:
    """Keep the EVERY_PAGE values a row of `every_page_columns` brought, for this request."""
    cache = _request_cache()
    for key in EVERY_PAGE:
        value = getattr(row, f"setting_{key}")
        cache[key] = value if value is not None else DEFAULTS.get(key)


def _request_cache() -> dict:
    return g.setdefault("lms_settings", {}) if has_app_context() else {}


_VALUE = select(Setting.value).where(Setting.key == bindparam("key"))


def put(key: str, value) -> bool:
    """Set a value; True if it changed. Flushes, never commits."""
    row = db.session.get(Setting, key)
    if row is not None and row.value == value:
        return False
    if row is None:
        db.session.add(Setting(key=key, value=value))
    else:
        row.value = value
    db.session.flush()
    if has_app_context():
        g.pop("lms_settings", None)
    return True
