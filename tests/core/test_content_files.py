"""Content files with bad values: every problem is `file:line: field: message`, once.

Each test copies the shipped content/ and breaks one value, the way an author would.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lms.content import load_all
from lms.core.content_files import ContentError

CONTENT = Path(__file__).resolve().parents[2] / "content"


@pytest.fixture
def content(tmp_path, monkeypatch):
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    monkeypatch.chdir(tmp_path)  # problems name files as content/...
    return root


def _edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _problems(root: Path) -> list[str]:
    with pytest.raises(ContentError) as raised:
        load_all(root)
    return [str(problem) for problem in raised.value.problems]


def test_an_impossible_date_is_one_problem_with_file_line_and_field(content):
    _edit(content, "certifications/technical-associate.yml", "grace_days: 30",
          "grace_days: 2026-02-30")
    # Before: a ValueError traceback from the YAML parser (and nothing named).
    assert _problems(content) == [
        "content/certifications/technical-associate.yml:13: grace_days: input should be a "
        "valid integer, unable to parse string as an integer"]


def test_a_date_like_title_is_text_and_an_explicit_timestamp_does_not_crash(content):
    _edit(content, "certifications/technical-associate.yml",
          "name: Kestrel Certified Technical Associate", "name: 2026-02-28")
    _edit(content, "certifications/solution-architect.yml", "grace_days: 30",
          "grace_days: !!timestamp 2026-02-30")
    assert _problems(content) == [
        "content/certifications/solution-architect.yml:14: grace_days: input should be a "
        "valid integer, unable to parse string as an integer"]


def test_the_cli_reports_instead_of_crashing(content, app):
    _edit(content, "journeys/new-sales.yml", "due_days: 5", "due_days: 2026-02-30")
    for command in ("check", "sync"):
        result = app.test_cli_runner().invoke(args=["content", command, str(content)])
        # An uncaught exception also exits with 1: the exit must be the command's own.
        assert isinstance(result.exception, SystemExit) and result.exit_code == 1, \
            result.output
        assert "content/journeys/new-sales.yml:" in result.output
        assert "stages.0.milestones.0.due_days: input should be a valid integer" \
            in result.output
        assert "Traceback" not in result.output


def test_a_value_refused_by_a_union_is_one_message(content):
    _edit(content, "banks/partner-program.yml", "answer: 40", "answer: 2026-02-30")
    assert _problems(content) == [
        "content/banks/partner-program.yml:85: items.4.answer: input should be a valid "
        "boolean or a valid number"]


def test_a_broken_file_is_not_reported_again_by_every_file_that_names_it(content):
    # Before: one bad value in a certification program gave 7 problems, one per reference.
    _edit(content, "certifications/technical-associate.yml", "validity_months: 24",
          "validity_months: two years")
    assert _problems(content) == [
        "content/certifications/technical-associate.yml:11: validity_months: input should be "
        "a valid integer, unable to parse string as an integer"]


def test_a_broken_bank_is_not_reported_again_by_its_assessments(content):
    _edit(content, "banks/technical-associate.yml", "type: single_choice", "type: single")
    problems = _problems(content)
    assert len(problems) == 1 and problems[0].startswith(
        "content/banks/technical-associate.yml:") and ".type: input should be" in problems[0]


def test_a_broken_assessment_is_not_reported_again_by_its_program(content):
    _edit(content, "assessments/technical-associate-exam.yml", "pass_mark: 70",
          "pass_mark: seventy")
    problems = _problems(content)
    assert problems == ["content/assessments/technical-associate-exam.yml:22: pass_mark: "
                        "input should be a valid integer, unable to parse string as an "
                        "integer"]


def test_a_file_that_is_not_utf8_names_its_line(content):
    path = content / "journeys" / "new-sales.yml"
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3] + b" caf\xe9"
    path.write_bytes(b"\n".join(lines))
    assert _problems(content) == [
        "content/journeys/new-sales.yml:4: (file): not UTF-8 text (byte 0xE9 on this line): "
        "save the file as UTF-8"]
