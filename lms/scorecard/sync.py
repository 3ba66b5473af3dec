"""Apply loaded metric definitions: a new scorecard_definition row when metrics.yml changes.

The running app scores with the newest row, never with the file, so a scorecard can be
explained by the definitions of its day (snapshots keep their version and hash).
"""

from __future__ import annotations

from sqlalchemy import select

from lms.catalog.sync import SyncReport
from lms.core import jobs
from lms.extensions import db
from lms.scorecard.loader import Definitions, read_body
from lms.scorecard.models import MetricDefinitionSet

LABEL = "scorecard metrics"


def apply(loaded: Definitions | None, report: SyncReport) -> MetricDefinitionSet | None:
    """Store the definitions if they changed; report it like the other domains.

    Content without a scorecard folder leaves the stored rows alone: snapshots already
    taken stay explained.
    """
    if loaded is None:
        return None
    current = latest_row()
    if current is not None and current.content_hash == loaded.content_hash:
        report.unchanged.append(f"{LABEL} (version {current.version})")
        return current
    # A reverted edit brings an old body back: it is published again as the newest row,
    # so "newest is in force" stays true without rewriting history.
    row = MetricDefinitionSet(version=loaded.version, content_hash=loaded.content_hash,
                              body=loaded.body)
    db.session.add(row)
    db.session.flush()
    if current is None:
        report.created.append(f"{LABEL} (version {row.version})")
    else:
        note = f"version {row.version}" if row.version != current.version \
            else f"changed, still version {row.version}: bump `version`"
        report.changed.append(f"{LABEL} ({note})")
    from lms.scorecard import service  # service reads definitions through this module

    jobs.enqueue(service.recompute_all)  # health may change with the thresholds
    return row


def latest_row() -> MetricDefinitionSet | None:
    return db.session.scalar(select(MetricDefinitionSet)
                             .order_by(MetricDefinitionSet.id.desc()).limit(1))


def current() -> Definitions | None:
    """The definitions in force, or None before content gave any."""
    row = latest_row()
    return read_body(row.body) if row is not None else None
