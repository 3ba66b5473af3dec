"""Each partner's learning figures (the staff page's tiles), kept by the writes.

Over the partner's active staff (accounts.models.active_staff) and their assignments of live
tracks, as the staff list counts them person by person (progress.staff_progress):

    team_progress, key "completed": assignments whose track the person completed (any version)
                   key "lessons":   the lessons of those tracks' current versions
                   key "done":      the person's completions of those lessons
    team_open_due, key the UTC day: assignments not completed, by the day they fall due

"Overdue" moves with time alone, so it is not a tally: it is the open assignments due on
the days before today (a sum over one row per due day) and today's due by now (counted on
the due-date index). See `overdue`.

Every count is one SQL definition, `_parts`, over the assignments a condition picks: the
recount uses it for everyone; the writers read it for the few assignments they change,
before and after, and add the difference (`changing`). A write that changes a whole
track's figures (a new version, archiving) reads that track's assignments: rare, and in a
content sync.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time

from sqlalchemy import and_, func, literal, select, union_all

from lms.accounts.models import User, active_staff
from lms.catalog.models import Assignment, Lesson, LessonCompletion, Track, TrackCompletion
from lms.core import tallies
from lms.core.tallies import utc_day
from lms.extensions import db

PROGRESS = "team_progress"  # scope: organisation; key: completed | lessons | done
OPEN_DUE = "team_open_due"  # scope: organisation; key: the UTC day the assignment falls due
PROGRESS_KEYS = ("completed", "lessons", "done")


def _completed():
    return select(TrackCompletion.id).where(
        TrackCompletion.user_id == Assignment.user_id,
        TrackCompletion.track_id == Assignment.track_id).exists()


def _counted(*columns, staff: bool = True):
    """`columns` over the assignments of live tracks held by active partner staff (or by
    anyone at a partner: `staff` False)."""
    return (select(User.organisation_id, *columns).select_from(Assignment)
            .join(User, User.id == Assignment.user_id)
            .join(Track, and_(Track.id == Assignment.track_id, Track.archived_at.is_(None)))
            .where(*([User.organisation_id.is_not(None), active_staff()] if staff else [])))


def _parts(name: str, *where, staff: bool = True):
    """SELECT organisation, key, count of tally `name` over the assignments `where` picks."""
    if name == OPEN_DUE:
        day = utc_day(Assignment.due_at)
        return (_counted(day, func.count(), staff=staff)
                .where(Assignment.due_at.is_not(None), ~_completed(), *where)
                .group_by(User.organisation_id, day))
    completed = (_counted(literal("completed"), func.count(), staff=staff)
                 .where(_completed(), *where).group_by(User.organisation_id))
    lessons = (_counted(literal("lessons"), func.count(), staff=staff)
               .join(Lesson, Lesson.track_version_id == Track.current_version_id)
               .where(*where).group_by(User.organisation_id))
    done = (_counted(literal("done"), func.count(), staff=staff)
            .join(Lesson, Lesson.track_version_id == Track.current_version_id)
            .join(LessonCompletion, and_(LessonCompletion.lesson_id == Lesson.id,
                                         LessonCompletion.user_id == Assignment.user_id))
            .where(*where).group_by(User.organisation_id))
    return union_all(completed, lessons, done)


tallies.recount(PROGRESS)(lambda: _parts(PROGRESS))
tallies.recount(OPEN_DUE)(lambda: _parts(OPEN_DUE))


def _read(*where, staff: bool = True) -> Counter:
    """(name, organisation, key) -> count over the assignments `where` picks: one statement."""
    parts = [_parts(name, *where, staff=staff).subquery() for name in (PROGRESS, OPEN_DUE)]
    found: Counter = Counter()
    for name, organisation_id, key, number in db.session.execute(union_all(*(
            select(literal(name), *part.c) for name, part in zip((PROGRESS, OPEN_DUE), parts,
                                                                  strict=True)))):
        found[name, organisation_id, key] += number
    return found


@contextmanager
def changing(*where) -> Iterator[None]:
    """Around a write that changes the figures of the assignments `where` picks (those of
    one person, one person's track, a list of them, one track): read them before and
    after, and add the difference."""
    before = _read(*where)
    yield
    db.session.flush()
    after = _read(*where)
    tallies.add([(name, organisation_id, key, after[name, organisation_id, key]
                  - before[name, organisation_id, key])
                 for name, organisation_id, key in before.keys() | after.keys()])


def lesson_done(user_id: int, track_id: int, lesson_id: int) -> None:
    """A lesson completion just recorded: one more done at the person's partner if it is in
    their assigned live track's current version and they are staff (one statement)."""
    tallies.add_selected(PROGRESS, _counted(literal("done"), func.count())
                         .join(Lesson, Lesson.track_version_id == Track.current_version_id)
                         .where(of_person_track(user_id, track_id), Lesson.id == lesson_id)
                         .group_by(User.organisation_id))


def track_completed(user_id: int, track_id: int) -> None:
    """A track completion just recorded: if it is the person's first of that track, their
    assignment of it counts as completed and is no longer open."""
    first = select(func.count()).where(TrackCompletion.user_id == user_id,
                                       TrackCompletion.track_id == track_id)\
        .scalar_subquery() == 1
    where = [of_person_track(user_id, track_id), first]
    tallies.add_selected(PROGRESS, _counted(literal("completed"), func.count())
                         .where(*where).group_by(User.organisation_id))
    day = utc_day(Assignment.due_at)
    tallies.add_selected(OPEN_DUE, _counted(day, -func.count())
                         .where(Assignment.due_at.is_not(None), *where)
                         .group_by(User.organisation_id, day))


def on_staff_moved(user_id: int, was=None, now=None, **_) -> None:
    """A person joined, left or moved between partners' staff: their assignments' figures
    leave the partner they counted at and join the one they count at now."""
    was_counted = was is not None and was[1] == "joined"
    now_counted = now is not None and now[1] == "joined"
    if was_counted == now_counted and (not was_counted or was[0] == now[0]):
        return
    changes = []
    for (name, _organisation, key), number in _read(of_person(user_id), staff=False).items():
        if was_counted:
            changes.append((name, was[0], key, -number))
        if now_counted:
            changes.append((name, now[0], key, number))
    tallies.add(changes)


def of_person(user_id: int):
    return Assignment.user_id == user_id


def of_track(track_id: int):
    return Assignment.track_id == track_id


def of_person_track(user_id: int, track_id: int):
    return and_(Assignment.user_id == user_id, Assignment.track_id == track_id)


def figures(organisation_id: int) -> dict[str, int]:
    """Key (completed, lessons, done) -> the organisation's count: one statement."""
    counted = tallies.counts(PROGRESS, organisation_id)
    return {key: counted.get(key, 0) for key in PROGRESS_KEYS}


def overdue(organisation_id: int, now: datetime) -> int:
    """Open assignments past due at `now`: the tallied days before today, and today's due
    by now counted on the due-date index (a day's worth, whatever the partner's size)."""
    today = tallies.day_key(now)
    midnight = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
    before_today = select(func.coalesce(func.sum(tallies.Tally.count), 0)).where(
        tallies.Tally.name == OPEN_DUE, tallies.Tally.scope == organisation_id,
        tallies.Tally.key < today).scalar_subquery()
    due_today = (_counted(func.count())
                 .where(User.organisation_id == organisation_id,
                        Assignment.due_at >= midnight, Assignment.due_at < now, ~_completed())
                 .with_only_columns(func.count()).scalar_subquery())
    return sum(int(number or 0) for number in
               db.session.execute(select(before_today, due_today)).one())
