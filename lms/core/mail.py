"""Outgoing mail: every message is recorded in the outbox, then sent by SMTP if configured.

`send()` only records (inside the caller's transaction, so a rolled-back action sends
nothing); `deliver_pending()` runs after commit and hands messages to SMTP.
"""

from __future__ import annotations

import re
import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

from flask import current_app, render_template
from sqlalchemy import Index, String, Text, func, literal, select, text
from sqlalchemy.orm import Mapped, mapped_column

from lms.core import clock, jobs, tallies
from lms.core.db import utcnow
from lms.core.pages import clamp as pages_of
from lms.extensions import db


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"
    # The outbox lists newest first, all of it, one kind, or the unsent (queued or failed,
    # which delivery also reads): each an index read from the newest end, never a sort.
    __table_args__ = (
        Index("ix_outbox_message_created", "created_at", "id"),
        Index("ix_outbox_message_template_created", "template", "created_at", "id"),
        Index("ix_outbox_message_unsent", "created_at", "id",
              postgresql_where=text("sent_at IS NULL"), sqlite_where=text("sent_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # Carries a sign-in secret (invitation, password reset): redacted once delivered, and
    # its body is not shown in the outbox when mail really goes out.
    sensitive: Mapped[bool] = mapped_column(default=False)


OUTBOX_STATUSES = ("queued", "sent", "failed")


# How many messages of each kind are in each status, the outbox page's totals: tallies
# "outbox.<status>" keyed by the kind (template), kept by the writes that record and deliver
# messages, in their transaction (counting 100,000 messages on every view grew with the outbox).
OUTBOX_TALLIES = {status: f"outbox.{status}" for status in OUTBOX_STATUSES}


def status_of(message: OutboxMessage) -> str:
    """queued (not sent, no error), sent, or failed (not sent, the last try failed)."""
    if message.sent_at is not None:
        return "sent"
    return "failed" if message.last_error is not None else "queued"


def _in_status(status: str) -> list:
    """status_of in SQL: the conditions on a message in `status`."""
    return {"sent": [OutboxMessage.sent_at.is_not(None)],
            "failed": [OutboxMessage.sent_at.is_(None), OutboxMessage.last_error.is_not(None)],
            "queued": [OutboxMessage.sent_at.is_(None), OutboxMessage.last_error.is_(None)],
            }[status]


def _tally(moves: list[tuple[str, str | None, str]]) -> None:
    """Count each (template, old status or None for a new message, new status)."""
    changes = []
    for template, before, after in moves:
        if before == after:
            continue
        if before is not None:
            changes.append((OUTBOX_TALLIES[before], tallies.PLATFORM, template, -1))
        changes.append((OUTBOX_TALLIES[after], tallies.PLATFORM, template, 1))
    tallies.add(changes)


def _recount(status: str):
    """SELECT scope, key, count: the messages of each kind in `status`."""
    return (select(literal(tallies.PLATFORM), OutboxMessage.template, func.count())
            .where(*_in_status(status)).group_by(OutboxMessage.template))


for _status, _name in OUTBOX_TALLIES.items():
    tallies.recount(_name)(lambda status=_status: _recount(status))


def send(to: str, subject: str, template: str, *, sensitive: bool = False,
         **context) -> OutboxMessage:
    """Render `templates/emails/<template>.txt` and queue it in the outbox."""
    body = render_template(f"emails/{template}.txt", **context)
    message = OutboxMessage(to_address=to, subject=subject, body_text=body, template=template,
                            sensitive=sensitive)
    db.session.add(message)
    db.session.flush()
    _tally([(template, None, "queued")])
    jobs.enqueue(deliver_pending)
    return message


@dataclass(frozen=True)
class OutboxPage:
    messages: list[OutboxMessage]
    total: int  # messages matching the filters
    page: int
    pages: int
    templates: list[str]  # every kind of message the academy sends, for the filter


def outbox_page(*, template: str | None = None, recipient: str | None = None,
                status: str | None = None, page: int = 1, per_page: int = 50) -> OutboxPage:
    """One page of the outbox, newest first, filtered and paginated in SQL (two queries
    whatever the outbox holds). `status`: queued (not sent, no error), sent, failed (not
    sent, the last try failed)."""
    conditions = []
    if template:
        conditions.append(OutboxMessage.template == template)
    if recipient:
        # A part of the address is enough ("northwind" finds everyone there).
        conditions.append(func.lower(OutboxMessage.to_address).contains(
            recipient.lower(), autoescape=True))
    if status:
        conditions.extend(_in_status(status))
    if recipient:
        total = db.session.scalar(select(func.count(OutboxMessage.id)).where(*conditions))
    else:
        # By kind and status, the tallies say: a sum over a few rows, not a count of
        # every message.
        total = tallies.summed([OUTBOX_TALLIES[status]] if status else OUTBOX_TALLIES.values(),
                               key=template or None)
    page, pages, offset = pages_of(total, page, per_page)
    messages = db.session.scalars(
        select(OutboxMessage).where(*conditions)
        # The id breaks ties: messages recorded in one transaction share a timestamp.
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .offset(offset).limit(per_page)).all()
    kinds = message_kinds()
    # A kind no template sends any more can still be asked for (from an old link).
    return OutboxPage(messages, total, page, pages,
                      kinds if not template or template in kinds else sorted([*kinds, template]))


def message_kinds() -> list[str]:
    """The kinds of message there are: one per template in templates/emails/. (Read from
    the templates, not a DISTINCT over the whole outbox on every view.)"""
    return sorted(name.removeprefix("emails/").removesuffix(".txt")
                  for name in current_app.jinja_env.list_templates(
                      filter_func=lambda name: name.startswith("emails/")
                      and name.endswith(".txt")))


def deliver_pending(limit: int = 100) -> int:
    """Send unsent outbox messages over SMTP; without LMS_SMTP_URL they stay recorded only."""
    smtp_url = current_app.config.get("SMTP_URL")
    if not smtp_url:
        return 0
    pending = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.sent_at.is_(None)).order_by(OutboxMessage.id)
        .limit(limit)
        # Two deliveries at once take different messages: none is sent twice, and each
        # status change is tallied once, from the status it really had.
        .with_for_update(skip_locked=True)
    ).all()
    if not pending:
        return 0
    before = [(message, status_of(message)) for message in pending]
    sent = 0
    try:
        smtp = _connect(smtp_url)
    except (OSError, smtplib.SMTPException) as error:
        # The action that queued the mail has committed; a mail server that is down must
        # not turn it into an error page. `lms tick` tries again.
        current_app.logger.warning("SMTP unavailable, %d message(s) wait: %s", len(pending), error)
        for message in pending:
            message.last_error = f"SMTP unavailable: {error}"
        _tally([(message.template, status, status_of(message)) for message, status in before])
        return 0
    with smtp:
        for message in pending:
            email = EmailMessage()
            email["From"] = current_app.config["MAIL_FROM"]
            email["To"] = message.to_address
            email["Subject"] = message.subject
            email.set_content(message.body_text)
            try:
                smtp.send_message(email)
            except (OSError, smtplib.SMTPException) as error:
                message.last_error = str(error)
                continue
            message.sent_at = clock.now()
            message.last_error = None
            if message.sensitive:
                message.body_text = redact(message.body_text)
            sent += 1
    _tally([(message.template, status, status_of(message)) for message, status in before])
    return sent


# token_urlsafe(32): the secrets in invitation and reset links.
_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")


def redact(text: str) -> str:
    """The body without the link secrets, as kept once the message is delivered."""
    return _TOKEN.sub("[link removed after sending]", text)


def _connect(smtp_url: str) -> smtplib.SMTP:
    """smtp://user:pass@host:port or smtps://... ; starttls with ?starttls=1."""
    parsed = urlparse(smtp_url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port
    if parsed.scheme == "smtps":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port or 465, timeout=30)
    else:
        smtp = smtplib.SMTP(host, port or 25, timeout=30)
        if "starttls=1" in (parsed.query or ""):
            smtp.starttls()
    if parsed.username:
        smtp.login(unquote(parsed.username), unquote(parsed.password or ""))
    return smtp
