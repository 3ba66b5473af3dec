"""Site-wide settings that content or admins set (e.g. the vendor's name), in one table."""

from __future__ import annotations

from flask import g, has_app_context
from sqlalchemy import JSON, String, bindparam, select
from sqlalchemy.orm import Mapped, mapped_column

from lms.extensions import db

DEFAULTS = {"vendor_name": "Kestrel Security"}


class Setting(db.Model):
    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[object] = mapped_column(JSON)


def get(key: str):
    """A setting's value, read once per app context (pages ask for the vendor name a lot)."""
    cache = g.setdefault("lms_settings", {}) if has_app_context() else {}
    if key not in cache:
        # A plain select of the value: no entity to build and track for a read.
        found = db.session.execute(_VALUE, {"key": key}).first()
        cache[key] = found[0] if found is not None else DEFAULTS.get(key)
    return cache[key]


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
