"""Running journeys: start them, complete milestones from evidence, sign-offs and due dates.

Evidence is looked up with one query per kind of milestone for any number of journeys, so
the events, the start of a journey and the periodic sweep all share `refresh()`.
Services flush; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, selectinload

from lms.accounts.models import PARTNER_ROLES, Organisation, User
from lms.accounts.scoping import scope_partner_rows, sees_every_partner
from lms.assessments.models import Assessment, Attempt
from lms.catalog.models import Assignment, Track, TrackCompletion
from lms.certifications.models import Certificate
from lms.core import clock, events, tallies
from lms.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from lms.core.upsert import insert_new_rows
from lms.extensions import db
from lms.journeys import timeline
from lms.journeys.loader import AUDIENCE_TERMS, KINDS
from lms.journeys.models import (
    EvidenceFile,
    Journey,
    JourneyEvent,
    JourneyMilestone,
    JourneyTemplate,
    JourneyTemplateVersion,
)

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
NOTE_MAX = 4000


# --- templates -----------------------------------------------------------------------------

def live_templates(scope: str | None = None) -> list[JourneyTemplate]:
    query = (select(JourneyTemplate).where(JourneyTemplate.archived_at.is_(None),
                                           JourneyTemplate.current_version_id.is_not(None))
             .options(selectinload(JourneyTemplate.current_version))
             .order_by(JourneyTemplate.code))
    if scope:
        query = query.where(JourneyTemplate.scope == scope)
    return list(db.session.scalars(query))


def choose_template(scope: str, facts: dict[str, str | None]) -> JourneyTemplate | None:
    """The live template whose audience fits; the most specific wins, then the first by code.

    `facts` holds the subject's partner_type, tier, region (and job_role for a person).
    An empty audience list means everyone.
    """
    fitting = []
    for template in live_templates(scope):
        audience = template.current_version.audience
        checks = [(name, facts.get(term)) for name, term in AUDIENCE_TERMS.items()]
        if all(not audience.get(name) or value in audience[name] for name, value in checks):
            specificity = sum(1 for name, _ in checks if audience.get(name))
            fitting.append((-specificity, template.code, template))
    return min(fitting, key=lambda entry: entry[:2])[2] if fitting else None


# --- starting ------------------------------------------------------------------------------

def start(template_id: int, *, organisation_id: int | None = None, user_id: int | None = None,
          actor: User | None = None) -> Journey:
    """Start a template's current version for an organisation or a person.

    Evidence that already exists counts at once. Starting the same template twice for the
    same subject is refused (the database decides, so racing starts leave one journey).
    """
    template = db.session.get(JourneyTemplate, template_id)
    if template is None or template.archived_at is not None or template.current_version is None:
        raise NotFound("No such journey template.")
    version = template.current_version
    if version.scope == "person":
        person = db.session.get(User, user_id) if user_id else None
        if person is None or person.role not in PARTNER_ROLES or person.organisation_id is None:
            raise Invalid(f"'{version.name}' is for one person: choose who.", field="user_id")
        if organisation_id is not None and person.organisation_id != organisation_id:
            raise Invalid("That person is not on this partner's staff.", field="user_id")
        organisation_id, subject_key = person.organisation_id, f"person:{person.id}"
    else:
        if user_id is not None:
            raise Invalid(f"'{version.name}' is for a whole organisation, not one person.",
                          field="user_id")
        if organisation_id is None or db.session.get(Organisation, organisation_id) is None:
            raise Invalid("Choose a partner organisation.", field="organisation_id")
        user_id, subject_key = None, f"organisation:{organisation_id}"
    now = clock.now()
    stalls_in = timedelta(days=version.stalled_after_days)
    journey = Journey(template_id=template.id, template_version_id=version.id,
                      scope=version.scope, subject_key=subject_key,
                      organisation_id=organisation_id, user_id=user_id, started_at=now,
                      started_by_id=actor.id if actor else None, current_stage=0,
                      stage_count=len(version.stages), last_progress_at=now,
                      stalls_at=now + stalls_in)
    try:
        with db.session.begin_nested():
            db.session.add(journey)
            db.session.flush()
    except IntegrityError:
        raise Conflict(f"'{version.name}' has already been started for them.",
                       field="template_id") from None
    journey.milestones = _milestones_for(journey, version)
    journey.overdue_since = _overdue_since(journey.milestones)
    if journey.user_id is not None:
        _assign_tracks(journey, actor)
    _log(journey, "started", f"{version.name} (version {version.number})"
         + (" started by hand" if actor else ""), actor=actor, at=now)
    db.session.flush()
    refresh(journey_ids=[journey.id])
    return journey


def _milestones_for(journey: Journey, version: JourneyTemplateVersion) -> list[JourneyMilestone]:
    milestones = []
    for stage_index, stage in enumerate(version.stages):
        for position, spec in enumerate(stage["milestones"]):
            kind = next(k for k in KINDS if k in spec)
            target = spec["certified_staff"]["program"] if kind == "certified_staff" \
                else (None if kind == "manual" else spec[kind])
            milestones.append(JourneyMilestone(
                journey_id=journey.id, key=spec["key"], stage_index=stage_index,
                stage_name=stage["name"], position=position, title=spec["title"], kind=kind,
                target=target,
                required_count=spec["certified_staff"]["count"]
                if kind == "certified_staff" else None,
                owner=spec["owner"],
                evidence=spec["manual"].get("evidence", "none") if kind == "manual" else "none",
                instructions=spec["manual"].get("instructions", "") if kind == "manual" else "",
                due_at=journey.started_at + timedelta(days=spec["due_days"])))
    return milestones


def _assign_tracks(journey: Journey, actor: User | None) -> None:
    """A journey that waits for a track makes sure the person has it to work on, due when
    the milestone is (an existing assignment is left as it is)."""
    wanted = {m.target: m for m in journey.milestones if m.kind == "track"}
    if not wanted:
        return
    tracks = dict(db.session.execute(select(Track.slug, Track.id).where(
        Track.slug.in_(wanted), Track.archived_at.is_(None))).all())
    assigned = set(db.session.scalars(select(Assignment.track_id).where(
        Assignment.user_id == journey.user_id, Assignment.track_id.in_(tracks.values()))))
    # A rule may assign the same track meanwhile: theirs stands (lms.core.upsert).
    insert_new_rows(Assignment, [
        {"user_id": journey.user_id, "track_id": track_id, "manual": True, "by_rule": False,
         "assigned_by_id": actor.id if actor else None, "assigned_at": journey.started_at,
         "due_at": wanted[slug].due_at}
        for slug, track_id in tracks.items() if track_id not in assigned],
        ["user_id", "track_id"])


def start_for_organisation(organisation_id: int) -> Journey | None:
    """Start the organisation journey that fits a new partner, if any (idempotent)."""
    organisation = db.session.get(Organisation, organisation_id)
    template = choose_template("organisation", {
        "partner_type": organisation.partner_type, "tier": organisation.tier,
        "region": organisation.region})
    return _start_once(template, organisation_id=organisation_id)


def start_for_person(user_id: int) -> Journey | None:
    """Start the journey for a new partner staff member's job role, if any (idempotent)."""
    person = db.session.get(User, user_id)
    if person is None or person.role not in PARTNER_ROLES or person.organisation_id is None:
        return None
    organisation = db.session.get(Organisation, person.organisation_id)
    template = choose_template("person", {
        "partner_type": organisation.partner_type, "tier": organisation.tier,
        "region": organisation.region, "job_role": person.job_role})
    return _start_once(template, user_id=user_id)


def follow_person(user_id: int) -> int:
    """A person moved to another partner takes their journeys along, so their new partner's
    admins see and sign them off and the old partner no longer sees them; how many moved."""
    person = db.session.get(User, user_id)
    if person is None or person.organisation_id is None:
        return 0
    moved = list(db.session.scalars(select(Journey).where(
        Journey.user_id == user_id, Journey.organisation_id != person.organisation_id)))
    for journey in moved:
        journey.organisation_id = person.organisation_id
        _log(journey, "moved", f"{person.full_name} moved to another partner", at=clock.now())
    if moved:
        # What a partner signed off stays with it: left behind while the person is elsewhere
        # (and theirs again if they come back).
        db.session.execute(
            update(JourneyMilestone)
            .where(JourneyMilestone.journey_id.in_([j.id for j in moved]),
                   JourneyMilestone.evidence_organisation_id.is_not(None))
            .values(evidence_left_behind=JourneyMilestone.evidence_organisation_id
                    != person.organisation_id)
            .execution_options(synchronize_session=False))
    db.session.flush()
    return len(moved)


def _start_once(template: JourneyTemplate | None, **subject) -> Journey | None:
    if template is None:
        return None
    try:
        return start(template.id, **subject)
    except Conflict:
        return None


# --- evidence ------------------------------------------------------------------------------

def refresh(*, user_ids: list[int] | None = None, journey_ids: list[int] | None = None) -> int:
    """Complete the open automatic milestones whose evidence exists; return how many.

    `user_ids` covers those people's journeys and their organisations' journeys (a count of
    certified staff may have moved); with neither argument, every open journey is looked at.
    A constant number of queries, whatever the number of journeys.
    """
    query = (select(JourneyMilestone).join(JourneyMilestone.journey)
             .options(contains_eager(JourneyMilestone.journey)
                      .selectinload(Journey.template_version))
             .where(JourneyMilestone.done_at.is_(None), JourneyMilestone.kind != "manual",
                    Journey.completed_at.is_(None)))
    journeys_query = select(Journey).where(Journey.first_certified_at.is_(None))
    if journey_ids is not None:
        query = query.where(Journey.id.in_(journey_ids))
        journeys_query = journeys_query.where(Journey.id.in_(journey_ids))
    if user_ids is not None:
        their_orgs = select(User.organisation_id).where(User.id.in_(user_ids)).scalar_subquery()
        subject = or_(Journey.user_id.in_(user_ids),
                      and_(Journey.scope == "organisation",
                           Journey.organisation_id.in_(their_orgs)))
        query = query.where(subject)
        journeys_query = journeys_query.where(subject)
    _record_first_certifications(list(db.session.scalars(journeys_query)))
    milestones = list(db.session.scalars(query).unique())
    if not milestones:
        return 0
    now = clock.now()
    found = _evidence_times(milestones, now)
    completed = 0
    for milestone in milestones:
        at = found.get(milestone.id)
        # Evidence older than the journey counts as done on its first day.
        if at is not None and complete(milestone, at=max(at, milestone.journey.started_at),
                                       now=now):
            completed += 1
    return completed


def people_with_evidence_since(moment: datetime) -> list[int]:
    """Who completed a track, passed an assessment or was issued a certificate at or after
    `moment`: the only people whose milestones can have moved since then."""
    found: set[int] = set()
    for statement in (
            select(TrackCompletion.user_id).where(TrackCompletion.completed_at >= moment),
            select(Attempt.user_id).where(Attempt.passed.is_(True),
                                          Attempt.submitted_at >= moment),
            select(Certificate.user_id).where(Certificate.issued_at >= moment)):
        found.update(db.session.scalars(statement.distinct()))
    return sorted(found)


def _evidence_times(milestones: list[JourneyMilestone], now: datetime) -> dict[int, datetime]:
    """Milestone id -> when its evidence arrived, for those whose evidence exists."""
    by_kind: dict[str, list[JourneyMilestone]] = {}
    for milestone in milestones:
        by_kind.setdefault(milestone.kind, []).append(milestone)
    found: dict[int, datetime] = {}

    def first_times(kind: str, statement) -> None:
        wanted = by_kind.get(kind, [])
        if not wanted:
            return
        users = {m.journey.user_id for m in wanted}
        targets = {m.target for m in wanted}
        times = {(user_id, target): at for user_id, target, at
                 in db.session.execute(statement(users, targets))}
        for milestone in wanted:
            at = times.get((milestone.journey.user_id, milestone.target))
            if at is not None:
                found[milestone.id] = at

    first_times("track", lambda users, slugs: (
        select(TrackCompletion.user_id, Track.slug, func.min(TrackCompletion.completed_at))
        .join(Track, Track.id == TrackCompletion.track_id)
        .where(TrackCompletion.user_id.in_(users), Track.slug.in_(slugs))
        .group_by(TrackCompletion.user_id, Track.slug)))
    first_times("assessment", lambda users, slugs: (
        select(Attempt.user_id, Assessment.slug, func.min(Attempt.submitted_at))
        .join(Assessment, Assessment.id == Attempt.assessment_id)
        .where(Attempt.user_id.in_(users), Assessment.slug.in_(slugs),
               Attempt.passed.is_(True))
        .group_by(Attempt.user_id, Assessment.slug)))
    first_times("certification", lambda users, codes: (
        select(Certificate.user_id, Certificate.program_code, func.min(Certificate.issued_at))
        .where(Certificate.user_id.in_(users), Certificate.program_code.in_(codes),
               Certificate.revoked_at.is_(None))
        .group_by(Certificate.user_id, Certificate.program_code)))

    counted = by_kind.get("certified_staff", [])
    if counted:
        holders = {(org_id, code): count for org_id, code, count in db.session.execute(
            select(User.organisation_id, Certificate.program_code,
                   func.count(Certificate.user_id.distinct()))
            .join(User, User.id == Certificate.user_id)
            .where(User.organisation_id.in_({m.journey.organisation_id for m in counted}),
                   User.active.is_(True),
                   Certificate.program_code.in_({m.target for m in counted}),
                   Certificate.revoked_at.is_(None), Certificate.superseded_at.is_(None),
                   Certificate.expires_at > now)
            .group_by(User.organisation_id, Certificate.program_code))}
        for milestone in counted:
            if holders.get((milestone.journey.organisation_id, milestone.target), 0) \
                    >= milestone.required_count:
                found[milestone.id] = now
    return found


def _record_first_certifications(journeys: list[Journey]) -> None:
    """Note when each person, and each organisation's staff, first earned a certificate."""
    if not journeys:
        return
    people = {j.user_id for j in journeys if j.user_id is not None}
    organisations = {j.organisation_id for j in journeys if j.scope == "organisation"}
    by_person = dict(db.session.execute(
        select(Certificate.user_id, func.min(Certificate.issued_at))
        .where(Certificate.user_id.in_(people), Certificate.revoked_at.is_(None))
        .group_by(Certificate.user_id)).all()) if people else {}
    by_organisation = dict(db.session.execute(
        select(User.organisation_id, func.min(Certificate.issued_at))
        .join(User, User.id == Certificate.user_id)
        .where(User.organisation_id.in_(organisations), Certificate.revoked_at.is_(None))
        .group_by(User.organisation_id)).all()) if organisations else {}
    for journey in journeys:
        first = by_person.get(journey.user_id) if journey.user_id is not None \
            else by_organisation.get(journey.organisation_id)
        if first is not None:
            journey.first_certified_at = first


def complete(milestone: JourneyMilestone, *, at: datetime, now: datetime | None = None,
             actor: User | None = None, note: str | None = None) -> bool:
    """Mark a milestone done and move its journey on (stage, stall clock, completion).

    False, changing nothing, if it was done meanwhile: of two sign-offs or sweeps of the
    same milestone at once, the first claims it (a conditional UPDATE the database
    serialises) and the other logs and announces nothing.
    """
    now = now or clock.now()
    table = JourneyMilestone.__table__
    db.session.flush()  # what the caller set on it stands before it is read afresh below
    if not db.session.execute(update(table).where(
            table.c.id == milestone.id, table.c.done_at.is_(None)).values(done_at=at)).rowcount:
        db.session.refresh(milestone)
        return False
    journey = milestone.journey
    _lock_and_reload(journey)
    milestone.done_at = at
    milestone.done_by_id = actor.id if actor else None
    milestone.note = note
    late = "" if timeline.on_time(at, milestone.due_at) else " (late)"
    # Logged at the evidence's own time, so the history reads in the order things happened
    # even when the sweep finds evidence later.
    _log(journey, "signed_off" if actor else "milestone_done", milestone.title + late,
         milestone=milestone, actor=actor, at=at)
    journey.last_progress_at = max(journey.last_progress_at, at)
    journey.stalls_at = journey.last_progress_at + timedelta(
        days=journey.template_version.stalled_after_days)
    state = timeline.build(journey.milestones, now)
    journey.current_stage = state.current_stage
    journey.overdue_since = _overdue_since(journey.milestones)
    if state.complete and journey.completed_at is None:
        journey.completed_at = max(m.done_at for m in journey.milestones)
        _log(journey, "completed", "every milestone is done", at=journey.completed_at)
    db.session.flush()
    events.milestone_completed.send(journey.organisation_id, milestone_id=milestone.id)
    return True


def _lock_and_reload(journey: Journey) -> None:
    """Lock the journey's row, then read it and its milestones afresh: of two milestones of
    one journey completed at once, the second waits here for the first to commit and then
    sees it done, so the stage, completion and overdue_since it stores count both (on
    SQLite, writers are serialised already).

    FOR NO KEY UPDATE, as an UPDATE of the row would take: it waits for another completion,
    not for a transaction that merely logs an event against the journey (a key share).
    Taken before this transaction logs one itself, so two completions cannot deadlock."""
    db.session.execute(select(Journey).where(Journey.id == journey.id)
                       .with_for_update(key_share=True)
                       .execution_options(populate_existing=True))
    db.session.execute(select(JourneyMilestone).where(JourneyMilestone.journey_id == journey.id)
                       .execution_options(populate_existing=True))


@tallies.summary("journey_overdue_since")
def recount_overdue_since(journey_ids: list[int] | None = None) -> None:
    """Set overdue_since from the milestones themselves (of `journey_ids`, or every journey)
    in one UPDATE: after rows arrived another way (a bulk load), as the migration did."""
    first_open_due = (select(func.min(JourneyMilestone.due_at))
                      .where(JourneyMilestone.journey_id == Journey.id,
                             JourneyMilestone.done_at.is_(None)).scalar_subquery())
    statement = update(Journey).values(overdue_since=first_open_due)
    if journey_ids is not None:
        statement = statement.where(Journey.id.in_(journey_ids))
    db.session.execute(statement.execution_options(synchronize_session=False))
    db.session.flush()


def _overdue_since(milestones: list[JourneyMilestone]) -> datetime | None:
    """The earliest due date among the open milestones: the journey is overdue after it."""
    return min((m.due_at for m in milestones if m.done_at is None), default=None)


# --- people acting on milestones -----------------------------------------------------------

@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def may_sign_off(actor: User, milestone: JourneyMilestone) -> bool:
    """The owner signs a manual milestone off; vendor admins may act for a partner admin."""
    if milestone.kind != "manual" or milestone.done_at is not None:
        return False
    journey = milestone.journey
    if milestone.owner == "person":
        return actor.id == journey.user_id
    if milestone.owner == "partner_admin":
        return actor.role == "vendor_admin" or (
            actor.role == "partner_admin" and actor.organisation_id == journey.organisation_id)
    return actor.role in ("vendor_admin", "channel_manager")


def sign_off(milestone_id: int, *, actor: User, note: str = "",
             upload: Upload | None = None) -> JourneyMilestone:
    """Sign off a manual milestone with its evidence. Out-of-scope milestones are not found."""
    milestone = get_milestone_for(actor, milestone_id)
    if milestone.kind != "manual":
        raise Conflict("This milestone completes by itself when its evidence arrives.")
    if milestone.done_at is not None:
        raise Conflict("This milestone was already signed off.")
    if not may_sign_off(actor, milestone):
        raise PermissionDenied(f"Only {owner_label(milestone.owner)} can sign this off.")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise Invalid(f"Keep the note under {NOTE_MAX} characters.", field="note")
    needs = milestone.evidence
    if needs == "note" and not note:
        raise Invalid("Add a note saying how this was done.", field="note")
    if needs == "file" and upload is None:
        raise Invalid("Attach the file that shows this was done.", field="evidence_file")
    if needs == "note_or_file" and not note and upload is None:
        raise Invalid("Add a note or attach a file as evidence.", field="note")
    if upload is not None:
        if not upload.data:
            raise Invalid("The file is empty.", field="evidence_file")
        if len(upload.data) > MAX_EVIDENCE_BYTES:
            raise Invalid("The file is larger than 10 MB.", field="evidence_file")
    milestone.evidence_organisation_id = milestone.journey.organisation_id
    # Claimed before the evidence is stored: a second, simultaneous sign-off stops here.
    if not complete(milestone, at=clock.now(), actor=actor, note=note or None):
        raise Conflict("This milestone was already signed off.")
    if upload is not None:
        db.session.add(EvidenceFile(
            milestone_id=milestone.id, filename=upload.filename[:255] or "evidence",
            content_type=(upload.content_type or "application/octet-stream")[:100],
            size=len(upload.data), data=upload.data, uploaded_by_id=actor.id,
            uploaded_at=clock.now()))
        db.session.flush()
    return milestone


def evidence_visible_to(actor: User, milestone: JourneyMilestone) -> bool:
    """May `actor` read this milestone's sign-off note and file? The vendor's team always;
    otherwise only people of the partner it was given for: its admins, and the person the
    journey is about while they are still there."""
    # The page showing it is scoped already; here only a mover's old sign-offs are held back.
    if milestone.evidence_organisation_id is None or sees_every_partner(actor):
        return True
    if actor.organisation_id != milestone.evidence_organisation_id:
        return False
    return actor.role == "partner_admin" or actor.id == milestone.journey.user_id


def get_evidence_file_for(actor: User, milestone_id: int) -> EvidenceFile:
    """A sign-off's file, scoped by the partner it was given for (not where the journey is
    now): the old partner keeps reaching its files after the person moved on."""
    query = scope_partner_rows(
        select(EvidenceFile).join(EvidenceFile.milestone).join(JourneyMilestone.journey)
        .where(JourneyMilestone.id == milestone_id), actor,
        organisation_column=JourneyMilestone.evidence_organisation_id,
        user_column=Journey.user_id)
    if not sees_every_partner(actor):
        query = query.where(JourneyMilestone.evidence_organisation_id == actor.organisation_id)
    file = db.session.scalar(query)
    if file is None:
        raise NotFound("No file was attached to this milestone.")
    return file


def evidence_left_behind(organisation_id: int, *, limit: int = 50) -> list[JourneyMilestone]:
    """Sign-offs this partner gave for people who have since moved to another partner."""
    # Read through the partial index of left-behind sign-offs: the partner's own (every
    # sign-off it gave its staff, which grow with them) are never touched.
    return list(db.session.scalars(
        select(JourneyMilestone)
        .where(JourneyMilestone.evidence_organisation_id == organisation_id,
               JourneyMilestone.evidence_left_behind)
        .options(selectinload(JourneyMilestone.evidence_file),
                 selectinload(JourneyMilestone.journey))
        .order_by(JourneyMilestone.done_at.desc(), JourneyMilestone.id.desc()).limit(limit)))


def change_due_date(milestone_id: int, *, due_on: date | None, reason: str,
                    actor: User) -> JourneyMilestone:
    """Move an open milestone's due date (vendor admins only), with the reason logged."""
    if actor.role != "vendor_admin":
        raise PermissionDenied("Only vendor admins change due dates.")
    milestone = get_milestone_for(actor, milestone_id)
    if milestone.done_at is not None:
        raise Conflict("This milestone is already done; its due date no longer matters.")
    if due_on is None:
        raise Invalid("Choose the new due date.", field="due_on")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Say why the due date changes.", field="reason")
    if due_on < milestone.journey.started_at.date():
        raise Invalid("The due date cannot be before the journey started.", field="due_on")
    old = milestone.due_at
    # Due at the end of the chosen day, in UTC, so "due 14 March" includes 14 March.
    milestone.due_at = datetime.combine(due_on, time(23, 59, 59), tzinfo=old.tzinfo)
    db.session.flush()
    journey = milestone.journey
    _lock_and_reload(journey)
    journey.overdue_since = _overdue_since(journey.milestones)
    _log(milestone.journey, "due_changed",
         f"{milestone.title}: {old:%d %b %Y} → {milestone.due_at:%d %b %Y}. {reason}",
         milestone=milestone, actor=actor, at=clock.now())
    db.session.flush()
    return milestone


def owner_label(owner: str) -> str:
    return {"person": "the person themself", "partner_admin": "a partner admin",
            "vendor": "the vendor's partner team"}[owner]


# --- reading, scoped -----------------------------------------------------------------------

def get_journey_for(actor: User, journey_id: int) -> Journey:
    journey = db.session.scalar(scope_partner_rows(
        select(Journey).where(Journey.id == journey_id), actor,
        organisation_column=Journey.organisation_id, user_column=Journey.user_id))
    if journey is None:
        raise NotFound("No such journey.")
    return journey


def get_milestone_for(actor: User, milestone_id: int) -> JourneyMilestone:
    milestone = db.session.scalar(scope_partner_rows(
        select(JourneyMilestone).join(JourneyMilestone.journey)
        .where(JourneyMilestone.id == milestone_id), actor,
        organisation_column=Journey.organisation_id, user_column=Journey.user_id))
    if milestone is None:
        raise NotFound("No such milestone.")
    return milestone


def journeys_of(user_id: int) -> list[Journey]:
    return list(db.session.scalars(
        select(Journey).where(Journey.user_id == user_id)
        .options(selectinload(Journey.milestones), selectinload(Journey.template_version))
        .order_by(Journey.started_at.desc())))


def organisation_journeys(organisation_id: int) -> list[Journey]:
    return list(db.session.scalars(
        select(Journey).where(Journey.organisation_id == organisation_id,
                              Journey.scope == "organisation")
        .options(selectinload(Journey.milestones).selectinload(JourneyMilestone.evidence_file),
                 selectinload(Journey.template_version))
        .order_by(Journey.started_at.desc())))


def history(journey_id: int) -> list[JourneyEvent]:
    return list(db.session.scalars(select(JourneyEvent).where(
        JourneyEvent.journey_id == journey_id)
        .order_by(JourneyEvent.at.desc(), JourneyEvent.id.desc())))


def _log(journey: Journey, kind: str, detail: str, *, at: datetime,
         milestone: JourneyMilestone | None = None, actor: User | None = None) -> None:
    db.session.add(JourneyEvent(journey_id=journey.id,
                                milestone_id=milestone.id if milestone else None, at=at,
                                kind=kind, detail=detail, actor_id=actor.id if actor else None))
