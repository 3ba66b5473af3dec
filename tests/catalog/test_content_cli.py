"""`lms content check|sync [PATH]` as an author runs it."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from lms.accounts.models import Term
from lms.catalog.models import Assignment, Course, Lesson, Track, TrackVersion
from lms.config import PROJECT_ROOT
from lms.extensions import db
from tests.catalog.test_loader import TRACK, track_yml, write_program
from tests.conftest import CONTENT

TABLES = (Track, TrackVersion, Course, Lesson, Term, Assignment)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # problems show paths relative to the working directory
    return tmp_path / "content"


def counts() -> list[int]:
    return [db.session.scalar(select(func.count()).select_from(model)) for model in TABLES]


def broken(root):
    write_program(root, {
        "x": TRACK.replace("    - gold", "    - diamond"),
        "y": track_yml("y", {"c": ["l"]}, settings="prerequisites: [nope]"),
    })
    return root


BROKEN_PROBLEMS = [
    "content/tracks/x/track.yml:10: audience.tiers.0: unknown tier 'diamond' "
    "(known: silver, gold, platinum)",
    "content/tracks/y/track.yml:5: prerequisites.0: unknown track 'nope'",
    "2 problem(s); nothing was changed.",
]


def test_check_good_content(runner, root):
    write_program(root, {"x": TRACK, "y": track_yml("y", {"c": ["l"]})})
    result = runner.invoke(args=["content", "check", str(root)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ("OK: 2 tracks, 4 lessons, 0 assessments, 0 certification programs, "
                             "0 onboarding journeys, no readiness rubric, no scorecard "
                             "metrics.\n")
    assert result.stderr == ""


def test_check_defaults_to_the_configured_content_folder(runner):
    result = runner.invoke(args=["content", "check"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK: 5 tracks, ")


def test_check_bad_content_prints_every_problem_and_fails(runner, root):
    result = runner.invoke(args=["content", "check", str(broken(root))])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == BROKEN_PROBLEMS
    assert result.stdout == ""


def test_check_a_missing_folder(runner, root):
    result = runner.invoke(args=["content", "check", "nowhere"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "nowhere:0: (path): content folder not found",
        "1 problem(s); nothing was changed.",
    ]


def test_check_does_not_touch_the_database(runner, root):
    write_program(root, {"x": TRACK})
    before = counts()
    assert runner.invoke(args=["content", "check", str(root)]).exit_code == 0
    assert counts() == before
    assert db.session.scalar(select(Track).where(Track.slug == "x")) is None


def test_sync_bad_content_changes_nothing_and_fails(runner, root):
    before = counts()
    shipped = db.session.scalars(select(Track.id).where(Track.archived_at.is_(None))).all()
    result = runner.invoke(args=["content", "sync", str(broken(root))])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == BROKEN_PROBLEMS
    assert result.stdout == ""
    assert counts() == before
    assert db.session.scalars(select(Track.id).where(Track.archived_at.is_(None))).all() \
        == shipped


def test_sync_good_content_applies_and_reports(runner, root):
    write_program(root, {"x": TRACK})
    result = runner.invoke(args=["content", "sync", str(root)])
    assert result.exit_code == 0, result.output
    # Terms whose position in their list moved are "changed" (their rank is updated).
    assert result.stdout.splitlines() == [
        "created   track x (version 1: 3 lessons)",
        "changed   vendor name: Test Vendor",
        "changed   tier silver",
        "changed   tier gold",
        "changed   tier platinum",
        "changed   region emea",
        "changed   region amer",
        "changed   job role technical",
        "archived  partner type isv",
        "archived  partner type msp",
        "archived  tier registered",
        "archived  region apac",
        "archived  job role presales",
        "archived  job role support",
        "archived  track partner-onboarding-essentials",
        "archived  track sales-foundations",
        "archived  track solution-architecture",
        "archived  track support-essentials",
        "archived  track technical-associate",
        "archived  assessment partner-program-check",
        "archived  assessment sales-foundations-check",
        "archived  assessment technical-associate-exam",
        "archived  assessment technical-associate-renewal",
        "archived  certification sales-professional",
        "archived  certification solution-architect",
        "archived  certification technical-associate",
        "archived  journey new-presales",
        "archived  journey new-sales",
        "archived  journey new-support",
        "archived  journey new-technical",
        "archived  journey partner-onboarding",
        "1 created, 7 changed, 23 archived, 3 unchanged",
    ]
    track = db.session.scalar(select(Track).where(Track.slug == "x"))
    assert track.current_version.number == 1
    assert track.audience["tiers"] == ["gold"]

    again = runner.invoke(args=["content", "sync", str(root)])
    assert again.exit_code == 0
    assert again.stdout.splitlines()[-1].startswith("0 created, 0 changed, 0 archived, ")


def test_the_check_example_in_the_docs_is_real_output(runner, tmp_path, monkeypatch):
    docs = (PROJECT_ROOT / "docs/content-format.md").read_text()
    intro = "For example, with a missing lesson file, an unknown job role and a misspelt"
    example = docs.split(intro, 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    shutil.copytree(CONTENT, tmp_path / "content")
    monkeypatch.chdir(tmp_path)
    tracks = tmp_path / "content/tracks"
    (tracks / "sales-foundations/lessons/value-and-roi.md").unlink()
    for folder, old, new in (
            ("sales-foundations", "[partner-onboarding-essentials]", "[partner-onboarding]"),
            ("support-essentials", "job_roles: [support]", "job_roles: [helpdesk]")):
        track_yml_path = tracks / folder / "track.yml"
        text = track_yml_path.read_text()
        assert old in text
        track_yml_path.write_text(text.replace(old, new))
    result = runner.invoke(args=["content", "check", "content"])
    assert result.exit_code == 1
    assert result.stderr == example
