"""Onboarding journeys: templates (immutable versions), running journeys, their milestones,
sign-off evidence, the audit trail and the nudges already sent.

A running journey copies its milestones from the template version it started with, so a
later change to the template never moves anyone's goalposts mid-journey.
"""

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
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import utcnow
from lms.extensions import db

NUDGE_CONDITIONS = ("overdue", "stalled")


class JourneyTemplate(db.Model):
    __tablename__ = "journey_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    scope: Mapped[str] = mapped_column(String(20))
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("journey_template_version.id", use_alter=True))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]

    current_version: Mapped[JourneyTemplateVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True)


class JourneyTemplateVersion(db.Model):
    """A published, immutable template; journeys point at the one they started with."""

    __tablename__ = "journey_template_version"
    __table_args__ = (
        UniqueConstraint("template_id", "number"),
        CheckConstraint("scope IN ('organisation', 'person')", name="scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("journey_template.id"), index=True)
    number: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[str] = mapped_column(String(20))
    # {"partner_types": [...], "tiers": [...], "regions": [...], "job_roles": [...]}
    audience: Mapped[dict] = mapped_column(JSON)
    stalled_after_days: Mapped[int]
    # [{"name": ..., "milestones": [{"key", "title", "due_days", "owner", <kind>: ...}]}]
    stages: Mapped[list] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)

    template: Mapped[JourneyTemplate] = relationship(foreign_keys=[template_id])


class Journey(db.Model):
    """One organisation's or one person's run through a template.

    `subject_key` ("organisation:7" or "person:42") with the template makes starting
    idempotent in the database: an event and a sweep racing to start it leave one row.
    """

    __tablename__ = "journey"
    __table_args__ = (
        UniqueConstraint("template_id", "subject_key"),
        CheckConstraint("(scope = 'person') = (user_id IS NOT NULL)", name="subject"),
        Index("ix_journey_open", "completed_at", "stalls_at"),
        # The overview's median days to a first certification reads the certified only.
        Index("ix_journey_first_certified", "first_certified_at"),
        # The vendor overview pages a template's journeys in SQL, most urgent first (the
        # open ones with overdue_since passed, the other open ones, the finished ones), each
        # group by start; its counts by stage and flags are read from the index alone.
        Index("ix_journey_template_started", "template_id", "started_at", "id"),
        Index("ix_journey_template_states", "template_id", "current_stage", "completed_at",
              "overdue_since", "stalls_at"),
        # The same counts for a partner's staff journeys (paged by the people's names).
        Index("ix_journey_organisation_states", "organisation_id", "scope", "current_stage",
              "completed_at", "overdue_since", "stalls_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("journey_template.id"))
    template_version_id: Mapped[int] = mapped_column(ForeignKey("journey_template_version.id"))
    scope: Mapped[str] = mapped_column(String(20))
    subject_key: Mapped[str] = mapped_column(String(40))
    # A person's journey keeps their organisation too: partner scoping needs no join.
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    started_at: Mapped[datetime]
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # 0-based index of the first stage with an open milestone; == stage_count when done.
    current_stage: Mapped[int] = mapped_column(default=0)
    stage_count: Mapped[int]
    last_progress_at: Mapped[datetime]
    # last_progress_at + the template's stalled_after_days, kept so SQL can filter on it.
    stalls_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    first_certified_at: Mapped[datetime | None]
    # The earliest due date among its open milestones (None once none is open): the journey
    # is overdue from then on. Kept by every writer of milestones (lms.journeys.service:
    # start, complete, change_due_date), so lists filter and sort on it by index instead of
    # probing every journey's milestones.
    overdue_since: Mapped[datetime | None]

    template_version: Mapped[JourneyTemplateVersion] = relationship()
    milestones: Mapped[list[JourneyMilestone]] = relationship(
        order_by="(JourneyMilestone.stage_index, JourneyMilestone.position)",
        back_populates="journey")


class JourneyMilestone(db.Model):
    __tablename__ = "journey_milestone"
    __table_args__ = (
        UniqueConstraint("journey_id", "key"),
        CheckConstraint("kind IN ('track', 'assessment', 'certification', 'certified_staff', "
                        "'manual')", name="kind"),
        CheckConstraint("owner IN ('person', 'partner_admin', 'vendor')", name="owner"),
        Index("ix_journey_milestone_open_due", "done_at", "due_at"),
        # "Has an overdue milestone" for one journey at a time (the onboarding lists' filter
        # and tile): a probe into this journey's open milestones, not a hash of every
        # overdue milestone of the platform.
        Index("ix_journey_milestone_open_by_journey", "journey_id", "due_at",
              postgresql_where=text("done_at IS NULL"), sqlite_where=text("done_at IS NULL")),
        # A partner's sign-offs for people who have since left it, newest first.
        Index("ix_journey_milestone_evidence_organisation", "evidence_organisation_id",
              "done_at", "id"),
        Index("ix_journey_milestone_left_behind", "evidence_organisation_id", "done_at", "id",
              postgresql_where=text("evidence_left_behind"),
              sqlite_where=text("evidence_left_behind = 1")),
        # A journey's milestones, and the overview's stage medians: when each stage of the
        # template's journeys finished, read from the index alone (not the milestones of
        # every person's journey too).
        Index("ix_journey_milestone_journey_stage", "journey_id", "stage_index", "done_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journey.id"))
    key: Mapped[str] = mapped_column(String(100))
    stage_index: Mapped[int]
    stage_name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    target: Mapped[str | None] = mapped_column(String(100))  # slug or program code
    required_count: Mapped[int | None]  # certified_staff only
    owner: Mapped[str] = mapped_column(String(20))
    evidence: Mapped[str] = mapped_column(String(20), default="none")  # manual only
    instructions: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str | None] = mapped_column(Text)
    # The partner the note and file were given for. A person's journey follows them to a
    # new partner; what their old partner signed off stays that partner's (and the vendor's).
    evidence_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    # True while the journey is at another partner than evidence_organisation_id (the person
    # moved on): kept by service.follow_person, so a partner's "left behind" list reads only
    # those, not every sign-off it ever gave.
    evidence_left_behind: Mapped[bool] = mapped_column(default=False, server_default=false())

    journey: Mapped[Journey] = relationship(back_populates="milestones")
    evidence_file: Mapped[EvidenceFile | None] = relationship(uselist=False,
                                                              back_populates="milestone")

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    def overdue(self, now: datetime) -> bool:
        return self.done_at is None and self.due_at < now


class EvidenceFile(db.Model):
    """A file attached when a manual milestone is signed off (kept in the database, like
    lesson assets, so both databases and every worker see the same thing)."""

    __tablename__ = "journey_evidence_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("journey_milestone.id"), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    milestone: Mapped[JourneyMilestone] = relationship(back_populates="evidence_file")


class JourneyEvent(db.Model):
    """The audit trail: started, milestone done or signed off, due date moved, nudged, done."""

    __tablename__ = "journey_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journey.id"), index=True)
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("journey_milestone.id"))
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class JourneyMedian(db.Model):
    """Median days, as the vendor overview shows them, recomputed by the periodic job
    (lms.journeys.medians): an exact median cannot be kept up by the writes, and taking it
    on every view read every milestone of the platform. The page says when they were taken.

    Per organisation template: each stage ("stage", its index), to complete and to a first
    certification; over every person's journey (template_id PEOPLE) the last two.
    """

    __tablename__ = "journey_median"
    __table_args__ = (
        CheckConstraint("measure IN ('stage', 'complete', 'certified')", name="measure"),
    )

    template_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    measure: Mapped[str] = mapped_column(String(20), primary_key=True)
    # A stage's index; 0 for the other measures.
    stage_index: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    days: Mapped[float]
    computed_at: Mapped[datetime]


class JourneyNudge(db.Model):
    """A nudge already sent: unique per milestone and condition, so each goes out once even
    when two sweeps run at the same time."""

    __tablename__ = "journey_nudge"
    __table_args__ = (
        UniqueConstraint("milestone_id", "condition"),
        CheckConstraint("condition IN ('overdue', 'stalled')", name="condition"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("journey_milestone.id"))
    condition: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    recipients: Mapped[list] = mapped_column(JSON, default=list)  # email addresses
