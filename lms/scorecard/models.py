"""The scorecard in the database: metric definitions as synced, imported values and the
imports that brought them, review periods and their frozen snapshots, the last known
health and flags per partner (to notice changes), webhooks and their deliveries, and API
tokens.

Values are append-only: a new import adds rows, and a partner's current value of a metric
is its latest as-of date, latest recorded, among imports not reverted. Nothing here is
updated in place except an import's reversion, a delivery's progress, the
change-detection state and the revocation of tokens and webhooks.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.accounts.models import User
from lms.core.db import utcnow
from lms.extensions import db


class MetricDefinitionSet(db.Model):
    """One published content/scorecard/metrics.yml. The newest row (highest id) is in force;
    snapshots keep the version and hash of the row they were scored with."""

    __tablename__ = "scorecard_definition"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    body: Mapped[dict] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)


class MetricImport(db.Model):
    """One CSV upload or API call: who, when, which file, and what it changed (its
    ImportChange rows)."""

    __tablename__ = "scorecard_import"
    __table_args__ = (
        CheckConstraint("source IN ('csv', 'api', 'demo')", name="source"),
        CheckConstraint("status IN ('applied', 'rejected')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("scorecard_api_token.id"))
    source: Mapped[str] = mapped_column(String(10))
    file_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    status: Mapped[str] = mapped_column(String(10))
    rows: Mapped[int] = mapped_column(default=0)  # values read
    changed: Mapped[int] = mapped_column(default=0)  # values that differed from before
    # The changes counted per metric when they were written (they never change after):
    # {metric: [changes, values that were new, values older than the current one]}.
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    # Why a rejected call was refused: [{"line" or "index", "field", "message"}]
    problems: Mapped[list] = mapped_column(JSON, default=list)
    definition_version: Mapped[int | None]
    # Reverting keeps the import and its values (history stays) but no longer counts them:
    # each value falls back to what it was before.
    reverted_at: Mapped[datetime | None]
    reverted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    reverted_by: Mapped[User | None] = relationship(foreign_keys=[reverted_by_id])


class ImportChange(db.Model):
    """One value an import changed: what it was before and what it became. Rows of their
    own (an import of every partner changes tens of thousands), so its page reads one page
    of them, searched and filtered in SQL; written with the import, never changed."""

    __tablename__ = "scorecard_import_change"
    __table_args__ = (
        # The import's page: by partner name (all, or of one metric), then metric and date.
        Index("ix_scorecard_import_change_name", "import_id", "name_key", "metric", "as_of",
              "id"),
        Index("ix_scorecard_import_change_metric", "import_id", "metric", "name_key",
              "as_of", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("scorecard_import.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    partner: Mapped[str] = mapped_column(String(200))  # the name as the import matched it
    name_key: Mapped[str] = mapped_column(String(200))  # the same, lower-cased, to sort by
    metric: Mapped[str] = mapped_column(String(50))
    as_of: Mapped[date]
    new: Mapped[float] = mapped_column(Float)
    # The value it replaced as a current value (None: the partner had none).
    old: Mapped[float | None] = mapped_column(Float)
    old_as_of: Mapped[date | None]
    # False when older than the current value: it fills in history and changes no score.
    current: Mapped[bool]


class ImportMapping(db.Model):
    """The column mapping last used for a file layout (its normalised headers): the next
    file from the same source starts with it."""

    __tablename__ = "scorecard_import_mapping"

    id: Mapped[int] = mapped_column(primary_key=True)
    layout: Mapped[str] = mapped_column(String(64), unique=True)  # hash of the headers
    mapping: Mapped[list] = mapped_column(JSON)
    used_at: Mapped[datetime] = mapped_column(default=utcnow)


class MetricValue(db.Model):
    __tablename__ = "scorecard_metric_value"
    __table_args__ = (
        Index("ix_scorecard_metric_value_current", "organisation_id", "metric", "as_of"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    metric: Mapped[str] = mapped_column(String(50))
    value: Mapped[float] = mapped_column(Float)
    as_of: Mapped[date]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    import_id: Mapped[int] = mapped_column(ForeignKey("scorecard_import.id"), index=True)

    @classmethod
    def counted(cls):
        """The condition every read of values uses: not brought by a reverted import."""
        return cls.import_id.not_in(
            select(MetricImport.id).where(MetricImport.reverted_at.is_not(None)))


class ReviewPeriod(db.Model):
    """A review period (a quarter by default). Closing it freezes every partner's scorecard."""

    __tablename__ = "scorecard_period"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="dates"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)  # "2026 Q4"
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    definition_version: Mapped[int | None]
    definition_hash: Mapped[str | None] = mapped_column(String(64))
    partners: Mapped[int] = mapped_column(default=0)
    # Partners per health as frozen, written with the snapshots: the period's page counts
    # one health's partners without counting thousands of snapshots on every view.
    health_counts: Mapped[dict] = mapped_column(JSON, default=dict)
    # The frozen scorecards' average score and readiness (None when none has one), for the
    # periods' trend: written with the snapshots, as the counts are.
    average_score: Mapped[float | None] = mapped_column(Float)
    average_readiness: Mapped[float | None] = mapped_column(Float)

    closed_by: Mapped[User | None] = relationship()


class Snapshot(db.Model):
    """One partner's whole scorecard as it stood when its period closed (never changed)."""

    __tablename__ = "scorecard_snapshot"
    __table_args__ = (
        UniqueConstraint("period_id", "organisation_id"),
        # A closed period's page lists its partners by name, all or of one health.
        Index("ix_scorecard_snapshot_period_name", "period_id", "name_key", "organisation_id"),
        Index("ix_scorecard_snapshot_period_health", "period_id", "health", "name_key"),
        CheckConstraint("health IN ('green', 'yellow', 'red', 'unknown')", name="health"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("scorecard_period.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    taken_at: Mapped[datetime]
    name_key: Mapped[str] = mapped_column(String(200), default="")  # the name, lower-cased
    # Columns repeat what trends and comparisons chart; the record is what pages show.
    score: Mapped[float | None] = mapped_column(Float)
    coverage: Mapped[float] = mapped_column(Float)
    health: Mapped[str] = mapped_column(String(10))
    readiness_total: Mapped[float | None] = mapped_column(Float)
    rubric_version: Mapped[int | None]
    rubric_hash: Mapped[str | None] = mapped_column(String(64))
    record: Mapped[dict] = mapped_column(JSON)
    # What the period's table and comparisons show of the record (lms.scorecard.table.compact).
    table_row: Mapped[dict] = mapped_column(JSON)


class PeriodOverlap(db.Model):
    """How many partners two closed periods share, written when the later one closes: a
    comparison of the two then knows how many rows it has (those of either period)
    without matching thousands of snapshots on every view. No row: none shared."""

    __tablename__ = "scorecard_period_overlap"
    __table_args__ = (CheckConstraint("other_period_id < period_id", name="earlier"),)

    period_id: Mapped[int] = mapped_column(ForeignKey("scorecard_period.id"), primary_key=True,
                                           autoincrement=False)
    other_period_id: Mapped[int] = mapped_column(ForeignKey("scorecard_period.id"),
                                                 primary_key=True, autoincrement=False)
    partners: Mapped[int]


class PartnerState(db.Model):
    """The health and flag keys last seen per partner: a change fires the webhooks."""

    __tablename__ = "scorecard_state"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"),
                                                 primary_key=True, autoincrement=False)
    health: Mapped[str] = mapped_column(String(10))
    score: Mapped[float | None] = mapped_column(Float)
    flags: Mapped[list] = mapped_column(JSON, default=list)
    computed_at: Mapped[datetime]


class CurrentScorecard(db.Model):
    """Each partner's scorecard as the last recompute left it: the table, the partner page
    and the exports read these, so no view scores anyone (checkpoints and flags included).

    The record is the whole scorecard; the columns beside it repeat what the table sorts,
    filters and searches by, each with its index. Rows are upserted, never deleted except
    for a partner that is no longer scored (marked inactive).
    """

    __tablename__ = "scorecard_current"
    __table_args__ = (
        CheckConstraint("health IN ('green', 'yellow', 'red', 'unknown')", name="health"),
        Index("ix_scorecard_current_name", "name_key", "organisation_id"),
        Index("ix_scorecard_current_score", "score", "name_key"),
        Index("ix_scorecard_current_coverage", "coverage", "name_key"),
        Index("ix_scorecard_current_flag_count", "flag_count", "name_key"),
        Index("ix_scorecard_current_health", "health", "name_key"),
        Index("ix_scorecard_current_tier", "tier", "name_key"),
        Index("ix_scorecard_current_region", "region", "name_key"),
        Index("ix_scorecard_current_partner_type", "partner_type", "name_key"),
    )

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"),
                                                 primary_key=True, autoincrement=False)
    name_key: Mapped[str] = mapped_column(String(200))  # the name lower-cased, to sort by
    tier: Mapped[str] = mapped_column(String(50))
    region: Mapped[str] = mapped_column(String(50))
    partner_type: Mapped[str] = mapped_column(String(50))
    health: Mapped[str] = mapped_column(String(10))
    score: Mapped[float | None] = mapped_column(Float)
    coverage: Mapped[float] = mapped_column(Float)
    flag_count: Mapped[int]
    gap_count: Mapped[int]  # metrics missing or stale
    computed_at: Mapped[datetime]
    record: Mapped[dict] = mapped_column(JSON)
    # What the table shows of the record (lms.scorecard.table.compact): a page reads these.
    table_row: Mapped[dict] = mapped_column(JSON)


class CurrentSummary(db.Model):
    """What the scorecard's tiles show, kept by the writes that change it: partners still
    scored by health, how many have flags or data-quality gaps, partners not scored yet,
    and the last recompute. One row.

    Recounted from scorecard_current and the organisations (so it is exact by
    construction) by every recompute that stores scorecards and by every creation or
    change of status of an organisation, in the same transaction; the pages then read one
    row instead of aggregating every partner per view.
    """

    __tablename__ = "scorecard_current_summary"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, default=1)
    green: Mapped[int] = mapped_column(default=0)
    yellow: Mapped[int] = mapped_column(default=0)
    red: Mapped[int] = mapped_column(default=0)
    unknown: Mapped[int] = mapped_column(default=0)
    flagged: Mapped[int] = mapped_column(default=0)  # scored partners with a risk flag
    gapped: Mapped[int] = mapped_column(default=0)  # ... with a metric missing or stale
    unscored: Mapped[int] = mapped_column(default=0)  # active, not scored yet
    computed_at: Mapped[datetime | None]  # the latest stored scorecard's


class CurrentMetric(db.Model):
    """A partner's current value of each metric, to sort the table by a metric's column.
    None when missing (never reported): it sorts last whichever the direction."""

    __tablename__ = "scorecard_current_metric"
    __table_args__ = (Index("ix_scorecard_current_metric_sort", "metric", "value"),)

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"),
                                                 primary_key=True, autoincrement=False)
    metric: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)


class CurrentFlag(db.Model):
    """How many flags of each kind a partner has now (0 included, so a recompute only ever
    upserts), to filter the table by a kind of flag."""

    __tablename__ = "scorecard_current_flag"
    __table_args__ = (
        CheckConstraint("raised >= 0", name="raised"),
        Index("ix_scorecard_current_flag_kind", "kind", "raised", "organisation_id"),
    )

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"),
                                                 primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    raised: Mapped[int] = mapped_column(default=0)


class WebhookEndpoint(db.Model):
    __tablename__ = "scorecard_webhook"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    # Kept as given: signing needs the secret itself (as with any HMAC webhook).
    secret: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    deactivated_at: Mapped[datetime | None]


class WebhookDelivery(db.Model):
    __tablename__ = "scorecard_delivery"
    __table_args__ = (CheckConstraint("attempts >= 0", name="attempts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)  # X-Scorecard-Delivery
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("scorecard_webhook.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    event: Mapped[str] = mapped_column(String(50))
    payload: Mapped[str] = mapped_column(Text)  # the exact body signed and sent
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    # Due while set; cleared once delivered or given up.
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    delivered_at: Mapped[datetime | None]
    gave_up_at: Mapped[datetime | None]
    signature: Mapped[str | None] = mapped_column(String(100))  # of the last attempt
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    endpoint: Mapped[WebhookEndpoint] = relationship()


class DeliveryAttempt(db.Model):
    """Every attempt, successful or not: the delivery log."""

    __tablename__ = "scorecard_delivery_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("scorecard_delivery.id"), index=True)
    number: Mapped[int]
    attempted_at: Mapped[datetime]
    timestamp: Mapped[int]  # X-Scorecard-Timestamp, signed with the body
    signature: Mapped[str] = mapped_column(String(100))
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(default=0)


class ApiToken(db.Model):
    """A bearer token for the scorecard API, acting as the person who made it.

    Only the SHA-256 of the secret is kept; the secret is shown once, at creation.
    """

    __tablename__ = "scorecard_api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown, to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
