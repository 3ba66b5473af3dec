"""Assessments, their immutable versions and frozen items; attempts and responses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import utcnow
from lms.extensions import db

FEEDBACK_POLICIES = ("never", "after_submission", "after_passing")
ATTEMPT_STATUSES = ("in_progress", "submitted", "expired")


class Assessment(db.Model):
    __tablename__ = "assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessment_version.id", use_alter=True))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]

    current_version: Mapped[AssessmentVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True)


class AssessmentVersion(db.Model):
    """Published and immutable: an attempt always points at the version it was taken on."""

    __tablename__ = "assessment_version"
    __table_args__ = (
        UniqueConstraint("assessment_id", "number"),
        CheckConstraint("pass_mark BETWEEN 1 AND 100", name="pass_mark"),
        CheckConstraint("feedback IN ('never', 'after_submission', 'after_passing')",
                        name="feedback"),
        # The assessment lists are sorted by their current version's title.
        Index("ix_assessment_version_title", "title", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    pass_mark: Mapped[int]
    time_limit_minutes: Mapped[int | None]
    max_attempts: Mapped[int | None]
    cooldown_hours: Mapped[int] = mapped_column(default=0)
    shuffle_items: Mapped[bool] = mapped_column(default=False)
    shuffle_options: Mapped[bool] = mapped_column(default=False)
    feedback: Mapped[str] = mapped_column(String(20), default="after_submission")
    # [{"count": n, "item_ids": [...]}] for pool draws; null for a fixed list of items.
    draw_rules: Mapped[list | None] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)

    assessment: Mapped[Assessment] = relationship(foreign_keys=[assessment_id])
    items: Mapped[list[AssessmentItem]] = relationship(order_by="AssessmentItem.position")

    @property
    def item_count(self) -> int:
        if self.draw_rules:
            return sum(rule["count"] for rule in self.draw_rules)
        return len(self.items)


class AssessmentItem(db.Model):
    """One question as published in a version, with its answer key (never sent to a browser)."""

    __tablename__ = "assessment_item"
    __table_args__ = (
        UniqueConstraint("assessment_version_id", "bank_slug", "item_key"),
        # The statistics page and the author's preview page through a version's items.
        Index("ix_assessment_item_version_position", "assessment_version_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_version_id: Mapped[int] = mapped_column(
        ForeignKey("assessment_version.id"), index=True)
    position: Mapped[int]
    bank_slug: Mapped[str] = mapped_column(String(100))
    item_key: Mapped[str] = mapped_column(String(100))
    item_type: Mapped[str] = mapped_column(String(30))
    points: Mapped[int] = mapped_column(default=1)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    definition: Mapped[dict] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))


class Attempt(db.Model):
    __tablename__ = "attempt"
    __table_args__ = (
        # The attempt limit lives in the database too: numbers are unique per person and
        # assessment and may not pass the limit copied onto the row.
        UniqueConstraint("user_id", "assessment_id", "number"),
        CheckConstraint("number >= 1 AND (max_attempts IS NULL OR number <= max_attempts)",
                        name="within_limit"),
        CheckConstraint("status IN ('in_progress', 'submitted', 'expired')", name="status"),
        # At most one open attempt per person and assessment.
        Index("uq_attempt_one_open", "user_id", "assessment_id", unique=True,
              sqlite_where=text("status = 'in_progress'"),
              postgresql_where=text("status = 'in_progress'")),
        Index("ix_attempt_version_status", "assessment_version_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"))
    assessment_version_id: Mapped[int] = mapped_column(ForeignKey("assessment_version.id"))
    number: Mapped[int]
    max_attempts: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(20), default="in_progress")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    score_points: Mapped[float | None]
    max_points: Mapped[int]
    percent: Mapped[float | None]
    passed: Mapped[bool | None]

    version: Mapped[AssessmentVersion] = relationship()
    items: Mapped[list[AttemptItem]] = relationship(order_by="AttemptItem.position",
                                                    back_populates="attempt")

    @property
    def finished(self) -> bool:
        return self.status != "in_progress"


class AttemptItem(db.Model):
    """An item drawn into an attempt, frozen with its position and option order."""

    __tablename__ = "attempt_item"
    __table_args__ = (
        UniqueConstraint("attempt_id", "position"),
        UniqueConstraint("attempt_id", "assessment_item_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"), index=True)
    assessment_item_id: Mapped[int] = mapped_column(ForeignKey("assessment_item.id"), index=True)
    position: Mapped[int]
    option_order: Mapped[list] = mapped_column(JSON, default=list)

    attempt: Mapped[Attempt] = relationship(back_populates="items")
    item: Mapped[AssessmentItem] = relationship()
    response: Mapped[Response | None] = relationship(back_populates="attempt_item",
                                                      uselist=False)


class Response(db.Model):
    __tablename__ = "response"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_item_id: Mapped[int] = mapped_column(ForeignKey("attempt_item.id"), unique=True)
    answer: Mapped[dict] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the attempt is graded: the fraction of the item earned, and its points.
    score: Mapped[float | None]
    points: Mapped[float | None]

    attempt_item: Mapped[AttemptItem] = relationship(back_populates="response")


class ItemStatistic(db.Model):
    """Running sums per item, added to once when an attempt is graded.

    The statistics page reads these few rows instead of scanning every response, so it
    costs the same with a hundred attempts or a hundred thousand. x is the fraction of
    the item earned (0 when unanswered), r the rest of the attempt's score in points.
    """

    __tablename__ = "item_statistic"

    assessment_item_id: Mapped[int] = mapped_column(ForeignKey("assessment_item.id"),
                                                    primary_key=True)
    attempts: Mapped[int] = mapped_column(default=0)
    answered: Mapped[int] = mapped_column(default=0)
    sum_x: Mapped[float] = mapped_column(default=0.0)
    sum_xx: Mapped[float] = mapped_column(default=0.0)
    sum_r: Mapped[float] = mapped_column(default=0.0)
    sum_rr: Mapped[float] = mapped_column(default=0.0)
    sum_xr: Mapped[float] = mapped_column(default=0.0)


class OptionStatistic(db.Model):
    """How often each option of a choice item was chosen in graded attempts."""

    __tablename__ = "option_statistic"

    assessment_item_id: Mapped[int] = mapped_column(ForeignKey("assessment_item.id"),
                                                    primary_key=True)
    option_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    chosen: Mapped[int] = mapped_column(default=0)
