"""Apply a loaded content program to the database, idempotently, without committing."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field

from sqlalchemy import func, insert, literal, select

from lms.accounts.models import Term
from lms.catalog import team_tallies
from lms.catalog.loader import LoadedTrack, Program
from lms.catalog.models import (
    Asset,
    Course,
    CourseCompletion,
    Lesson,
    LessonCompletion,
    Track,
    TrackCompletion,
    TrackVersion,
)
from lms.core import clock, settings
from lms.extensions import db


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def touched(self) -> bool:
        return bool(self.created or self.changed or self.archived)

    def lines(self) -> list[str]:
        out = [f"created   {item}" for item in self.created]
        out += [f"changed   {item}" for item in self.changed]
        out += [f"archived  {item}" for item in self.archived]
        out.append(f"{len(self.created)} created, {len(self.changed)} changed, "
                   f"{len(self.archived)} archived, {len(self.unchanged)} unchanged")
        return out


def apply(program: Program) -> SyncReport:
    """Bring terms and tracks in line with `program`; publish versions where content changed."""
    report = SyncReport()
    if settings.put("vendor_name", program.vendor):
        report.changed.append(f"vendor name: {program.vendor}")
    _sync_terms(program, report)
    existing = {track.slug: track for track in db.session.scalars(select(Track))}
    seen: set[str] = set()
    for loaded in program.tracks:
        seen.add(loaded.spec.slug)
        track = existing.get(loaded.spec.slug)
        # A new version or a track back from the archive changes what its learners count
        # for at their partners (the lessons, those done, completions carried forward).
        moves = track is not None and (track.archived_at is not None or (
            track.current_version is None
            or track.current_version.content_hash != loaded.content_hash))
        with team_tallies.changing(team_tallies.of_track(track.id)) if moves else nullcontext():
            _sync_track(loaded, track, report)
    now = clock.now()
    for slug, track in existing.items():
        if slug not in seen and track.archived_at is None:
            with team_tallies.changing(team_tallies.of_track(track.id)):
                track.archived_at = now
            report.archived.append(f"track {slug}")
    db.session.flush()
    return report


def _sync_terms(program: Program, report: SyncReport) -> None:
    existing = {(term.kind, term.code): term for term in db.session.scalars(select(Term))}
    wanted: set[tuple[str, str]] = set()
    for kind, entries in program.terms.items():
        for rank, entry in enumerate(entries):
            key = (kind, entry.code)
            wanted.add(key)
            term = existing.get(key)
            label = f"{kind.replace('_', ' ')} {entry.code}"
            if term is None:
                db.session.add(Term(kind=kind, code=entry.code, name=entry.name, rank=rank))
                report.created.append(label)
            elif (term.name, term.rank, term.archived_at) != (entry.name, rank, None):
                term.name, term.rank, term.archived_at = entry.name, rank, None
                report.changed.append(label)
            else:
                report.unchanged.append(label)
    now = clock.now()
    for key, term in existing.items():
        if key not in wanted and term.archived_at is None:
            term.archived_at = now
            report.archived.append(f"{term.kind.replace('_', ' ')} {term.code}")


def _sync_track(loaded: LoadedTrack, track: Track | None, report: SyncReport) -> None:
    slug = loaded.spec.slug
    settings = loaded.settings
    if track is None:
        track = Track(slug=slug, **settings)
        db.session.add(track)
        db.session.flush()
        version = _publish(track, loaded, number=1)
        report.created.append(f"track {slug} (version 1: {_count_lessons(loaded)} lessons)")
        track.current_version_id = version.id
        return

    notes = []
    if track.archived_at is not None:
        track.archived_at = None
        notes.append("restored from archive")
    current_settings = {key: getattr(track, key) for key in settings}
    if current_settings != settings:
        changed = sorted(key for key in settings if current_settings[key] != settings[key])
        for key, value in settings.items():
            setattr(track, key, value)
        notes.append("settings: " + ", ".join(changed))
    previous = track.current_version
    if previous is None or previous.content_hash != loaded.content_hash:
        number = (previous.number if previous else 0) + 1
        version = _publish(track, loaded, number=number)
        carried = _carry_forward(previous, version) if previous else 0
        track.current_version_id = version.id
        notes.append(f"new version {number}"
                     + (f", {carried} completion(s) carried forward" if carried else ""))
    if notes:
        report.changed.append(f"track {slug} ({'; '.join(notes)})")
    else:
        report.unchanged.append(f"track {slug}")


def _count_lessons(loaded: LoadedTrack) -> int:
    return sum(len(course.lessons) for course in loaded.courses)


def _publish(track: Track, loaded: LoadedTrack, *, number: int) -> TrackVersion:
    """Write a new immutable version with its courses and lessons."""
    version = TrackVersion(track_id=track.id, number=number, title=loaded.spec.title,
                           summary=loaded.spec.summary,
                           estimated_minutes=loaded.spec.estimated_minutes,
                           content_hash=loaded.content_hash, published_at=clock.now())
    db.session.add(version)
    db.session.flush()
    position = 0
    for course_position, loaded_course in enumerate(loaded.courses):
        course = Course(track_version_id=version.id, slug=loaded_course.slug,
                        position=course_position, title=loaded_course.title,
                        summary=loaded_course.summary)
        db.session.add(course)
        db.session.flush()
        for loaded_lesson in loaded_course.lessons:
            asset_sha = _store_asset(loaded_lesson.download) if loaded_lesson.download else None
            db.session.add(Lesson(
                track_version_id=version.id, course_id=course.id, slug=loaded_lesson.slug,
                position=position, title=loaded_lesson.title, minutes=loaded_lesson.minutes,
                body_markdown=loaded_lesson.body_markdown, video_url=loaded_lesson.video_url,
                asset_sha256=asset_sha, content_hash=loaded_lesson.content_hash,
                assessment_slug=loaded_lesson.assessment_slug,
            ))
            position += 1
    db.session.flush()
    return version


def _store_asset(download) -> str:
    sha = download.sha256
    if db.session.get(Asset, sha) is None:
        db.session.add(Asset(sha256=sha, filename=download.filename,
                             content_type=download.content_type, size=len(download.data),
                             data=download.data))
    return sha


def _carry_forward(previous: TrackVersion, version: TrackVersion) -> int:
    """Copy completions of unchanged lessons (same slug, same content) to the new version.

    Set-based: one INSERT ... SELECT per unchanged lesson, whatever the number of learners.
    The old completions stay where they are, attached to the version they were earned on.
    """
    old = {row.slug: row for row in db.session.execute(
        select(Lesson.id, Lesson.slug, Lesson.content_hash)
        .where(Lesson.track_version_id == previous.id))}
    new = db.session.execute(
        select(Lesson.id, Lesson.slug, Lesson.content_hash, Lesson.course_id)
        .where(Lesson.track_version_id == version.id)).all()
    carried = 0
    for lesson in new:
        before = old.get(lesson.slug)
        if before is None or before.content_hash != lesson.content_hash:
            continue
        result = db.session.execute(insert(LessonCompletion).from_select(
            ["user_id", "lesson_id", "completed_at", "carried_from_id"],
            select(LessonCompletion.user_id, literal(lesson.id), LessonCompletion.completed_at,
                   LessonCompletion.id).where(LessonCompletion.lesson_id == before.id),
        # Without this SQLAlchemy reads rowcount after closing the cursor: psycopg then
        # says -1, so PostgreSQL reported negative counts (and "carried" every time).
        ).execution_options(preserve_rowcount=True))
        carried += result.rowcount or 0
    if carried:
        _complete_carried_courses_and_track(version)
    return carried


def _complete_carried_courses_and_track(version: TrackVersion) -> None:
    """Where carried lessons finish a course or the whole track, record it (no events)."""
    for course_id, total in db.session.execute(
        select(Lesson.course_id, func.count()).where(Lesson.track_version_id == version.id)
        .group_by(Lesson.course_id)
    ).all():
        done = (select(LessonCompletion.user_id, func.max(LessonCompletion.completed_at))
                .join(Lesson, Lesson.id == LessonCompletion.lesson_id)
                .where(Lesson.course_id == course_id)
                .group_by(LessonCompletion.user_id).having(func.count() == total)).subquery()
        db.session.execute(insert(CourseCompletion).from_select(
            ["user_id", "completed_at", "course_id"],
            select(done.c[0], done.c[1], literal(course_id))))
    total = db.session.scalar(select(func.count()).where(Lesson.track_version_id == version.id))
    done = (select(LessonCompletion.user_id, func.max(LessonCompletion.completed_at))
            .join(Lesson, Lesson.id == LessonCompletion.lesson_id)
            .where(Lesson.track_version_id == version.id)
            .group_by(LessonCompletion.user_id).having(func.count() == total)).subquery()
    db.session.execute(insert(TrackCompletion).from_select(
        ["user_id", "completed_at", "track_id", "track_version_id", "carried_forward"],
        select(done.c[0], done.c[1], literal(version.track_id), literal(version.id),
               literal(True))))
