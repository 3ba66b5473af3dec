"""Readiness in the database: the rubric versions synced from content/, each organisation's
current score (with everything needed to explain it later), and the organisations waiting
for a coalesced recompute.

The score row is denormalised on purpose: total, health, tier, meets_tier and
falls_below_on are columns so lists and risk flags can filter in SQL (the scorecard does);
components, gaps and forecast are JSON because they are only ever shown, never queried.
A row keeps what lists and the scorecard read (numbers, components and sentences) and, in
its own column so that they do not read it, the explanation the readiness page shows (who
is behind each gap, the forecast's horizons): the page reads one row whatever the partner's
size.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.core.db import utcnow
from lms.extensions import db

HEALTHS = ("green", "yellow", "red")


class ReadinessRubric(db.Model):
    """One published rubric + tier rules, as synced from content/readiness/.

    Never deleted and its body never changes: a score points at the row it was computed
    with, so an old score can be explained with the weights and tier rules of its day. The
    row published last is the one in force (a reverted edit publishes its old row again).
    """

    __tablename__ = "readiness_rubric"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int]  # rubric.yml's `version`
    # Hash of the rubric and all tier rules together: a new row whenever either changes,
    # even when an author forgot to bump `version`.
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    rubric_hash: Mapped[str] = mapped_column(String(64))  # Rubric.content_hash
    # {"rubric": {...}, "tiers": {"order": [...], "rules": {code: {...}}}} (see sync.py)
    body: Mapped[dict] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReadinessScore(db.Model):
    """The current readiness of one organisation (replaced in place by each recompute)."""

    __tablename__ = "readiness_score"
    __table_args__ = (
        CheckConstraint("health IN ('green', 'yellow', 'red')", name="health"),
        CheckConstraint("total >= 0 AND total <= 100", name="total"),
        Index("ix_readiness_score_health_total", "health", "total"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), unique=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("readiness_rubric.id"), index=True)
    computed_at: Mapped[datetime]
    total: Mapped[float] = mapped_column(Float)  # 0 to 100, one decimal
    health: Mapped[str] = mapped_column(String(10))
    tier: Mapped[str] = mapped_column(String(50))  # the tier scored against (at computed_at)
    meets_tier: Mapped[bool]
    # First moment the partner stops meeting its tier if nobody renews; None when it does
    # not meet it now or expiries cannot cost it (risk flags filter on this).
    falls_below_on: Mapped[datetime | None] = mapped_column(index=True)
    rubric_version: Mapped[int]
    rubric_hash: Mapped[str] = mapped_column(String(64))
    tier_rules_hash: Mapped[str | None] = mapped_column(String(64))
    # [{"key", "label", "value", "weight", "points", "measured", "explanation"}]
    components: Mapped[list] = mapped_column(JSON)
    # {"current": standing, "next": standing | null}; standing = {"tier", "meets", "text",
    #  "gaps": [{"kind", "subject", "missing", "text"}]}. Who is behind each gap is in
    # `explanation`.
    gaps: Mapped[dict] = mapped_column(JSON)
    # {"meets_now", "falls_below_on", "within_horizon", "sentence"}.
    forecast: Mapped[dict] = mapped_column(JSON)
    # What only the readiness page shows, as codes, numbers and ids (service.explanation_record):
    # {"gaps": {"current": [{"user_ids", "people"}] (in the order of `gaps`), "next": ...},
    #  "renewals_needed": [{"program", "job_roles", "needed", "user_ids", "people"}],
    #  "renewals_by", "finishing_needed": [{"track", "count", "first_by", "user_ids",
    #  "people"}], "horizons": [{"days", "nobody_renews", "window_renews",
    #  "expiring", "newcomers"}]}; each "user_ids" the first facts.NAMED of "people". None
    # on rows stored before it was kept: the page works it out until a recompute fills it.
    explanation: Mapped[dict | None] = mapped_column(JSON)

    rubric: Mapped[ReadinessRubric] = relationship()


class ReadinessPending(db.Model):
    """An organisation whose facts changed since its score was computed.

    Events insert a row (once: the primary key absorbs a burst) and enqueue one recompute
    job per commit; the job scores every pending organisation in one gather and deletes
    the rows it covered. The periodic job catches anything a lost job left behind.
    """

    __tablename__ = "readiness_pending"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"),
                                                 primary_key=True, autoincrement=False)
    since: Mapped[datetime] = mapped_column(default=utcnow)
