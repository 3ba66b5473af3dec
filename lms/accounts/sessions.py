"""Server-side sessions: who is signed in where, ended for every copy of the cookie.

The browser's cookie holds a random secret; the `user_session` row is keyed by its hash.
Flask-Login's user loader resolves the secret on every request, so deleting the row (sign
out, "end this session", a password or role change, deactivation, a timeout) signs that
browser out everywhere the cookie was copied to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy import inspect as sa_inspect

from lms.accounts.models import Organisation, User, UserSession
from lms.core import clock, fastpath, settings, tokens
from lms.core.errors import NotFound
from lms.extensions import db

# "Last seen" is written at most this often per session: a page view is a read, not a write.
TOUCH_EVERY = timedelta(minutes=1)
LISTED_AT_MOST = 100


def idle_limit() -> timedelta:
    return timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])


def absolute_limit() -> timedelta:
    return timedelta(hours=current_app.config["SESSION_MAX_HOURS"])


def start(user: User, *, user_agent: str = "", ip_address: str = "") -> str:
    """Record a new signed-in browser for `user`; returns the secret for its cookie.

    The person's sessions that timed out are pruned here, so the table holds live rows only.
    """
    now = clock.now()
    db.session.execute(delete(UserSession).where(
        UserSession.user_id == user.id, _expired(now)))
    secret, key = tokens.new_token()
    db.session.add(UserSession(id=key, user_id=user.id, created_at=now, last_seen_at=now,
                               user_agent=describe_user_agent(user_agent),
                               ip_address=(ip_address or "")[:64]))
    db.session.flush()
    return secret


def _expired(now: datetime):
    return (UserSession.last_seen_at < now - idle_limit()) | \
        (UserSession.created_at < now - absolute_limit())


def _columns(entity, prefix: str) -> dict[str, str]:
    """Label -> attribute key of every column attribute of `entity`, labels prefixed."""
    return {f"{prefix}{prop.key}": prop.key for prop in sa_inspect(entity).column_attrs}


_USER_COLUMNS = _columns(User, "u_")
_ORGANISATION_COLUMNS = _columns(Organisation, "o_")

# The session, its person and the person's organisation (every page's menu names it), in
# one row: all their columns, so the objects built from it need no further query; and the
# settings every page shows.
_RESOLVE = (
    select(*settings.every_page_columns(),
           UserSession.last_seen_at.label("last_seen_at"),
           UserSession.created_at.label("session_created_at"),
           *(getattr(User, key).label(label) for label, key in _USER_COLUMNS.items()),
           *(getattr(Organisation, key).label(label)
             for label, key in _ORGANISATION_COLUMNS.items()))
    .select_from(UserSession)
    .join(User, User.id == UserSession.user_id)
    .outerjoin(Organisation, Organisation.id == User.organisation_id)
    .where(UserSession.id == bindparam("key")))
# Where the person's and the organisation's columns begin in its row.
_ORGANISATION_AT = len(_RESOLVE.selected_columns) - len(_ORGANISATION_COLUMNS)
_USER_AT = _ORGANISATION_AT - len(_USER_COLUMNS)


def resolve(secret: str) -> User | None:
    """The active person behind a session cookie, or None if it ended or timed out.

    Runs on every request, so it is a quick read (lms.core.fastpath): one prepared SELECT
    outside the unit of work, whose row becomes the session's `User` (and organisation)
    without the ORM loading them again; an UPDATE of "last seen" at most once a minute.
    """
    if not secret:
        return None
    key = tokens.digest(secret)
    with fastpath.quick_read() as connection:
        row = fastpath.first_row(connection, _RESOLVE, {"key": key})
    if row is None:
        return None
    settings.remember(row)
    now = clock.now()
    if not row.u_active or row.last_seen_at < now - idle_limit() \
            or row.session_created_at < now - absolute_limit():
        return None
    session = db.session()
    user = fastpath.attach_loaded(session, User, dict(zip(
        _USER_COLUMNS.values(), row[_USER_AT:_ORGANISATION_AT], strict=True)))
    organisation = None
    if row.o_id is not None:
        organisation = fastpath.attach_loaded(session, Organisation, dict(zip(
            _ORGANISATION_COLUMNS.values(), row[_ORGANISATION_AT:], strict=True)))
    fastpath.set_loaded(user, "organisation", organisation)
    if now - row.last_seen_at >= TOUCH_EVERY:
        db.session.execute(update(UserSession).where(UserSession.id == key)
                           .values(last_seen_at=now))
        # The loader runs first thing in the request (see lms.core.web), so nothing but
        # this touch is in the unit of work yet.
        db.session.commit()
    return user


def end(secret: str) -> None:
    """Sign out: the session behind this cookie ends, for every copy of the cookie."""
    if secret:
        db.session.execute(delete(UserSession).where(UserSession.id == tokens.digest(secret)))


def end_one(user_id: int, session_id: str) -> None:
    """End one of `user_id`'s own sessions; another person's is not found."""
    ended = db.session.execute(delete(UserSession).where(
        UserSession.id == session_id, UserSession.user_id == user_id)).rowcount
    if not ended:
        raise NotFound("That session has already ended.")


def end_all(user_id: int, *, except_secret: str | None = None) -> int:
    """End every session of a person (or all but the current one); how many ended."""
    statement = delete(UserSession).where(UserSession.user_id == user_id)
    if except_secret:
        statement = statement.where(UserSession.id != tokens.digest(except_secret))
    return db.session.execute(statement).rowcount


def prune_expired() -> int:
    """Forget sessions that timed out (a periodic job: they sign nobody in already)."""
    return db.session.execute(delete(UserSession).where(_expired(clock.now()))).rowcount


@dataclass(frozen=True)
class ActiveSession:
    id: str
    created_at: datetime
    last_seen_at: datetime
    user_agent: str
    ip_address: str
    current: bool


def active(user_id: int, *, current_secret: str | None) -> list[ActiveSession]:
    """A person's sessions that have not timed out, the current one first, then by use."""
    now = clock.now()
    current_key = tokens.digest(current_secret) if current_secret else None
    rows = db.session.scalars(
        select(UserSession).where(UserSession.user_id == user_id, ~_expired(now))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id).limit(LISTED_AT_MOST))
    listed = [ActiveSession(id=row.id, created_at=row.created_at,
                            last_seen_at=row.last_seen_at, user_agent=row.user_agent,
                            ip_address=row.ip_address, current=row.id == current_key)
              for row in rows]
    return sorted(listed, key=lambda s: not s.current)


# Order matters: Edge and Opera announce Chrome too, Chrome announces Safari.
_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
             ("Chromium/", "Chromium"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"),
            ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
            ("Linux", "Linux"))


def describe_user_agent(user_agent: str | None) -> str:
    """"Firefox on Windows": enough to recognise one's own browser, nothing to fingerprint."""
    user_agent = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or system
    # Scripts and tools: their first product token, without version noise.
    token = re.match(r"[A-Za-z][\w.-]{0,40}", user_agent)
    return token.group(0) if token else "Unknown browser"
