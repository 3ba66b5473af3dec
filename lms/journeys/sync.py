"""Apply loaded journey templates: a new immutable version whenever a template changes.

Running journeys keep the version they started with; only journeys started later use the
new one.
"""

from __future__ import annotations

from sqlalchemy import select

from lms.catalog.sync import SyncReport
from lms.core import clock, settings
from lms.extensions import db
from lms.journeys.loader import JourneyProgram, LoadedJourney
from lms.journeys.models import JourneyTemplate, JourneyTemplateVersion

# When nudges.sweep last looked for evidence the events may have missed (sweep sits above
# sync, so it lives here); a content change resets it so the next sweep looks at everyone.
SWEPT_SETTING = "journeys_swept_at"


def apply(loaded: JourneyProgram, report: SyncReport) -> None:
    existing = {t.code: t for t in db.session.scalars(select(JourneyTemplate))}
    for journey in loaded.journeys:
        _sync_one(journey, existing.get(journey.spec.code), report)
    now = clock.now()
    for code, template in existing.items():
        if code not in loaded.codes and template.archived_at is None:
            template.archived_at = now  # journeys already running carry on
            report.archived.append(f"journey {code}")
    if any(line.startswith("journey ") for line in report.created + report.changed):
        settings.put(SWEPT_SETTING, None)  # let the next sweep look at everyone
    db.session.flush()


def _sync_one(loaded: LoadedJourney, template: JourneyTemplate | None,
              report: SyncReport) -> None:
    code = loaded.spec.code
    if template is None:
        template = JourneyTemplate(code=code, scope=loaded.spec.scope)
        db.session.add(template)
        db.session.flush()
        template.current_version = _publish(template, loaded, 1)
        report.created.append(f"journey {code} (version 1)")
        return
    notes = []
    if template.archived_at is not None:
        template.archived_at = None
        notes.append("restored from archive")
    if template.scope != loaded.spec.scope:
        # Journeys already running keep their scope; the template's new versions take the
        # new one, and the audience decides who gets it from now on.
        notes.append(f"scope changed to {loaded.spec.scope}")
        template.scope = loaded.spec.scope
    current = template.current_version
    if current is None or current.content_hash != loaded.content_hash:
        number = (current.number if current else 0) + 1
        # Set the relationship, not only the id: journeys started later in the same
        # transaction (a sync, then a start) must see the new version.
        template.current_version = _publish(template, loaded, number)
        notes.append(f"new version {number}")
    if notes:
        report.changed.append(f"journey {code} ({'; '.join(notes)})")
    else:
        report.unchanged.append(f"journey {code}")


def _publish(template: JourneyTemplate, loaded: LoadedJourney,
             number: int) -> JourneyTemplateVersion:
    spec = loaded.spec
    version = JourneyTemplateVersion(
        template_id=template.id, number=number, name=spec.name, description=spec.description,
        scope=spec.scope, audience=spec.audience.model_dump(),
        stalled_after_days=spec.stalled_after_days,
        stages=[stage.model_dump(exclude_none=True) for stage in spec.stages],
        content_hash=loaded.content_hash, published_at=clock.now())
    db.session.add(version)
    db.session.flush()
    return version
