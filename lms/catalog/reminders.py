"""A nudge by hand: a partner admin or vendor admin reminds one person of their unfinished
tracks. One mail per person a day, however often the button is pressed."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from lms.accounts.models import User
from lms.catalog.progress import learner_tracks
from lms.core import mail
from lms.core.errors import Conflict, NotFound
from lms.extensions import db

TEMPLATE = "learning_reminder"
EVERY = timedelta(days=1)


def last_reminder_at(person: User) -> datetime | None:
    """When the person was last reminded (the outbox is the record: one query)."""
    return db.session.scalar(
        select(func.max(mail.OutboxMessage.created_at))
        .where(mail.OutboxMessage.to_address == person.email,
               mail.OutboxMessage.template == TEMPLATE))


def send_reminder(user_id: int, *, actor: User, now: datetime) -> mail.OutboxMessage:
    """Queue the reminder; Conflict when the person cannot be reminded now, and why."""
    # The row lock makes two presses at once send one mail (PostgreSQL; SQLite writes
    # one at a time anyway).
    person = db.session.scalar(select(User).where(User.id == user_id).with_for_update())
    if person is None:
        raise NotFound("No such person.")
    if not person.active:
        raise Conflict(f"{person.full_name} is deactivated.")
    if not person.has_password:
        raise Conflict(f"{person.full_name} has not accepted their invitation yet: resend "
                       "the invitation instead.")
    last = last_reminder_at(person)
    if last is not None and now - last < EVERY:
        raise Conflict(f"{person.full_name} was reminded less than a day ago; the next "
                       "reminder can go a day after the last.")
    open_tracks = [track for track in learner_tracks(person.id) if track.completed_at is None]
    if not open_tracks:
        raise Conflict(f"{person.full_name} has no unfinished tracks to be reminded of.")
    open_tracks.sort(key=lambda track: (track.due_at is None, track.due_at or now, track.title))
    return mail.send(person.email, "A reminder of your enablement tracks", TEMPLATE,
                     user=person, sender=actor, tracks=open_tracks, now=now,
                     link=f"{current_app.config['BASE_URL']}/learning")
