"""Read and validate content/ without touching the database.

Every problem names the file, the line and the field, e.g.
`content/tracks/sales/track.yml:12: audience.tiers.0: unknown tier 'diamond'`.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, PositiveInt, model_validator

from lms.core.content_files import (  # noqa: F401  (ContentError, Problem: part of this API)
    ContentError,
    Problem,
    Strict,
    compose,
    display,
    problem_at,
    read_model,
)

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
Slug = Annotated[str, Field(pattern=SLUG_PATTERN, max_length=100)]
Text = Annotated[str, Field(min_length=1, max_length=200)]
TERM_SECTIONS = {"partner_types": "partner_type", "tiers": "tier", "regions": "region",
                 "job_roles": "job_role"}


# --- file schemas --------------------------------------------------------------------------

class TermIn(Strict):
    # Limits of term.code / term.name in the database: longer ones are problems here,
    # not a database error halfway through a sync.
    code: Annotated[str, Field(pattern=SLUG_PATTERN, max_length=50)]
    name: Annotated[str, Field(min_length=1, max_length=100)]


class ProgramIn(Strict):
    vendor: Text
    partner_types: list[TermIn] = Field(min_length=1)
    tiers: list[TermIn] = Field(min_length=1)
    regions: list[TermIn] = Field(min_length=1)
    job_roles: list[TermIn] = Field(min_length=1)


class AudienceIn(Strict):
    partner_types: list[str] = []
    tiers: list[str] = []
    regions: list[str] = []
    job_roles: list[str] = []


class LessonIn(Strict):
    slug: Slug
    title: Text
    minutes: PositiveInt | None = None
    text: str | None = None
    video: Annotated[str, Field(pattern=r"^https://\S+$", max_length=500)] | None = None
    download: str | None = None
    assessment: Slug | None = None  # a knowledge check; the lesson completes when it is passed

    @model_validator(mode="after")
    def _has_content(self) -> LessonIn:
        if not (self.text or self.video or self.download or self.assessment):
            raise ValueError("a lesson needs at least one of text, video, download or assessment")
        return self


class CourseIn(Strict):
    slug: Slug
    title: Text
    summary: str = ""
    lessons: list[LessonIn] = Field(min_length=1)


class TrackIn(Strict):
    slug: Slug
    title: Text
    summary: Annotated[str, Field(min_length=1)]
    estimated_minutes: PositiveInt
    required: bool = False
    sequential: bool = True
    due_within_days: PositiveInt | None = None
    prerequisites: list[str] = []
    audience: AudienceIn = AudienceIn()
    courses: list[CourseIn] = Field(min_length=1)


# --- loaded program ------------------------------------------------------------------------

@dataclass
class LoadedFile:
    filename: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class LoadedLesson:
    slug: str
    title: str
    minutes: int | None
    body_markdown: str
    video_url: str | None
    download: LoadedFile | None
    assessment_slug: str | None = None

    @property
    def content_hash(self) -> str:
        extra = [self.assessment_slug] if self.assessment_slug else []
        return _hash([self.title, self.minutes, self.body_markdown, self.video_url,
                      self.download.sha256 if self.download else None, *extra])


@dataclass
class LoadedCourse:
    slug: str
    title: str
    summary: str
    lessons: list[LoadedLesson]


@dataclass
class LoadedTrack:
    source: str
    spec: TrackIn
    courses: list[LoadedCourse]

    @property
    def content_hash(self) -> str:
        """Hash of everything a learner sees; a change publishes a new version."""
        return _hash([
            self.spec.title, self.spec.summary, self.spec.estimated_minutes,
            [[c.slug, c.title, c.summary, [[lesson.slug, lesson.content_hash]
                                           for lesson in c.lessons]] for c in self.courses],
        ])

    @property
    def settings(self) -> dict[str, Any]:
        """Assignment settings: changing them does not publish a version."""
        return {
            "audience": self.spec.audience.model_dump(),
            "prerequisites": list(self.spec.prerequisites),
            "required": self.spec.required,
            "sequential": self.spec.sequential,
            "due_within_days": self.spec.due_within_days,
        }


@dataclass
class Program:
    root: Path
    vendor: str
    terms: dict[str, list[TermIn]]  # kind -> ordered terms
    tracks: list[LoadedTrack] = field(default_factory=list)


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


# --- reading -------------------------------------------------------------------------------

def load(root: str | os.PathLike) -> Program:
    """Load and validate the whole content tree; raise ContentError listing every problem."""
    root = Path(root)
    problems: list[Problem] = []
    if not root.is_dir():
        raise ContentError([Problem(display(root), 0, "(path)", "content folder not found")])

    program_path = root / "program.yml"
    program_spec = read_model(program_path, ProgramIn, problems)
    terms: dict[str, list[TermIn]] = {}
    if program_spec is not None:
        node = compose(program_path)
        for section, kind in TERM_SECTIONS.items():
            seen: set[str] = set()
            for index, term in enumerate(getattr(program_spec, section)):
                if term.code in seen:
                    problems.append(problem_at(program_path, node, (section, index, "code"),
                                             f"duplicate code '{term.code}'"))
                seen.add(term.code)
            terms[kind] = getattr(program_spec, section)

    tracks: list[LoadedTrack] = []
    track_dirs = sorted(p for p in (root / "tracks").iterdir() if p.is_dir()) \
        if (root / "tracks").is_dir() else []
    # A folder without track.yml (say, a misnamed track.yaml) would otherwise be archived.
    for folder in track_dirs:
        if not (folder / "track.yml").is_file():
            problems.append(Problem(display(folder / "track.yml"), 0, "(file)",
                                    "file not found: every folder in tracks/ holds a track.yml"))
    track_files = [folder / "track.yml" for folder in track_dirs
                   if (folder / "track.yml").is_file()]
    first_seen: dict[str, Path] = {}
    invalid_slugs: set[str] = set()
    for track_path in track_files:
        # Its problems are reported; other tracks' prerequisites on it are not "unknown".
        spec = read_model(track_path, TrackIn, problems, invalid=invalid_slugs)
        if spec is None:
            continue
        node = compose(track_path)
        before = len(problems)
        if spec.slug in first_seen:
            problems.append(problem_at(track_path, node, ("slug",),
                                     f"duplicate track slug '{spec.slug}' "
                                     f"(also in {display(first_seen[spec.slug])})"))
        else:
            first_seen[spec.slug] = track_path
        if terms:
            _check_audience(track_path, node, spec, terms, problems)
        courses = _load_courses(track_path, node, spec, problems)
        if len(problems) == before:
            tracks.append(LoadedTrack(source=display(track_path), spec=spec, courses=courses))
        else:
            # Keep the slug known so other tracks' prerequisites don't report it missing.
            tracks.append(LoadedTrack(source=display(track_path), spec=spec, courses=[]))

    _check_prerequisites(tracks, problems, invalid_slugs)
    if problems:
        raise ContentError(problems)
    return Program(root=root, vendor=program_spec.vendor, terms=terms, tracks=tracks)


def _check_audience(path: Path, node, spec: TrackIn, terms: dict, problems: list[Problem]):
    for section, kind in TERM_SECTIONS.items():
        known = [term.code for term in terms.get(kind, [])]
        for index, code in enumerate(getattr(spec.audience, section)):
            if code not in known:
                label = kind.replace("_", " ")
                problems.append(problem_at(path, node, ("audience", section, index),
                                         f"unknown {label} '{code}' (known: {', '.join(known)})"))


def _load_courses(path: Path, node, spec: TrackIn, problems: list[Problem]) -> list[LoadedCourse]:
    track_dir = path.parent
    courses: list[LoadedCourse] = []
    course_slugs: set[str] = set()
    lesson_slugs: set[str] = set()
    for c_index, course in enumerate(spec.courses):
        if course.slug in course_slugs:
            problems.append(problem_at(path, node, ("courses", c_index, "slug"),
                                     f"duplicate course slug '{course.slug}' in this track"))
        course_slugs.add(course.slug)
        lessons = []
        for l_index, lesson in enumerate(course.lessons):
            loc = ("courses", c_index, "lessons", l_index)
            if lesson.slug in lesson_slugs:
                problems.append(problem_at(path, node, (*loc, "slug"),
                                         f"duplicate lesson slug '{lesson.slug}' in this track"))
            lesson_slugs.add(lesson.slug)
            body = ""
            if lesson.text:
                raw = _read_relative(path, node, track_dir, lesson.text, (*loc, "text"), problems)
                if raw is not None:
                    try:
                        body = raw.decode("utf-8")
                    except UnicodeDecodeError as error:
                        line = raw[:error.start].count(b"\n") + 1
                        problems.append(Problem(
                            display(track_dir / lesson.text), line, "(file)",
                            f"not UTF-8 text (byte 0x{raw[error.start]:02X} on this line), "
                            f"the text of lesson '{lesson.slug}' in {display(path)}"))
            download = None
            if lesson.download:
                raw = _read_relative(path, node, track_dir, lesson.download, (*loc, "download"),
                                     problems)
                if raw is not None:
                    name = Path(lesson.download).name
                    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
                    download = LoadedFile(filename=name, content_type=kind, data=raw)
            lessons.append(LoadedLesson(slug=lesson.slug, title=lesson.title,
                                        minutes=lesson.minutes, body_markdown=body,
                                        video_url=lesson.video, download=download,
                                        assessment_slug=lesson.assessment))
        courses.append(LoadedCourse(slug=course.slug, title=course.title,
                                    summary=course.summary, lessons=lessons))
    return courses


def _read_relative(path: Path, node, base: Path, relative: str, loc: tuple,
                   problems: list[Problem]) -> bytes | None:
    target = (base / relative).resolve()
    if not target.is_relative_to(base.resolve()):
        problems.append(problem_at(path, node, loc,
                                   f"'{relative}' points outside the track folder"))
        return None
    if not target.is_file():
        problems.append(problem_at(path, node, loc, f"file '{relative}' does not exist"))
        return None
    return target.read_bytes()


def _check_prerequisites(tracks: list[LoadedTrack], problems: list[Problem],
                         invalid_slugs: set[str | None]) -> None:
    by_slug: dict[str, LoadedTrack] = {}
    for track in tracks:  # a duplicated slug keeps its first track, as reported above
        by_slug.setdefault(track.spec.slug, track)
    for track in tracks:
        path = Path(track.source)
        for index, slug in enumerate(track.spec.prerequisites):
            if slug == track.spec.slug:
                problems.append(problem_at(path, compose(path), ("prerequisites", index),
                                         "a track cannot be its own prerequisite"))
            elif slug not in by_slug and slug not in invalid_slugs:
                problems.append(problem_at(path, compose(path), ("prerequisites", index),
                                         f"unknown track '{slug}'"))
    # Depth-first search for cycles, reported once per cycle at its first track.
    state: dict[str, str] = {}
    reported: set[frozenset] = set()

    def visit(slug: str, trail: list[str]) -> None:
        state[slug] = "visiting"
        for nxt in by_slug[slug].spec.prerequisites:
            if nxt not in by_slug or nxt == slug:
                continue
            if state.get(nxt) == "visiting":
                cycle = trail[trail.index(nxt):] + [nxt]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    origin = by_slug[nxt]
                    path = Path(origin.source)
                    index = origin.spec.prerequisites.index(cycle[1])
                    problems.append(problem_at(path, compose(path), ("prerequisites", index),
                                             "prerequisite cycle: " + " -> ".join(cycle)))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[slug] = "done"

    for slug in by_slug:
        if slug not in state:
            visit(slug, [slug])
