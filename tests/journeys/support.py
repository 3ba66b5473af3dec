"""Helpers for journey tests: finding journeys and milestones, extra templates, mail."""

from __future__ import annotations

from sqlalchemy import select

from lms.catalog.sync import SyncReport
from lms.core import events as domain_events
from lms.core.mail import OutboxMessage
from lms.extensions import db
from lms.journeys import service, sync
from lms.journeys.loader import JourneyIn, LoadedJourney
from lms.journeys.models import Journey, JourneyEvent, JourneyMilestone, JourneyTemplate


def template(code: str) -> JourneyTemplate:
    return db.session.scalar(select(JourneyTemplate).where(JourneyTemplate.code == code))


def journeys_for(*, organisation_id: int | None = None, user_id: int | None = None,
                 code: str | None = None) -> list[Journey]:
    """The organisation's own journeys, or the person's."""
    query = select(Journey).order_by(Journey.id)
    if user_id is not None:
        query = query.where(Journey.user_id == user_id)
    else:
        query = query.where(Journey.organisation_id == organisation_id,
                            Journey.scope == "organisation")
    if code is not None:
        query = query.join(JourneyTemplate, JourneyTemplate.id == Journey.template_id) \
            .where(JourneyTemplate.code == code)
    return list(db.session.scalars(query))


def org_journey(organisation) -> Journey:
    [journey] = journeys_for(organisation_id=organisation.id)
    return journey


def person_journey(user) -> Journey:
    [journey] = journeys_for(user_id=user.id)
    return journey


def milestone(journey: Journey, key: str) -> JourneyMilestone:
    return db.session.scalar(select(JourneyMilestone).where(
        JourneyMilestone.journey_id == journey.id, JourneyMilestone.key == key))


def done(journey: Journey) -> set[str]:
    return {m.key for m in db.session.scalars(select(JourneyMilestone).where(
        JourneyMilestone.journey_id == journey.id, JourneyMilestone.done_at.is_not(None)))}


def events(journey: Journey, kind: str | None = None) -> list[JourneyEvent]:
    query = select(JourneyEvent).where(JourneyEvent.journey_id == journey.id)
    if kind:
        query = query.where(JourneyEvent.kind == kind)
    return list(db.session.scalars(query.order_by(JourneyEvent.id)))


def add_template(spec: dict) -> JourneyTemplate:
    """Publish one more template (validated like content/journeys/*.yml) beside the shipped."""
    loaded = LoadedJourney("test", JourneyIn.model_validate(spec))
    sync._sync_one(loaded, None, SyncReport())
    db.session.flush()
    return template(spec["code"])


def person_template(code: str, *, job_roles: list[str], milestones: list[dict],
                    stalled_after_days: int = 14) -> JourneyTemplate:
    return add_template({
        "code": code, "name": code.replace("-", " ").title(), "scope": "person",
        "audience": {"job_roles": job_roles}, "stalled_after_days": stalled_after_days,
        "stages": [{"name": "Only stage", "milestones": milestones}]})


def announce_certificate(certificate) -> None:
    """What certifications announce after issuing one (for certificates written directly)."""
    domain_events.certificate_issued.send(
        certificate.user_id, certificate_id=certificate.id,
        program_code=certificate.program_code, renewal=False)


def outbox(template_name: str | None = None, to: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if template_name:
        query = query.where(OutboxMessage.template == template_name)
    if to:
        query = query.where(OutboxMessage.to_address == to)
    return list(db.session.scalars(query))


def insert_partners_onboarding(count: int, *, prefix: str, now) -> list[int]:
    """`count` partners, each with a partner-onboarding journey at one of four points (just
    started, one stage done, two done, complete), written with bulk inserts (no events)."""
    from datetime import timedelta

    from sqlalchemy import insert

    from lms.accounts.models import Organisation

    version = template("partner-onboarding").current_version
    db.session.execute(insert(Organisation), [
        {"name": f"{prefix} {i:04d}", "name_key": f"{prefix} {i:04d}".lower(),
         "partner_type": "reseller", "tier": ("silver", "gold")[i % 2], "region": "emea",
         "status": "active"} for i in range(count)])
    organisations = dict(db.session.execute(select(Organisation.name, Organisation.id).where(
        Organisation.name.like(f"{prefix} %"))).all())
    day = timedelta(days=1)
    journeys = []
    for i in range(count):
        org_id = organisations[f"{prefix} {i:04d}"]
        started = now - (30 + i % 60) * day
        stages_done = i % 4
        complete = stages_done == 3
        journeys.append({
            "template_id": version.template_id, "template_version_id": version.id,
            "scope": "organisation", "subject_key": f"organisation:{org_id}",
            "organisation_id": org_id, "started_at": started, "current_stage": stages_done,
            "stage_count": 3, "last_progress_at": started + stages_done * 5 * day,
            "stalls_at": started + (stages_done * 5 + 21) * day,
            "completed_at": started + 15 * day if complete else None,
            "first_certified_at": started + 12 * day if stages_done >= 2 else None})
    db.session.execute(insert(Journey), journeys)
    ids = dict(db.session.execute(select(Journey.organisation_id, Journey.id).where(
        Journey.organisation_id.in_(organisations.values()))).all())
    milestones = []
    for i in range(count):
        journey_id = ids[organisations[f"{prefix} {i:04d}"]]
        started = journeys[i]["started_at"]
        for stage_index, stage in enumerate(version.stages):
            for position, spec in enumerate(stage["milestones"]):
                kind = next(k for k in ("manual", "certified_staff") if k in spec)
                finished = stage_index < i % 4
                milestones.append({
                    "journey_id": journey_id, "key": spec["key"], "stage_index": stage_index,
                    "stage_name": stage["name"], "position": position, "title": spec["title"],
                    "kind": kind, "owner": spec["owner"],
                    "target": spec["certified_staff"]["program"]
                    if kind == "certified_staff" else None,
                    "required_count": spec["certified_staff"]["count"]
                    if kind == "certified_staff" else None,
                    "evidence": "none", "instructions": "",
                    "due_at": started + spec["due_days"] * day,
                    "done_at": started + (stage_index + 1) * 5 * day if finished else None})
    db.session.execute(insert(JourneyMilestone), milestones)
    db.session.flush()
    # As a bulk load does: what the services keep on the journey, from its milestones.
    service.recount_overdue_since(list(ids.values()))
    return list(organisations.values())
