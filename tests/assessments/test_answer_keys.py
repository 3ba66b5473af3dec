"""The answer-key rule: a certifying assessment never shows the key of items it can draw
again before a pass, unless retakes are held back; in content checks and on result pages."""

from __future__ import annotations

import shutil

import pytest

from lms.assessments import answer_keys
from lms.assessments.service import certifying_programs
from lms.certifications.models import Program
from lms.content import load_all
from lms.core.content_files import ContentError
from lms.extensions import db
from tests.assessments.support import CHECK, correct_form, current_version, wrong_form
from tests.assessments.test_attempts import explanations, learner, plain, take
from tests.certifications.support import program_version
from tests.conftest import CONTENT
from tests.factories import login

SALES_CHECK = "content/assessments/sales-foundations-check.yml"


@pytest.mark.parametrize("feedback, certifies, max_attempts, cooldown, unsafe", [
    ("after_submission", True, None, 0, True),
    ("after_submission", True, 3, 0, False),
    ("after_submission", True, None, 24, False),
    ("after_submission", False, None, 0, False),
    ("after_passing", True, None, 0, False),
    ("never", True, None, 0, False),
])
def test_the_rule(feedback, certifies, max_attempts, cooldown, unsafe):
    assert answer_keys.unsafe(feedback, certifies=certifies, max_attempts=max_attempts,
                              cooldown_hours=cooldown) is unsafe
    # Before a pass, the key shows exactly where the combination is safe.
    assert answer_keys.key_visible(feedback, attempt_passed=False, passed=False,
                                   certifies=certifies, max_attempts=max_attempts,
                                   cooldown_hours=cooldown) \
        is (feedback == "after_submission" and not unsafe)
    # Once passed, the policy alone decides.
    assert answer_keys.key_visible(feedback, attempt_passed=True, passed=True,
                                   certifies=certifies, max_attempts=max_attempts,
                                   cooldown_hours=cooldown) is (feedback != "never")


def test_a_pass_that_a_reopening_no_longer_counts_shows_no_key_without_a_hold():
    assert not answer_keys.key_visible("after_passing", attempt_passed=True, passed=False,
                                       certifies=True, max_attempts=None, cooldown_hours=0)


# --- content check ---------------------------------------------------------------------------


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(CONTENT, tmp_path / "content")
    return tmp_path / "content"


def edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def test_the_shipped_content_is_safe_and_quiet(root):
    content = load_all(root)
    assert content.warnings == []
    counted = {"technical-associate-exam", "technical-associate-renewal",
               "sales-foundations-check"}
    for loaded in content.assessments.assessments:
        spec = loaded.spec
        assert not answer_keys.unsafe(spec.feedback, certifies=spec.slug in counted,
                                      max_attempts=spec.max_attempts,
                                      cooldown_hours=spec.cooldown_hours), spec.slug


def test_a_certifying_check_with_its_key_and_free_retakes_is_refused(root, app):
    edit(root / "assessments" / "sales-foundations-check.yml",
         "feedback: after_passing", "feedback: after_submission")
    with pytest.raises(ContentError) as error:
        load_all(root)
    [problem] = [str(p) for p in error.value.problems]
    line = next(number for number, text in enumerate(
        (root / "assessments" / "sales-foundations-check.yml").read_text().splitlines(), 1)
        if text.startswith("feedback:"))
    assert problem.startswith(f"{SALES_CHECK}:{line}: feedback: counts toward "
                              "sales-professional and shows the answer key after every attempt "
                              "with unlimited immediate retakes")

    result = app.test_cli_runner().invoke(args=["content", "check", str(root)])
    assert result.exit_code == 1 and f"{SALES_CHECK}:{line}: feedback:" in result.output


def test_a_cooldown_makes_it_a_warning(root, app):
    path = root / "assessments" / "sales-foundations-check.yml"
    edit(path, "feedback: after_passing", "feedback: after_submission\ncooldown_hours: 12")
    [warning] = [str(w) for w in load_all(root).warnings]
    assert warning.startswith(f"{SALES_CHECK}:") and "only its attempt limit or cooldown" \
        in warning
    result = app.test_cli_runner().invoke(args=["content", "check", str(root)])
    assert result.exit_code == 0 and f"warning: {SALES_CHECK}:" in result.output


def test_a_practice_check_showing_a_certification_bank_is_a_warning(root):
    (root / "assessments" / "practice.yml").write_text(
        "slug: technical-practice\ntitle: Practice\npass_mark: 50\n"
        "feedback: after_submission\nitems:\n  - technical-associate/edge-pop-name\n")
    [warning] = [str(w) for w in load_all(root).warnings]
    assert warning == ("content/assessments/practice.yml:4: feedback: shows the answer key "
                       "after every attempt, of items that technical-associate-exam, "
                       "technical-associate-renewal (which counts toward a certificate) can "
                       "draw")


# --- result page -----------------------------------------------------------------------------


def _make_check_certify():
    """Make the sales program also require the partner-program check (after_submission,
    no limit, no cooldown), as if such content had been synced before the check existed."""
    version = program_version("sales-professional")
    version.requirements = {**version.requirements,
                            "assessments": [*version.requirements["assessments"], CHECK]}
    db.session.flush()
    assert certifying_programs(CHECK) == ["Kestrel Certified Sales Professional"]


def test_a_certifying_check_withholds_the_key_of_a_failed_attempt(client):
    _make_check_certify()
    login(client, learner())
    attempt, page = take(client, CHECK, wrong_form)
    text = plain(page)
    assert attempt.passed is False and "Your answers" not in text
    assert "counts toward the Kestrel Certified Sales Professional certification and can be " \
           "taken again straight away, so its answers are shown only once you pass" in text
    for secret in explanations(attempt):
        assert secret not in text

    passed, page = take(client, CHECK, correct_form)
    assert passed.passed and "Your answers" in plain(page)


def test_a_cooldown_lets_the_key_of_a_failed_attempt_show(client):
    _make_check_certify()
    current_version(CHECK).cooldown_hours = 24
    db.session.flush()
    login(client, learner())
    attempt, page = take(client, CHECK, wrong_form)
    assert attempt.passed is False and "Your answers" in plain(page)


def test_an_archived_program_counts_no_more():
    _make_check_certify()
    program = db.session.get(Program, program_version("sales-professional").program_id)
    program.archived_at = program.created_at
    db.session.flush()
    assert certifying_programs(CHECK) == []
