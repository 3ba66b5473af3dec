"""Apply loaded assessments to the database: new immutable versions when content changes."""

from __future__ import annotations

from sqlalchemy import select

from lms.assessments.loader import AssessmentProgram, LoadedAssessment
from lms.assessments.models import Assessment, AssessmentItem, AssessmentVersion
from lms.catalog.sync import SyncReport
from lms.core import clock
from lms.extensions import db


def apply(program: AssessmentProgram, report: SyncReport) -> None:
    existing = {a.slug: a for a in db.session.scalars(select(Assessment))}
    for loaded in program.assessments:
        _sync_one(loaded, existing.get(loaded.spec.slug), report)
    now = clock.now()
    for slug, assessment in existing.items():
        if slug not in program.slugs and assessment.archived_at is None:
            assessment.archived_at = now
            report.archived.append(f"assessment {slug}")
    db.session.flush()


def _sync_one(loaded: LoadedAssessment, assessment: Assessment | None,
              report: SyncReport) -> None:
    slug = loaded.spec.slug
    if assessment is None:
        assessment = Assessment(slug=slug)
        db.session.add(assessment)
        db.session.flush()
        version = _publish(assessment, loaded, 1)
        assessment.current_version_id = version.id
        report.created.append(f"assessment {slug} (version 1: {version.item_count} of "
                              f"{len(loaded.items)} items per attempt)")
        return
    notes = []
    if assessment.archived_at is not None:
        assessment.archived_at = None
        notes.append("restored from archive")
    current = assessment.current_version
    if current is None or current.content_hash != loaded.content_hash:
        number = (current.number if current else 0) + 1
        assessment.current_version_id = _publish(assessment, loaded, number).id
        notes.append(f"new version {number}")
    if notes:
        report.changed.append(f"assessment {slug} ({'; '.join(notes)})")
    else:
        report.unchanged.append(f"assessment {slug}")


def _publish(assessment: Assessment, loaded: LoadedAssessment, number: int) -> AssessmentVersion:
    spec = loaded.spec
    version = AssessmentVersion(
        assessment_id=assessment.id, number=number, title=spec.title,
        description=spec.description, pass_mark=spec.pass_mark,
        time_limit_minutes=spec.time_limit_minutes, max_attempts=spec.max_attempts,
        cooldown_hours=spec.cooldown_hours, shuffle_items=spec.shuffle_items,
        shuffle_options=spec.shuffle_options, feedback=spec.feedback,
        content_hash=loaded.content_hash, published_at=clock.now())
    db.session.add(version)
    db.session.flush()
    rows = [AssessmentItem(assessment_version_id=version.id, position=position,
                           bank_slug=item.bank_slug, item_key=item.key,
                           item_type=item.item_type, points=item.points, tags=item.tags,
                           definition=item.definition, content_hash=item.content_hash)
            for position, item in enumerate(loaded.items)]
    db.session.add_all(rows)
    db.session.flush()
    if loaded.pools:
        ids = {(row.bank_slug, row.item_key): row.id for row in rows}
        version.draw_rules = [{"count": pool["count"],
                               "item_ids": [ids[tuple(key)] for key in pool["items"]]}
                              for pool in loaded.pools]
        db.session.flush()
    return version
