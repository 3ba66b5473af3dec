"""Read models for progress: a fixed number of set-based queries, whatever the data size."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, bindparam, exists, func, select
from sqlalchemy.orm import aliased, contains_eager

from lms.accounts.models import User
from lms.catalog.models import (
    Asset,
    Assignment,
    Course,
    Lesson,
    LessonCompletion,
    Track,
    TrackCompletion,
    TrackVersion,
)
from lms.core import clock, fastpath
from lms.core.errors import NotFound
from lms.extensions import db


@dataclass
class TrackProgress:
    track_id: int
    slug: str
    title: str
    summary: str
    version_number: int
    estimated_minutes: int
    required: bool
    total_lessons: int
    done_lessons: int
    completed_at: datetime | None
    due_at: datetime | None
    manual: bool
    by_rule: bool
    next_lesson_slug: str | None
    next_lesson_title: str | None
    locked_reason: str | None
    # The latest version the person completed, and when (None when never completed).
    completed_version: int | None = None
    completed_version_at: datetime | None = None

    @property
    def lessons_to_review(self) -> int:
        """Lessons a newer version added or changed since the track was completed.

        The completion stays (it is history); these are what is left to catch up on.
        """
        if self.completed_at is None:
            return 0
        return max(0, self.total_lessons - self.done_lessons)

    @property
    def updated_since_completion(self) -> bool:
        return self.lessons_to_review > 0

    @property
    def percent(self) -> int:
        if self.completed_at is not None and self.done_lessons >= self.total_lessons:
            return 100
        return round(100 * self.done_lessons / self.total_lessons) if self.total_lessons else 0

    @property
    def status(self) -> str:
        if self.completed_at is not None:
            return "completed"
        if self.locked_reason:
            return "locked"
        return "in_progress" if self.done_lessons else "not_started"

    @property
    def overdue(self) -> bool:
        return self.completed_at is None and self.due_at is not None and self.due_at < clock.now()


# The statements below are built once, with the person as a bound parameter: the pages a
# learner opens most run them on every view, and building a statement anew costs about as
# much CPU as the database takes to answer it.
USER = bindparam("user_id")

_COMPLETIONS = (
    select(TrackCompletion.track_id, Track.slug, TrackVersion.number,
           TrackCompletion.completed_at)
    .join(Track, Track.id == TrackCompletion.track_id)
    .join(TrackVersion, TrackVersion.id == TrackCompletion.track_version_id)
    .where(TrackCompletion.user_id == USER))

_LIVE_TITLES = (
    select(Track.slug, TrackVersion.title)
    .join(TrackVersion, TrackVersion.id == Track.current_version_id)
    .where(Track.archived_at.is_(None), Track.slug.in_(bindparam("slugs", expanding=True))))


@dataclass(frozen=True)
class Completions:
    """A person's track completions, read in one query.

    `first`: track id -> the first completion, on any version (a completed track stays
    completed). `latest`: track id -> (number, completed at) of the newest version completed.
    `slugs`: the tracks completed, by slug (prerequisites name tracks by slug).
    """

    first: dict[int, datetime]
    latest: dict[int, tuple[int, datetime]]
    slugs: frozenset[str]


def _completions(user_id: int) -> Completions:
    with fastpath.read_connection(db.session) as connection:
        return _completions_of(fastpath.all_rows(connection, _COMPLETIONS,
                                                 {"user_id": user_id}))


def _completions_of(rows) -> Completions:
    # One row per completed version: a handful per track, whatever the number of tracks.
    first: dict[int, datetime] = {}
    latest: dict[int, tuple[int, datetime]] = {}
    slugs = set()
    for track_id, slug, number, completed_at in rows:
        slugs.add(slug)
        if track_id not in first or completed_at < first[track_id]:
            first[track_id] = completed_at
        if track_id not in latest or number > latest[track_id][0]:
            latest[track_id] = (number, completed_at)
    return Completions(first, latest, frozenset(slugs))


def prerequisite_reason(prerequisites: list[str] | None, completions: Completions,
                        titles: dict[str, str] | None = None) -> str | None:
    """Why a track is locked ("Complete X and Y first"), or None when it is open.

    A prerequisite that is not a live track (archived, never synced) locks nothing.
    `titles` (slug -> title of live tracks) is read here when not given, and only when
    something is missing: an open track costs no query.
    """
    missing = [slug for slug in prerequisites or [] if slug not in completions.slugs]
    if not missing:
        return None
    if titles is None:
        titles = dict(db.session.execute(_LIVE_TITLES, {"slugs": missing}).all())
    names = [titles[slug] for slug in missing if slug in titles]
    if not names:
        return None
    return "Complete " + " and ".join(names) + " first"


# The first lesson of the row's track version the person has not done, joined by its id:
# one subquery gives both its slug and its title.
_NEXT = aliased(Lesson, name="next_lesson")
_FIRST_UNFINISHED = (
    select(Lesson.id)
    .where(Lesson.track_version_id == TrackVersion.id,
           ~exists().where(LessonCompletion.lesson_id == Lesson.id,
                           LessonCompletion.user_id == USER))
    .order_by(Lesson.position).limit(1).scalar_subquery())

# One row per assigned live track, with its lesson counts and the next lesson to do.
_LEARNER_TRACKS = (
    select(Assignment.due_at, Assignment.manual, Assignment.by_rule,
           Track.id, Track.slug, Track.required, Track.prerequisites,
           TrackVersion.title, TrackVersion.summary, TrackVersion.number,
           TrackVersion.estimated_minutes,
           select(func.count(Lesson.id)).where(Lesson.track_version_id == TrackVersion.id)
           .scalar_subquery().label("total_lessons"),
           # count(*), not of an id: the person's completions are then read from the
           # (user, lesson) index alone, once, instead of a row per lesson of the track.
           select(func.count()).select_from(LessonCompletion)
           .join(Lesson, Lesson.id == LessonCompletion.lesson_id)
           .where(Lesson.track_version_id == TrackVersion.id,
                  LessonCompletion.user_id == USER)
           .scalar_subquery().label("done_lessons"),
           _NEXT.slug.label("next_slug"), _NEXT.title.label("next_title"))
    .join(Track, Track.id == Assignment.track_id)
    .join(TrackVersion, TrackVersion.id == Track.current_version_id)
    .outerjoin(_NEXT, _NEXT.id == _FIRST_UNFINISHED)
    .where(Assignment.user_id == USER, Track.archived_at.is_(None)))


def learner_tracks(user_id: int) -> list[TrackProgress]:
    """My learning: the person's assigned live tracks with progress, next lesson and locks."""
    # A page every learner opens first: prepared, and outside the unit of work when nothing
    # of this request's is in it (lms.core.fastpath).
    # Its two reads go together (lms.core.fastpath.rows_together): one wait, not two.
    with fastpath.read_connection(db.session) as connection:
        rows, completed = fastpath.rows_together(connection, [
            (_LEARNER_TRACKS, {"user_id": user_id}), (_COMPLETIONS, {"user_id": user_id})])
    if not rows:
        return []
    completions = _completions_of(completed)
    result = []
    for row in rows:
        completed_version, completed_version_at = completions.latest.get(row.id,
                                                                         (None, None))
        result.append(TrackProgress(
            track_id=row.id, slug=row.slug, title=row.title, summary=row.summary,
            version_number=row.number, estimated_minutes=row.estimated_minutes,
            required=row.required, total_lessons=row.total_lessons,
            done_lessons=row.done_lessons, completed_at=completions.first.get(row.id),
            due_at=row.due_at, manual=row.manual, by_rule=row.by_rule,
            next_lesson_slug=row.next_slug, next_lesson_title=row.next_title,
            locked_reason=prerequisite_reason(row.prerequisites, completions),
            completed_version=completed_version, completed_version_at=completed_version_at,
        ))
    # Unfinished first (soonest due first), then completed ones with lessons to catch up
    # on, then the rest; the order a learner works in.
    result.sort(key=lambda p: (p.status == "completed", not p.updated_since_completion,
                               p.status == "locked", p.due_at is None,
                               p.due_at or clock.now(), p.title))
    return result


# --- one track, lesson by lesson -------------------------------------------------------------
# Read as plain rows, not ORM entities: every lesson and track page builds an outline, and
# loading a version's lessons as entities cost more than the rest of the page.

@dataclass(frozen=True, slots=True)
class TrackInfo:
    id: int
    slug: str
    required: bool
    sequential: bool
    prerequisites: list


@dataclass(frozen=True, slots=True)
class VersionInfo:
    id: int
    number: int
    title: str
    summary: str
    estimated_minutes: int
    published_at: datetime


@dataclass(frozen=True, slots=True)
class AssignmentInfo:
    id: int
    due_at: datetime | None


@dataclass(frozen=True, slots=True)
class CourseInfo:
    id: int
    slug: str
    title: str
    summary: str
    position: int


@dataclass(frozen=True, slots=True)
class LessonInfo:
    """A lesson as an outline lists it (its body and download are read for its own page)."""

    id: int
    slug: str
    title: str
    position: int
    minutes: int | None
    video_url: str | None
    asset_sha256: str | None
    assessment_slug: str | None
    course_id: int
    track_version_id: int
    course: CourseInfo


@dataclass
class LessonState:
    lesson: LessonInfo
    done: bool
    completed_at: datetime | None
    is_next: bool
    locked_reason: str | None


@dataclass
class CourseOutline:
    course: CourseInfo
    lessons: list[LessonState] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return all(state.done for state in self.lessons)


@dataclass
class TrackOutline:
    track: TrackInfo
    version: VersionInfo
    courses: list[CourseOutline]
    locked_reason: str | None
    completed_at: datetime | None
    assignment: AssignmentInfo | None
    # The latest version the person completed, and when (None when never completed).
    completed_version: int | None = None
    completed_version_at: datetime | None = None

    @property
    def lessons(self) -> list[LessonState]:
        return [state for course in self.courses for state in course.lessons]

    @property
    def done_lessons(self) -> int:
        return sum(state.done for state in self.lessons)

    @property
    def percent(self) -> int:
        total = len(self.lessons)
        return round(100 * self.done_lessons / total) if total else 0

    @property
    def lessons_to_review(self) -> int:
        """Lessons a newer version added or changed since the track was completed."""
        if self.completed_at is None:
            return 0
        return len(self.lessons) - self.done_lessons

    @property
    def updated_since_completion(self) -> bool:
        return self.lessons_to_review > 0

    def state_of(self, lesson_slug: str) -> LessonState:
        for state in self.lessons:
            if state.lesson.slug == lesson_slug:
                return state
        raise NotFound("No such lesson in this track.")


_LIVE_TRACK = (
    select(Track).join(Track.current_version).options(contains_eager(Track.current_version))
    .where(Track.slug == bindparam("slug"), Track.archived_at.is_(None)))

# The version's lessons in order, each with its course and the person's completion, if any.
_OUTLINE = (
    select(Lesson.id, Lesson.slug, Lesson.title, Lesson.position, Lesson.minutes,
           Lesson.video_url, Lesson.asset_sha256, Lesson.assessment_slug, Lesson.course_id,
           Lesson.track_version_id, Course.slug.label("course_slug"),
           Course.title.label("course_title"), Course.summary.label("course_summary"),
           Course.position.label("course_position"), LessonCompletion.completed_at)
    .join(Course, Course.id == Lesson.course_id)
    .outerjoin(LessonCompletion, and_(LessonCompletion.lesson_id == Lesson.id,
                                      LessonCompletion.user_id == USER))
    .order_by(Lesson.position))
_VERSION_OUTLINE = _OUTLINE.where(Lesson.track_version_id == bindparam("version_id"))

_ASSIGNMENT = select(Assignment.id, Assignment.due_at).where(
    Assignment.user_id == USER, Assignment.track_id == bindparam("track_id"))

# The live track with its current version and the person's assignment (None if not theirs).
_LIVE_TRACK_FOR = (
    select(Track.id, Track.slug, Track.required, Track.sequential, Track.prerequisites,
           TrackVersion.id.label("version_id"), TrackVersion.number, TrackVersion.title,
           TrackVersion.summary, TrackVersion.estimated_minutes, TrackVersion.published_at,
           Assignment.id.label("assignment_id"), Assignment.due_at)
    .join(TrackVersion, TrackVersion.id == Track.current_version_id)
    .outerjoin(Assignment, and_(Assignment.track_id == Track.id, Assignment.user_id == USER))
    .where(Track.slug == bindparam("slug"), Track.archived_at.is_(None)))

# The outline and a lesson's own text and download found by the live track's slug instead
# of its version's id, so that they need no answer from _LIVE_TRACK_FOR and go to the
# database with it.
_LIVE_VERSION_ID = (select(Track.current_version_id)
                    .where(Track.slug == bindparam("slug"), Track.archived_at.is_(None))
                    .scalar_subquery())
_LIVE_OUTLINE = _OUTLINE.where(Lesson.track_version_id == _LIVE_VERSION_ID)
_LIVE_LESSON_PAGE = (
    select(Lesson.body_markdown, Asset.sha256, Asset.filename, Asset.size)
    .outerjoin(Asset, Asset.sha256 == Lesson.asset_sha256)
    .where(Lesson.track_version_id == _LIVE_VERSION_ID,
           Lesson.slug == bindparam("lesson_slug")))


@dataclass(frozen=True, slots=True)
class Download:
    sha256: str
    filename: str
    size: int


@dataclass(frozen=True, slots=True)
class LessonPage:
    body_markdown: str
    download: Download | None


def get_live_track(slug: str) -> Track:
    """The live track with this slug, its current version loaded with it."""
    track = db.session.scalar(_LIVE_TRACK, {"slug": slug})
    if track is None:
        raise NotFound("No such track.")
    return track


def live_outline(user: User, slug: str) -> TrackOutline:
    """`track_outline` of the live track with this slug: what the learner pages show."""
    return _live(user, slug, None)[0]


def live_lesson(user: User, slug: str,
                lesson_slug: str) -> tuple[TrackOutline, LessonPage | None]:
    """The live track's outline and the text and download of one of its lessons (None when
    the track has no such lesson: `outline.state_of` says so)."""
    return _live(user, slug, lesson_slug)


def _live(user: User, slug: str, lesson_slug: str | None):
    # Every learner page: the track, its lessons with what is done, the person's track
    # completions (and the lesson's text) are read together, in one round trip.
    keys = {"slug": slug, "user_id": user.id}
    queries = [(_LIVE_TRACK_FOR, keys), (_LIVE_OUTLINE, keys), (_COMPLETIONS, keys)]
    if lesson_slug is not None:
        queries.append((_LIVE_LESSON_PAGE, {"slug": slug, "lesson_slug": lesson_slug}))
    with fastpath.read_connection(db.session) as connection:
        found, lessons, completed, *text = fastpath.rows_together(connection, queries)
    if not found:
        raise NotFound("No such track.")
    row = found[0]
    track = TrackInfo(row.id, row.slug, row.required, row.sequential, row.prerequisites or [])
    version = VersionInfo(row.version_id, row.number, row.title, row.summary,
                          row.estimated_minutes, row.published_at)
    assignment = None if row.assignment_id is None else AssignmentInfo(row.assignment_id,
                                                                       row.due_at)
    outline = _outline_of(track, version, assignment, lessons, _completions_of(completed))
    page = _lesson_page_of(text[0][0]) if text and text[0] else None
    return outline, page


def track_outline(user: User, track: Track) -> TrackOutline:
    """Courses and lessons of the track's current version, with what is done, next, locked."""
    version = track.current_version
    with fastpath.read_connection(db.session) as connection:
        found = fastpath.first_row(connection, _ASSIGNMENT,
                                   {"user_id": user.id, "track_id": track.id})
    return _outline(
        user.id,
        TrackInfo(track.id, track.slug, track.required, track.sequential,
                  track.prerequisites or []),
        VersionInfo(version.id, version.number, version.title, version.summary,
                    version.estimated_minutes, version.published_at),
        None if found is None else AssignmentInfo(found.id, found.due_at))


def _lesson_page_of(row) -> LessonPage:
    download = None if row.sha256 is None else Download(row.sha256, row.filename, row.size)
    return LessonPage(row.body_markdown, download)


def _outline(user_id: int, track: TrackInfo, version: VersionInfo,
             assignment: AssignmentInfo | None) -> TrackOutline:
    with fastpath.read_connection(db.session) as connection:
        rows, completed = fastpath.rows_together(connection, [
            (_VERSION_OUTLINE, {"version_id": version.id, "user_id": user_id}),
            (_COMPLETIONS, {"user_id": user_id})])
    return _outline_of(track, version, assignment, rows, _completions_of(completed))


def _outline_of(track: TrackInfo, version: VersionInfo, assignment: AssignmentInfo | None,
                rows, track_completions: Completions) -> TrackOutline:
    courses: dict[int, CourseInfo] = {}
    lessons = []
    completions = {}
    for row in rows:
        course = courses.get(row.course_id)
        if course is None:
            course = courses[row.course_id] = CourseInfo(
                row.course_id, row.course_slug, row.course_title, row.course_summary,
                row.course_position)
        lessons.append(LessonInfo(
            row.id, row.slug, row.title, row.position, row.minutes, row.video_url,
            row.asset_sha256, row.assessment_slug, row.course_id, row.track_version_id,
            course))
        if row.completed_at is not None:
            completions[row.id] = row.completed_at
    completed_version, completed_version_at = track_completions.latest.get(
        track.id, (None, None))
    track_lock = prerequisite_reason(track.prerequisites, track_completions)

    outlines = {course.id: CourseOutline(course)
                for course in sorted(courses.values(), key=lambda course: course.position)}
    first_unfinished = next((lesson for lesson in lessons if lesson.id not in completions), None)
    for lesson in lessons:
        done = lesson.id in completions
        if track_lock:
            reason = track_lock
        elif (track.sequential and not done and first_unfinished is not None
              and lesson.position > first_unfinished.position):
            reason = f"Complete “{first_unfinished.title}” first"
        else:
            reason = None
        outlines[lesson.course_id].lessons.append(LessonState(
            lesson=lesson, done=done, completed_at=completions.get(lesson.id),
            is_next=first_unfinished is not None and lesson.id == first_unfinished.id
            and not track_lock,
            locked_reason=reason))
    return TrackOutline(track=track, version=version, courses=list(outlines.values()),
                        locked_reason=track_lock,
                        completed_at=track_completions.first.get(track.id),
                        assignment=assignment, completed_version=completed_version,
                        completed_version_at=completed_version_at)


# --- a partner's staff -----------------------------------------------------------------------

@dataclass
class StaffProgress:
    user: User
    assigned: int = 0
    completed: int = 0
    overdue: int = 0
    total_lessons: int = 0
    done_lessons: int = 0

    @property
    def percent(self) -> int:
        return round(100 * self.done_lessons / self.total_lessons) if self.total_lessons else 0


def staff_progress(users: list[User]) -> list[StaffProgress]:
    """Progress of many people at once, in four grouped queries."""
    ids = [user.id for user in users]
    result = {user.id: StaffProgress(user) for user in users}
    if not ids:
        return []
    completed_tracks = (select(TrackCompletion.user_id, TrackCompletion.track_id).distinct()
                        .where(TrackCompletion.user_id.in_(ids))).subquery()
    live = and_(Track.id == Assignment.track_id, Track.archived_at.is_(None))
    now = clock.now()
    for row in db.session.execute(
        select(Assignment.user_id, func.count(),
               func.count(completed_tracks.c.track_id),
               func.count().filter(and_(completed_tracks.c.track_id.is_(None),
                                        Assignment.due_at < now)))
        .join(Track, live)
        .outerjoin(completed_tracks, and_(completed_tracks.c.user_id == Assignment.user_id,
                                          completed_tracks.c.track_id == Assignment.track_id))
        .where(Assignment.user_id.in_(ids)).group_by(Assignment.user_id)
    ):
        entry = result[row[0]]
        entry.assigned, entry.completed, entry.overdue = row[1], row[2], row[3]
    lesson_counts = (select(Lesson.track_version_id, func.count().label("n"))
                     .group_by(Lesson.track_version_id)).subquery()
    for user_id, total in db.session.execute(
        select(Assignment.user_id, func.sum(lesson_counts.c.n))
        .join(Track, live)
        .join(lesson_counts, lesson_counts.c.track_version_id == Track.current_version_id)
        .where(Assignment.user_id.in_(ids)).group_by(Assignment.user_id)
    ):
        result[user_id].total_lessons = int(total or 0)
    for user_id, done in db.session.execute(
        select(Assignment.user_id, func.count())
        .join(Track, live)
        .join(Lesson, Lesson.track_version_id == Track.current_version_id)
        .join(LessonCompletion, and_(LessonCompletion.lesson_id == Lesson.id,
                                     LessonCompletion.user_id == Assignment.user_id))
        .where(Assignment.user_id.in_(ids)).group_by(Assignment.user_id)
    ):
        result[user_id].done_lessons = done
    return [result[user_id] for user_id in ids]


@dataclass
class CheckOutcome:
    """What passing a knowledge check completed in one assigned track, and what it opened."""

    track_slug: str
    track_title: str
    lesson_title: str
    course_title: str
    course_done: bool
    track_done: bool
    next_lesson: LessonInfo | None  # the lesson now open after it, if any
    unlocked_tracks: list[tuple[str, str]]  # (slug, title): tracks now open thanks to it


def knowledge_check_outcomes(user: User, assessment_slug: str) -> list[CheckOutcome]:
    """For each assigned track whose lesson is this knowledge check, once it is done."""
    rows = db.session.execute(
        select(Track, Lesson).join(Assignment, Assignment.track_id == Track.id)
        .join(Lesson, Lesson.track_version_id == Track.current_version_id)
        .where(Assignment.user_id == user.id, Track.archived_at.is_(None),
               Lesson.assessment_slug == assessment_slug).order_by(Track.slug)).all()
    if not rows:
        return []
    completions = _completions(user.id)
    titles = dict(db.session.execute(
        select(Track.slug, TrackVersion.title)
        .join(TrackVersion, TrackVersion.id == Track.current_version_id)
        .where(Track.archived_at.is_(None))).all())
    assigned = db.session.execute(
        select(Track.slug, Track.prerequisites, TrackVersion.title)
        .join(Assignment, Assignment.track_id == Track.id)
        .join(TrackVersion, TrackVersion.id == Track.current_version_id)
        .where(Assignment.user_id == user.id, Track.archived_at.is_(None))).all()
    found = []
    for track, lesson in rows:
        outline = track_outline(user, track)
        state = outline.state_of(lesson.slug)
        if not state.done:
            continue
        course = next(c for c in outline.courses if c.course.id == lesson.course_id)
        later = [s for s in outline.lessons if s.lesson.position > lesson.position]
        next_open = next((s.lesson for s in later if not s.done and s.locked_reason is None),
                         None)
        unlocked = []
        if outline.completed_at is not None:
            unlocked = [(slug, title) for slug, prerequisites, title in assigned
                        if track.slug in (prerequisites or [])
                        and prerequisite_reason(prerequisites, completions, titles) is None]
        found.append(CheckOutcome(
            track.slug, outline.version.title, lesson.title, course.course.title, course.done,
            outline.completed_at is not None, next_open, unlocked))
    return found
