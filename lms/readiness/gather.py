"""Gather readiness facts for many organisations at once, with set-based SQL.

A fixed number of queries whatever the number of organisations or people (eight with
detail; without, seven and one more when a partner falls short of a certification rule,
plus three for display names): each returns rows for every
organisation asked about, grouped in SQL where a count is all readiness needs, and Python
only sorts rows into OrganisationFacts. Nothing here loops over people issuing queries.

Plain Core selects run on the session's connection, returning tuples: a full recompute
reads hundreds of thousands of rows, and ORM entities (or even the ORM's row layer) would
cost more than the queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import (
    BigInteger,
    DateTime,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    true,
    type_coerce,
    union_all,
)

from lms.accounts.models import Organisation, Term, User, active_staff
from lms.catalog.models import Assignment, Track, TrackCompletion, TrackVersion
from lms.certifications.models import Certificate, Program, ProgramVersion
from lms.extensions import db
from lms.journeys.models import Journey, JourneyMilestone
from lms.readiness.facts import (
    NAMED,
    HeldCertificate,
    Names,
    OnboardingFacts,
    OrganisationFacts,
    StaffMember,
    TrackProgress,
)
from lms.readiness.loader import TierRules


def _rows(statement) -> list:
    # .all(): one fetchall in the driver. Iterating the result instead fetches row by row,
    # which cost more than the queries themselves for half a million rows.
    return db.session.connection().execute(statement).all()


def _moment(column):
    """A timestamp column as the driver returns it. On PostgreSQL, in this transaction's
    UTC time zone, that is already an aware datetime in datetime.UTC, so the column type's
    per-value conversion is skipped (500,000 values in a full recompute). SQLite stores
    naive text, which only the column type makes aware."""
    if db.session.get_bind().dialect.name == "sqlite":
        return column
    return type_coerce(column, DateTime(timezone=True))


WORK_MEM = "64MB"  # PostgreSQL, this transaction only (see gather)


@dataclass(frozen=True)
class Gathered:
    facts: dict[int, OrganisationFacts]  # by organisation id, ascending
    organisation_names: dict[int, str]


def gather(now: datetime, tiers: TierRules, organisation_ids: Iterable[int] | None = None,
           *, detail: bool = True) -> Gathered:
    """Facts at `now` for the given organisations (None: every organisation).

    Without `detail` (a recompute, which stores counts and the few people the readiness
    page names), no staff list is read, the people behind tracks, onboarding and each
    certification rule are cut to the first NAMED in SQL and counted, and only the renewal
    windows open at `now` are read (see lms.readiness.facts): most of the rows of a full
    gather are not read.
    """
    ids = None if organisation_ids is None else sorted(set(organisation_ids))
    if ids == []:
        return Gathered({}, {})
    if db.session.get_bind().dialect.name == "postgresql":
        # For this transaction only. These are a few large scans, each compiled by the JIT
        # in more time than it saves (about 0.3 s a query in the benchmark). And in UTC,
        # the driver hands back datetimes in datetime.UTC itself: _moment can skip the
        # column type's conversion, and comparing them with `now` stays a plain compare.
        # And with the memory to sort and hash a few hundred thousand rows without
        # spilling to disk.
        db.session.execute(text("SET LOCAL jit = off"))
        db.session.execute(text("SET LOCAL TIME ZONE 'UTC'"))
        db.session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))

    def only(column):
        # The organisation filter of every query: none when gathering everyone.
        return true() if ids is None else column.in_(ids)

    organisations = _rows(
        select(Organisation.id, Organisation.name, Organisation.tier)
        .where(only(Organisation.id)).order_by(Organisation.id))
    staff_member = and_(active_staff(), only(User.organisation_id))

    staff: dict[int, list[StaffMember]] = defaultdict(list)
    if detail:
        for user_id, organisation_id, job_role in _rows(
                select(User.id, User.organisation_id, User.job_role).where(staff_member)
                .order_by(User.organisation_id, User.id)):
            staff[organisation_id].append(StaffMember(user_id, job_role))

    certificates = _certificates(now, staff_member, detail)
    tracks = _tracks(now, tiers, staff_member, detail)
    onboarding = _onboarding(now, ids, only, detail)

    facts = {}
    for organisation_id, _, tier in organisations:
        facts[organisation_id] = OrganisationFacts(
            organisation_id=organisation_id, tier=tier,
            staff=tuple(staff.get(organisation_id, ())),
            certificates=tuple(certificates.get(organisation_id, ())),
            tracks=tracks(organisation_id),
            onboarding=onboarding.get(organisation_id) or OnboardingFacts(),
            detailed=detail)
    if not detail:
        for organisation_id, candidates in _candidates(now, tiers, facts,
                                                       staff_member).items():
            facts[organisation_id] = replace(facts[organisation_id], candidates=candidates)
    return Gathered(facts, {row.id: row.name for row in organisations})


def _certificates(now: datetime, staff_member,
                  detail: bool) -> dict[int, list[HeldCertificate]]:
    """Live certificates of active staff (one query): not revoked, not superseded, not
    expired, with their renewal windows and the validity of the program's current version
    (as a renewal would get). With detail, in a fixed order; without, unordered and with the
    window and validity only where the window is open at `now` (each column is a few
    hundred thousand values to convert in a full recompute; the forecast's "everyone in a
    renewal window renews" asks for no others, and nothing that counts depends on the
    order)."""
    live = and_(staff_member, Certificate.revoked_at.is_(None),
                Certificate.superseded_at.is_(None), Certificate.expires_at > now,
                Certificate.issued_at <= now)
    held: dict[int, list[HeldCertificate]] = defaultdict(list)
    current = ProgramVersion
    if not detail:
        window_open = Certificate.renewal_opens_at <= now
        for user_id, organisation_id, code, job_role, expires_at, opens_at, months in _rows(
                select(Certificate.user_id, User.organisation_id, Program.code, User.job_role,
                       _moment(Certificate.expires_at),
                       _moment(case((window_open, Certificate.renewal_opens_at))),
                       case((window_open, current.validity_months)))
                .join(User, User.id == Certificate.user_id)
                .join(Program, Program.id == Certificate.program_id)
                .join(current, current.id == Program.current_version_id)
                .where(live)):
            held[organisation_id].append(HeldCertificate(user_id, code, job_role, expires_at,
                                                         opens_at, months))
        return held
    rows = _rows(
        select(Certificate.user_id, User.organisation_id, Program.code, User.job_role,
               _moment(Certificate.expires_at), _moment(Certificate.renewal_opens_at),
               current.validity_months)
        .join(User, User.id == Certificate.user_id)
        .join(Program, Program.id == Certificate.program_id)
        .join(current, current.id == Program.current_version_id)
        .where(live)
        .order_by(User.organisation_id, Certificate.user_id, Certificate.id))
    for user_id, organisation_id, code, job_role, expires_at, opens_at, months in rows:
        held[organisation_id].append(HeldCertificate(user_id, code, job_role, expires_at,
                                                     opens_at, months))
    return held


def _tracks(now: datetime, tiers: TierRules, staff_member, detail: bool):
    """Per organisation and track: assigned and completed counts (grouped in SQL), and the
    staff who have not finished each track a tier rule names (three queries), split into
    those held to it and those who joined too recently to be (tiers.new_staff_days); with
    detail, listed, and without, those held to it counted in SQL with the first NAMED of
    them, and the newcomers listed (few: they joined in the last new_staff_days).

    Rows cover every live required track and every track any tier's rules name; an
    organisation with no row for a track gets zeros, so gaps never mistake "no row" for
    "everyone finished".
    """
    named = sorted({slug for rule in tiers.rules.values() for slug in rule.tracks})
    live_required = and_(Track.required.is_(True), Track.archived_at.is_(None))
    listed = _rows(
        select(Track.id, Track.slug, live_required)
        .where(or_(live_required, Track.slug.in_(named)))
        .order_by(Track.slug))
    if not listed:
        return lambda organisation_id: ()
    track_ids = [track_id for track_id, _, _ in listed]
    named_ids = [track_id for track_id, slug, _ in listed if slug in named]

    # Assigned, and of those completed (any version counts, however many versions someone
    # completed), as two grouped halves of one statement: the completed half is a semi
    # join, which PostgreSQL runs as one hash of the completions. (Joining the distinct
    # completions instead was hashed once per parallel worker and spilled: 7 s, not 2.)
    completed = exists().where(TrackCompletion.user_id == Assignment.user_id,
                               TrackCompletion.track_id == Assignment.track_id)

    def grouped(done: int, *conditions):
        return (select(User.organisation_id, Assignment.track_id, literal(done),
                       func.count())
                .join(User, User.id == Assignment.user_id)
                .where(staff_member, Assignment.track_id.in_(track_ids), *conditions)
                .group_by(User.organisation_id, Assignment.track_id))

    counts: dict[tuple[int, int], list[int]] = {}
    for organisation_id, track_id, done, count in _rows(
            union_all(grouped(0), grouped(1, completed))):
        counts.setdefault((organisation_id, track_id), [0, 0])[done] = count

    unfinished: dict[tuple[int, int], list[int]] = defaultdict(list)
    # (organisation, track) -> [(when their time runs out, user id)] of the newcomers
    settling: dict[tuple[int, int], list[tuple[datetime, int]]] = defaultdict(list)
    held_counts: dict[tuple[int, int], int] = {}  # without detail: held to it, counted
    grace = timedelta(days=tiers.new_staff_days)
    if named_ids:
        finished = exists().where(TrackCompletion.user_id == User.id,
                                  TrackCompletion.track_id == Track.id)
        new = User.created_at > tiers.settling_since(now)
        if detail:
            for organisation_id, track_id, user_id, is_new, joined in _rows(
                    select(User.organisation_id, Track.id, User.id, new,
                           _moment(User.created_at))
                    .join(Track, Track.id.in_(named_ids))
                    .where(staff_member, ~finished)
                    .order_by(User.organisation_id, Track.id, User.id)):
                if is_new:
                    settling[(organisation_id, track_id)].append((joined + grace, user_id))
                else:
                    unfinished[(organisation_id, track_id)].append(user_id)
        else:
            # Numbered per organisation, track and newcomer or not, and counted, in one
            # pass: of those held to it only the first NAMED travel, with their count.
            group = (User.organisation_id, Track.id, new)
            behind = (
                select(User.organisation_id.label("organisation_id"),
                       Track.id.label("track_id"), User.id.label("user_id"),
                       new.label("new"), User.created_at.label("joined"),
                       func.row_number().over(partition_by=group, order_by=User.id)
                       .label("rank"),
                       func.count().over(partition_by=group).label("people"))
                .join(Track, Track.id.in_(named_ids))
                .where(staff_member, ~finished)).subquery()
            for organisation_id, track_id, user_id, is_new, joined, people in _rows(
                    select(behind.c.organisation_id, behind.c.track_id, behind.c.user_id,
                           behind.c.new, _moment(behind.c.joined), behind.c.people)
                    .where(or_(behind.c.new, behind.c.rank <= NAMED))
                    .order_by(behind.c.organisation_id, behind.c.track_id,
                              behind.c.user_id)):
                key = (organisation_id, track_id)
                if is_new:
                    settling[key].append((joined + grace, user_id))
                else:
                    unfinished[key].append(user_id)
                    held_counts[key] = people

    def progress(organisation_id: int) -> tuple[TrackProgress, ...]:
        rows = []
        for track_id, slug, required in listed:
            key = (organisation_id, track_id)
            assigned, completed = counts.get(key, (0, 0))
            newcomers = sorted(settling.get(key, ()))
            behind = tuple(unfinished.get(key, ()))
            rows.append(TrackProgress(
                slug=slug, required=bool(required), assigned=assigned, completed=completed,
                unfinished=behind, unfinished_count=held_counts.get(key, len(behind)),
                settling=tuple(user_id for _, user_id in newcomers),
                settling_ends=tuple(end for end, _ in newcomers)))
        return tuple(rows)

    return progress


def _onboarding(now: datetime, ids: list[int] | None, only,
                detail: bool) -> dict[int, OnboardingFacts]:
    """Onboarding in two queries: milestones due, done on time and overdue, grouped in SQL
    per organisation and person (so the staff behind come with the counts; without detail
    only the first NAMED of them are kept), and the organisation journeys still open with
    their open milestones.

    A person's journey counts while they are active staff of the organisation it belongs
    to; the organisation's own journeys always count.
    """
    counted = or_(Journey.scope == "organisation",
                  and_(active_staff(), User.organisation_id == Journey.organisation_id))
    on_time = and_(JourneyMilestone.done_at.is_not(None),
                   JourneyMilestone.done_at <= JourneyMilestone.due_at)
    overdue = and_(JourneyMilestone.done_at.is_(None), JourneyMilestone.due_at < now)
    # Counted per journey first, then joined: joined first, PostgreSQL misjudges how many
    # journeys the condition on their people keeps and probes the milestones' index once
    # per journey (240,000 buffers at 5,000 partners, against 11,000 for one scan).
    due = JourneyMilestone.due_at <= now
    if ids is not None:
        due = and_(due, JourneyMilestone.journey_id.in_(
            select(Journey.id).where(Journey.organisation_id.in_(ids))))
    journeys = (select(JourneyMilestone.journey_id, func.count().label("due"),
                       func.sum(case((on_time, 1), else_=0)).label("on_time"),
                       func.sum(case((overdue, 1), else_=0)).label("overdue"))
                .where(due).group_by(JourneyMilestone.journey_id).subquery())
    by = (Journey.organisation_id, Journey.user_id)
    tallies: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    behind: dict[int, list[int]] = defaultdict(list)
    behind_counts: dict[int, int] = defaultdict(int)
    for organisation_id, user_id, due_count, on_time_count, overdue_count in _rows(
            select(*by, *(func.sum(column).cast(BigInteger) for column in (
                journeys.c.due, journeys.c.on_time, journeys.c.overdue)))
            .join(Journey, Journey.id == journeys.c.journey_id)
            .outerjoin(User, User.id == Journey.user_id)
            .where(counted, only(Journey.organisation_id))
            .group_by(*by).order_by(*by)):
        tally = tallies[organisation_id]
        tally[0] += due_count
        tally[1] += int(on_time_count or 0)
        if user_id is not None and overdue_count:  # a person's own journey is overdue
            behind_counts[organisation_id] += 1
            if detail or behind_counts[organisation_id] <= NAMED:
                behind[organisation_id].append(user_id)

    open_journeys: dict[int, list[str]] = defaultdict(list)
    for organisation_id, title in _rows(
            select(Journey.organisation_id, JourneyMilestone.title)
            .outerjoin(JourneyMilestone, and_(JourneyMilestone.journey_id == Journey.id,
                                              JourneyMilestone.done_at.is_(None)))
            .where(Journey.scope == "organisation", Journey.completed_at.is_(None),
                   only(Journey.organisation_id))
            .order_by(Journey.organisation_id, Journey.id, JourneyMilestone.stage_index,
                      JourneyMilestone.position)):
        titles = open_journeys[organisation_id]  # an open journey makes the key exist
        if title is not None:
            titles.append(title)

    result = {}
    for organisation_id in tallies.keys() | open_journeys.keys():
        due_count, on_time_count = tallies.get(organisation_id, (0, 0))
        result[organisation_id] = OnboardingFacts(
            milestones_due=due_count, milestones_done_on_time=on_time_count,
            complete=organisation_id not in open_journeys,
            outstanding=tuple(open_journeys.get(organisation_id, ())),
            behind=tuple(behind.get(organisation_id, ())),
            behind_count=behind_counts.get(organisation_id, 0))
    return result


# Past this many organisations short of one rule, its candidates are read for everyone
# (SQLite limits how many parameters a statement may have; extra rows are only unused).
MANY_SHORT = 2000


def _candidates(now: datetime, tiers: TierRules, facts: dict[int, OrganisationFacts],
                staff_member) -> dict[int, dict]:
    """Without detail, for each certification rule an organisation's tier or the next one
    has and that it falls short of now: the staff with a qualifying job role who hold no
    live certificate of its program (who could close the gap), the first NAMED by id and
    how many, numbered and counted in SQL (one query, none when nobody falls short).
    Keyed organisation -> (program, job_roles) -> (ids, count)."""
    short: dict[tuple[str, tuple[str, ...]], list[int]] = defaultdict(list)
    for organisation_id, found in facts.items():
        for tier in (found.tier, tiers.above(found.tier)):
            rule = tiers.rule(tier) if tier else None
            for requirement in rule.certifications if rule else ():
                key = (requirement.program, requirement.job_roles)
                if found.holder_count(*key, now) < requirement.count and \
                        organisation_id not in short[key][-1:]:
                    short[key].append(organisation_id)
    keys = sorted(key for key, ids in short.items() if ids)
    if not keys:
        return {}
    parts = []
    for number, (program, job_roles) in enumerate(keys):
        holds = exists().where(
            Certificate.user_id == User.id, Certificate.revoked_at.is_(None),
            Certificate.superseded_at.is_(None), Certificate.expires_at > now,
            Certificate.issued_at <= now,
            Certificate.program_id == select(Program.id).where(Program.code == program)
            .scalar_subquery())
        ids = short[(program, job_roles)]
        parts.append(
            select(User.organisation_id.label("organisation_id"),
                   literal(number).label("rule"), User.id.label("user_id"),
                   func.row_number().over(partition_by=User.organisation_id,
                                          order_by=User.id).label("rank"),
                   func.count().over(partition_by=User.organisation_id).label("people"))
            .where(staff_member, ~holds,
                   User.organisation_id.in_(ids) if len(ids) <= MANY_SHORT else true(),
                   User.job_role.in_(job_roles) if job_roles else true()))
    numbered = union_all(*parts).subquery()
    found: dict[int, dict] = defaultdict(dict)
    for organisation_id, number, user_id, people in _rows(
            select(numbered.c.organisation_id, numbered.c.rule, numbered.c.user_id,
                   numbered.c.people)
            .where(numbered.c.rank <= NAMED)
            .order_by(numbered.c.organisation_id, numbered.c.rule, numbered.c.user_id)):
        ids, _ = found[organisation_id].get(keys[number], ((), 0))
        found[organisation_id][keys[number]] = (ids + (user_id,), people)
    return found


def names() -> Names:
    """Display names for programs, tracks, tiers and job roles (three queries)."""
    programs = dict(db.session.execute(
        select(Program.code, ProgramVersion.name)
        .join(ProgramVersion, ProgramVersion.id == Program.current_version_id)).all())
    tracks = dict(db.session.execute(
        select(Track.slug, TrackVersion.title)
        .join(TrackVersion, TrackVersion.id == Track.current_version_id)).all())
    terms: dict[str, dict[str, str]] = defaultdict(dict)
    for kind, code, name in db.session.execute(
            select(Term.kind, Term.code, Term.name)
            .where(Term.kind.in_(("tier", "job_role")))):
        terms[kind][code] = name
    return Names(programs=programs, tracks=tracks, tiers=terms["tier"],
                 job_roles=terms["job_role"])
