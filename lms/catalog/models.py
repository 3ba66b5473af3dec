"""Tracks, their immutable published versions, courses, lessons, assignments and progress."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import utcnow
from lms.extensions import db


class Track(db.Model):
    """A track's identity and assignment settings; its content lives in versions."""

    __tablename__ = "track"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    # Settings that decide who gets the track; changing them does not publish a version.
    audience: Mapped[dict] = mapped_column(JSON, default=dict)
    prerequisites: Mapped[list] = mapped_column(JSON, default=list)  # track slugs
    required: Mapped[bool] = mapped_column(default=False)
    sequential: Mapped[bool] = mapped_column(default=True)
    due_within_days: Mapped[int | None]
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("track_version.id", use_alter=True)
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]

    current_version: Mapped[TrackVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )


class TrackVersion(db.Model):
    """A published, immutable snapshot of a track's content."""

    __tablename__ = "track_version"
    __table_args__ = (UniqueConstraint("track_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("track.id"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    estimated_minutes: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)

    track: Mapped[Track] = relationship(foreign_keys=[track_id])
    courses: Mapped[list[Course]] = relationship(
        back_populates="track_version", order_by="Course.position"
    )


class Course(db.Model):
    __tablename__ = "course"
    __table_args__ = (UniqueConstraint("track_version_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    track_version_id: Mapped[int] = mapped_column(ForeignKey("track_version.id"), index=True)
    slug: Mapped[str] = mapped_column(String(100))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")

    track_version: Mapped[TrackVersion] = relationship(back_populates="courses")
    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="course", order_by="Lesson.position"
    )


class Asset(db.Model):
    """A downloadable file from content/, stored by content hash (so versions share it)."""

    __tablename__ = "asset"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    # Read only when the file is downloaded: a lesson page shows its name and size.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class Lesson(db.Model):
    __tablename__ = "lesson"
    __table_args__ = (
        UniqueConstraint("track_version_id", "slug"),
        UniqueConstraint("track_version_id", "position"),
        CheckConstraint(
            "body_markdown <> '' OR video_url IS NOT NULL OR asset_sha256 IS NOT NULL "
            "OR assessment_slug IS NOT NULL",
            name="has_content",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    track_version_id: Mapped[int] = mapped_column(ForeignKey("track_version.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    slug: Mapped[str] = mapped_column(String(100))
    # Position across the whole track version, so "next lesson" is one ordering.
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    minutes: Mapped[int | None]
    body_markdown: Mapped[str] = mapped_column(Text, default="")
    video_url: Mapped[str | None] = mapped_column(String(500))
    asset_sha256: Mapped[str | None] = mapped_column(ForeignKey("asset.sha256"))
    # A knowledge check (an assessment slug; assessments sit above catalog, so no key):
    # the lesson completes when the learner passes it, not by "mark complete".
    assessment_slug: Mapped[str | None] = mapped_column(String(100))
    # Hash of what the learner sees; equal hashes across versions carry completions forward.
    content_hash: Mapped[str] = mapped_column(String(64))

    course: Mapped[Course] = relationship(back_populates="lessons")
    asset: Mapped[Asset | None] = relationship()


class Assignment(db.Model):
    """A track assigned to a person, by an audience rule, by hand, or both."""

    __tablename__ = "assignment"
    __table_args__ = (
        UniqueConstraint("user_id", "track_id"),
        CheckConstraint("by_rule OR manual", name="has_reason"),
        # A partner's assignments falling due today (catalog.team_tallies.overdue): the
        # earlier days are tallies, today's few are found here.
        Index("ix_assignment_due_at", "due_at", sqlite_where=text("due_at IS NOT NULL"),
              postgresql_where=text("due_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("track.id"), index=True)
    by_rule: Mapped[bool] = mapped_column(default=False)
    manual: Mapped[bool] = mapped_column(default=False)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None]

    track: Mapped[Track] = relationship()


class LessonCompletion(db.Model):
    __tablename__ = "lesson_completion"
    __table_args__ = (UniqueConstraint("user_id", "lesson_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id"), index=True)
    completed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the completion was copied from an unchanged lesson of an earlier version.
    carried_from_id: Mapped[int | None] = mapped_column(ForeignKey("lesson_completion.id"))


class CourseCompletion(db.Model):
    __tablename__ = "course_completion"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    completed_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrackCompletion(db.Model):
    __tablename__ = "track_completion"
    __table_args__ = (UniqueConstraint("user_id", "track_version_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("track.id"), index=True)
    track_version_id: Mapped[int] = mapped_column(ForeignKey("track_version.id"), index=True)
    completed_at: Mapped[datetime] = mapped_column(default=utcnow)
    carried_forward: Mapped[bool] = mapped_column(default=False)
