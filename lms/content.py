"""Enablement as code: check and sync everything in content/ (tracks, banks, assessments,
certification programs, onboarding journeys, the readiness rubric and tier rules, the
scorecard metric definitions).

Each domain reads its own files; this module runs them together, cross-checks what
one refers to in another, and applies it all in one transaction.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import click
from flask import current_app

from lms.assessments import answer_keys
from lms.assessments import loader as assessment_loader
from lms.assessments import sync as assessment_sync
from lms.catalog import loader, sync
from lms.catalog import service as catalog_service
from lms.catalog.loader import Program
from lms.certifications import loader as certification_loader
from lms.certifications import sync as certification_sync
from lms.core import jobs
from lms.core.content_files import ContentError, compose, problem_at
from lms.journeys import loader as journey_loader
from lms.journeys import sync as journey_sync
from lms.readiness import loader as readiness_loader
from lms.readiness import sync as readiness_sync
from lms.scorecard import loader as scorecard_loader
from lms.scorecard import sync as scorecard_sync


@dataclass
class Content:
    catalog: Program
    assessments: assessment_loader.AssessmentProgram
    certifications: certification_loader.CertificationProgram
    journeys: journey_loader.JourneyProgram
    readiness: readiness_loader.ReadinessContent
    scorecard: scorecard_loader.Definitions | None = None  # None: no content/scorecard/
    # Allowed, but worth an author's second look (printed by `lms content check`).
    warnings: list = field(default_factory=list)


def load_all(path: str | Path) -> Content:
    """Validate the whole content tree; raise ContentError listing every problem."""
    root = Path(path)
    problems = []
    try:
        catalog = loader.load(root)
    except ContentError as error:
        problems.extend(error.problems)
        catalog = None
    assessments = assessment_loader.load(root, problems) if root.is_dir() else None
    if catalog is not None and assessments is not None:
        _check_knowledge_checks(catalog, assessments, problems)
    certifications = None
    if catalog is not None and assessments is not None:
        certifications = certification_loader.load(
            root, problems, tracks={track.spec.slug for track in catalog.tracks},
            assessments=assessments.known,
            job_roles={term.code for term in catalog.terms.get("job_role", [])})
    warnings: list = []
    if certifications is not None:
        _check_answer_keys(assessments, certifications, problems, warnings)
    journeys = None
    if certifications is not None:
        journeys = journey_loader.load(
            root, problems, tracks={track.spec.slug for track in catalog.tracks},
            assessments=assessments.known, programs=certifications.known,
            terms={kind: {term.code for term in terms} for kind, terms in catalog.terms.items()})
    readiness = None
    if certifications is not None:
        readiness = readiness_loader.load(
            root, problems, programs=certifications.known,
            tracks={track.spec.slug for track in catalog.tracks},
            tiers=[term.code for term in catalog.terms.get("tier", [])],
            job_roles={term.code for term in catalog.terms.get("job_role", [])})
    scorecard = None
    if catalog is not None:
        scorecard = scorecard_loader.load(
            root, problems, tracks={track.spec.slug for track in catalog.tracks})
    if problems:
        raise ContentError(problems)
    return Content(catalog, assessments, certifications, journeys, readiness, scorecard,
                   warnings)


def _check_answer_keys(assessments, certifications, problems, warnings) -> None:
    """The answer-key rule (lms.assessments.answer_keys) over the whole content: an error
    where a certificate could be earned from feedback, a warning where a key is shown that
    a certifying assessment can draw."""
    counted: dict[str, list[str]] = {}
    for program in certifications.programs:
        spec = program.spec
        for slug in {*spec.requirements.assessments, spec.renewal.assessment} - {None}:
            counted.setdefault(slug, []).append(spec.code)
    drawn_by: dict[tuple[str, str], set[str]] = {}
    for loaded in assessments.assessments:
        if loaded.spec.slug in counted:
            for item in loaded.items:
                drawn_by.setdefault((item.bank_slug, item.key), set()).add(loaded.spec.slug)
    for loaded in assessments.assessments:
        spec, path = loaded.spec, loaded.path
        if spec.feedback != "after_submission" or path is None:
            continue
        node = compose(path)
        programs = counted.get(spec.slug)
        limits = {"max_attempts": spec.max_attempts, "cooldown_hours": spec.cooldown_hours}
        if programs and answer_keys.unsafe(spec.feedback, certifies=True, **limits):
            problems.append(problem_at(
                path, node, ("feedback",),
                f"counts toward {', '.join(sorted(programs))} and shows the answer key after "
                "every attempt with unlimited immediate retakes, so a blank attempt's "
                "feedback earns the certificate: use feedback: after_passing (or never), "
                "or set max_attempts or cooldown_hours"))
        elif programs:
            warnings.append(problem_at(
                path, node, ("feedback",),
                f"counts toward {', '.join(sorted(programs))} and shows the answer key after a "
                "failed attempt; only its attempt limit or cooldown holds the next try back"))
        else:
            shared = sorted({other for item in loaded.items
                             for other in drawn_by.get((item.bank_slug, item.key), ())})
            if shared:
                warnings.append(problem_at(
                    path, node, ("feedback",),
                    "shows the answer key after every attempt, of items that "
                    f"{', '.join(shared)} (which counts toward a certificate) can draw"))


def _check_knowledge_checks(catalog, assessments, problems) -> None:
    for track in catalog.tracks:
        for c_index, course in enumerate(track.courses):
            for l_index, lesson in enumerate(course.lessons):
                if lesson.assessment_slug and lesson.assessment_slug not in assessments.known:
                    path = Path(track.source)
                    problems.append(problem_at(
                        path, compose(path), ("courses", c_index, "lessons", l_index,
                                              "assessment"),
                        f"unknown assessment '{lesson.assessment_slug}'"))


def sync_all(path: str | Path) -> sync.SyncReport:
    """Validate, then apply everything and re-evaluate assignments. Flushes, never commits."""
    content = load_all(path)
    report = catalog_service.apply_content(content.catalog)
    assessment_sync.apply(content.assessments, report)
    certification_sync.apply(content.certifications, report)
    journey_sync.apply(content.journeys, report)
    readiness_sync.apply(content.readiness, report)
    scorecard_sync.apply(content.scorecard, report)
    return report


@click.group("content")
def content_command() -> None:
    """Validate and apply the enablement content in content/."""


def _path(path: str | None) -> str:
    return path or current_app.config["CONTENT_PATH"]


def _report_problems(error: ContentError) -> None:
    for problem in error.problems:
        click.echo(str(problem), err=True)
    click.secho(f"{len(error.problems)} problem(s); nothing was changed.", fg="red", err=True)


@content_command.command("check")
@click.argument("path", required=False)
def check_command(path: str | None) -> None:
    """Validate content without touching the database."""
    try:
        content = load_all(_path(path))
    except ContentError as error:
        _report_problems(error)
        sys.exit(1)
    for warning in content.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    lessons = sum(len(c.lessons) for t in content.catalog.tracks for c in t.courses)
    click.secho(f"OK: {len(content.catalog.tracks)} tracks, {lessons} lessons, "
                f"{len(content.assessments.assessments)} assessments, "
                f"{len(content.certifications.programs)} certification programs, "
                f"{len(content.journeys.journeys)} onboarding journeys, "
                f"{_readiness_summary(content.readiness)}, "
                f"{_scorecard_summary(content.scorecard)}.", fg="green")


def _readiness_summary(readiness: readiness_loader.ReadinessContent) -> str:
    if not readiness.configured:
        return "no readiness rubric"
    return (f"readiness rubric version {readiness.rubric.version} "
            f"with rules for {len(readiness.tiers.rules)} tiers")


def _scorecard_summary(definitions: scorecard_loader.Definitions | None) -> str:
    if definitions is None:
        return "no scorecard metrics"
    count = len(definitions.checkpoints)
    return (f"scorecard metrics version {definitions.version} ({len(definitions.metrics)} "
            f"metrics, {count} compliance checkpoint{'s' if count != 1 else ''})")


@content_command.command("sync")
@click.argument("path", required=False)
def sync_command(path: str | None) -> None:
    """Apply content in one transaction: publish new versions, archive what was removed."""
    try:
        report = sync_all(_path(path))
    except ContentError as error:
        _report_problems(error)
        sys.exit(1)
    jobs.commit()
    for line in report.lines():
        click.echo(line)
