"""Track assignment: rule-based (from audiences) beside manual, re-evaluated on change."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, false, func, literal, select, tuple_

from lms.accounts.models import PARTNER_ROLES, Organisation, User
from lms.catalog import team_tallies
from lms.catalog.audience import Person, matches
from lms.catalog.models import Assignment, Lesson, LessonCompletion, Track, TrackVersion
from lms.core import clock, mail, tallies
from lms.core.errors import Invalid, NotFound
from lms.core.upsert import insert_new, insert_new_rows
from lms.extensions import db

# Each track's assignments (scope: the track), kept by the only two writers below: the
# catalogue shows every track's learners without counting a row per person and track.
ASSIGNMENTS = "assignments"


@tallies.recount(ASSIGNMENTS)
def _recount_assignments():
    return select(Assignment.track_id, literal(""), func.count()).group_by(Assignment.track_id)


@dataclass
class AssignmentChanges:
    added: int = 0
    removed: int = 0
    kept_started: int = 0
    # user id -> tracks that rules newly assigned them (for telling them)
    gained: dict[int, list[Track]] = field(default_factory=dict)


@dataclass
class _Plan:
    """What re-evaluating the rules would do, worked out without writing anything."""

    add: list[tuple[int, Track]] = field(default_factory=list)  # (user id, track)
    delete: list[Assignment] = field(default_factory=list)  # rule assignments never started
    kept_started: list[Assignment] = field(default_factory=list)  # no longer apply, started
    now_by_rule: list[Assignment] = field(default_factory=list)  # manual ones a rule now gives
    now_manual_only: list[Assignment] = field(default_factory=list)  # rule gone, kept by hand


def _plan(*, user_ids: list[int] | None, organisation_ids: list[int] | None,
          attributes: dict | None = None) -> _Plan:
    """The rule-based assignment changes for the people chosen, in four queries whatever
    their number. `attributes` (partner_type, tier, region) stands in for the
    organisation's own: what a change would do before it is made."""
    plan = _Plan()
    tracks = db.session.scalars(
        select(Track).where(Track.archived_at.is_(None), Track.current_version_id.is_not(None))
    ).all()
    people_query = (
        select(User.id, User.job_role, Organisation.partner_type, Organisation.tier,
               Organisation.region)
        .join(Organisation, Organisation.id == User.organisation_id)
        .where(User.role.in_(PARTNER_ROLES), User.active.is_(True))
    )
    if user_ids is not None:
        people_query = people_query.where(User.id.in_(user_ids))
    if organisation_ids is not None:
        people_query = people_query.where(User.organisation_id.in_(organisation_ids))
    people = db.session.execute(people_query).all()
    if not people:
        return plan
    ids = [row.id for row in people]
    existing = {
        (assignment.user_id, assignment.track_id): assignment
        for assignment in db.session.scalars(
            select(Assignment).where(Assignment.user_id.in_(ids)))
    }
    started = {(user_id, track_id) for user_id, track_id in db.session.execute(
        select(LessonCompletion.user_id, TrackVersion.track_id).distinct()
        .join(Lesson, Lesson.id == LessonCompletion.lesson_id)
        .join(TrackVersion, TrackVersion.id == Lesson.track_version_id)
        .where(LessonCompletion.user_id.in_(ids)))}
    for row in people:
        values = {"partner_type": row.partner_type, "tier": row.tier, "region": row.region,
                  **(attributes or {})}
        person = Person(values["partner_type"], values["tier"], values["region"], row.job_role)
        for track in tracks:
            key = (row.id, track.id)
            assignment = existing.get(key)
            if matches(track.audience or {}, person):
                if assignment is None:
                    plan.add.append((row.id, track))
                elif not assignment.by_rule:
                    plan.now_by_rule.append(assignment)
            elif assignment is not None and assignment.by_rule:
                if assignment.manual:
                    plan.now_manual_only.append(assignment)
                elif key in started:
                    plan.kept_started.append(assignment)
                else:
                    plan.delete.append(assignment)
    return plan


def reevaluate(*, user_ids: list[int] | None = None,
               organisation_ids: list[int] | None = None) -> AssignmentChanges:
    """Recompute rule-based assignments for the given people (or everyone).

    A track that stops applying is unassigned only if the person never started it and
    nobody assigned it by hand; progress is never lost.
    """
    plan = _plan(user_ids=user_ids, organisation_ids=organisation_ids)
    with team_tallies.changing(*_changed(plan, user_ids, organisation_ids)):
        return _apply(plan)


# Past this many, the partners' figures are read before and after for the people chosen (or
# everyone) rather than for each assignment added or removed.
MANY_PAIRS = 500


def _changed(plan: _Plan, user_ids, organisation_ids) -> list:
    """The assignments whose figures applying `plan` may change, as a condition."""
    pairs = [(user_id, track.id) for user_id, track in plan.add] + \
        [(assignment.user_id, assignment.track_id) for assignment in plan.delete]
    if len(pairs) <= MANY_PAIRS:
        return [tuple_(Assignment.user_id, Assignment.track_id).in_(pairs) if pairs
                else false()]
    if user_ids is not None:
        return [Assignment.user_id.in_(user_ids)]
    if organisation_ids is not None:
        return [Assignment.user_id.in_(select(User.id).where(
            User.organisation_id.in_(organisation_ids)))]
    return []


def _apply(plan: _Plan) -> AssignmentChanges:
    now = clock.now()
    db.session.flush()  # the inserts below bypass the unit of work
    # Another re-evaluation (a content sync, a change to the person) may add the same
    # assignment meanwhile: the insert leaves theirs, and only ours are announced.
    added = insert_new_rows(Assignment, [
        {"user_id": user_id, "track_id": track.id, "by_rule": True, "manual": False,
         "assigned_at": now, "due_at": _due(track, now)} for user_id, track in plan.add],
        ["user_id", "track_id"])
    changes = AssignmentChanges(added=len(added), removed=len(plan.delete),
                                kept_started=len(plan.kept_started))
    for user_id, track in plan.add:
        if (user_id, track.id) in added:
            changes.gained.setdefault(user_id, []).append(track)
    for assignment in plan.now_by_rule:
        assignment.by_rule = True
    for assignment in plan.now_manual_only:
        assignment.by_rule = False
    removed = []
    if plan.delete:
        # Only the rows this statement deleted are taken off the tally (a concurrent
        # re-evaluation may have deleted some already).
        removed = db.session.scalars(delete(Assignment).where(
            Assignment.id.in_([assignment.id for assignment in plan.delete]))
            .returning(Assignment.track_id)).all()
    tallies.add([(ASSIGNMENTS, track_id, "", 1) for _, track_id in added]
                + [(ASSIGNMENTS, track_id, "", -1) for track_id in removed])
    db.session.flush()
    return changes


@dataclass(frozen=True)
class TrackEffect:
    track_id: int
    title: str
    gained: int  # staff the rules would newly assign it
    lost: int  # staff who would lose it (never started, not assigned by hand)
    kept_started: int  # staff it would stop applying to but who keep it (started)
    due_within_days: int | None


@dataclass(frozen=True)
class AssignmentPreview:
    effects: list[TrackEffect]  # by track title
    people_gaining: int  # distinct staff who would gain at least one track
    people_losing: int


def preview(organisation_id: int, *, partner_type: str, tier: str,
            region: str) -> AssignmentPreview:
    """What changing the organisation's type, tier or region would do to its staff's
    tracks, per track, without changing anything (five queries)."""
    plan = _plan(user_ids=None, organisation_ids=[organisation_id],
                 attributes={"partner_type": partner_type, "tier": tier, "region": region})
    return AssignmentPreview(_effects(plan), len({user_id for user_id, _ in plan.add}),
                             len({assignment.user_id for assignment in plan.delete}))


def _effects(plan: _Plan) -> list[TrackEffect]:
    counts: dict[int, list[int]] = {}
    for _, track in plan.add:
        counts.setdefault(track.id, [0, 0, 0])[0] += 1
    for assignment in plan.delete:
        counts.setdefault(assignment.track_id, [0, 0, 0])[1] += 1
    for assignment in plan.kept_started:
        counts.setdefault(assignment.track_id, [0, 0, 0])[2] += 1
    if not counts:
        return []
    rows = db.session.execute(
        select(Track.id, TrackVersion.title, Track.due_within_days)
        .join(TrackVersion, TrackVersion.id == Track.current_version_id)
        .where(Track.id.in_(counts))).all()
    return sorted((TrackEffect(track_id, title, *counts[track_id], due)
                   for track_id, title, due in rows), key=lambda effect: effect.title)


def tell_about_new_tracks(gained: dict[int, list[Track]]) -> int:
    """One mail to each person who gained tracks, listing them with their due dates (two
    queries however many people). People yet to accept their invitation and deactivated
    people are left out: they see their tracks when they arrive."""
    if not gained:
        return 0
    people = db.session.scalars(select(User).where(
        User.id.in_(gained), User.active.is_(True), User.password_hash.is_not(None))).all()
    track_ids = {track.id for tracks in gained.values() for track in tracks}
    titles = dict(db.session.execute(
        select(Track.id, TrackVersion.title)
        .join(TrackVersion, TrackVersion.id == Track.current_version_id)
        .where(Track.id.in_(track_ids))).all())
    now = clock.now()
    link = f"{current_app.config['BASE_URL']}/learning"
    for person in people:
        tracks = sorted(({"title": titles.get(track.id, track.slug), "due_at": _due(track, now)}
                         for track in gained[person.id]), key=lambda t: t["title"])
        mail.send(person.email, "New enablement tracks for you", "tracks_assigned",
                  user=person, tracks=tracks, link=link)
    return len(people)


def _due(track: Track, now: datetime) -> datetime | None:
    return now + timedelta(days=track.due_within_days) if track.due_within_days else None


def assign_manually(*, user_id: int, track_id: int, due_at: datetime | None,
                    assigned_by: User) -> Assignment:
    """Assign a track by hand (beside any rule), or update the due date of one."""
    track = db.session.get(Track, track_id)
    if track is None or track.archived_at is not None:
        raise NotFound("No such track.")
    if due_at is not None and due_at <= clock.now():
        raise Invalid("The due date must be in the future.", field="due_at")
    with team_tallies.changing(team_tallies.of_person_track(user_id, track_id)):
        return _assign(user_id, track_id, due_at, assigned_by)


def _assign(user_id: int, track_id: int, due_at: datetime | None,
            assigned_by: User) -> Assignment:
    # Present or not (a rule, or a second click, may have added it meanwhile), then update.
    if insert_new(Assignment, {"user_id": user_id, "track_id": track_id, "manual": True,
                               "by_rule": False, "assigned_at": clock.now()},
                  ["user_id", "track_id"]):
        tallies.add_one(ASSIGNMENTS, scope=track_id)
    assignment = db.session.scalar(
        select(Assignment).where(Assignment.user_id == user_id, Assignment.track_id == track_id))
    assignment.manual = True
    assignment.assigned_by_id = assigned_by.id
    assignment.due_at = due_at
    db.session.flush()
    return assignment


def on_user_created(user_id: int, **_) -> None:
    reevaluate(user_ids=[user_id])


def on_user_changed(user_id: int, fields: set[str], **_) -> None:
    if fields & {"role", "job_role", "organisation_id", "active"}:
        reevaluate(user_ids=[user_id])


def on_organisation_changed(organisation_id: int, fields: set[str], **_) -> None:
    if fields & {"created", "tier", "partner_type", "region", "status"}:
        changes = reevaluate(organisation_ids=[organisation_id])
        tell_about_new_tracks(changes.gained)
