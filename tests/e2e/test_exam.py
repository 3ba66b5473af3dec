"""Taking exams in the browser: a pass resumed in a new browser, a fail, a timeout, keys only.

Answer keys never reach the browser, so these tests read each attempt's drawn items and
their keys straight from the served app's SQLite file, then answer through the page the
way a person would (radio buttons, check boxes, text boxes, drop-downs).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import expect

from tests.e2e.certificate_flow import check_certificate_lifecycle
from tests.e2e.support import log_in, query

EXAM_TITLE = "Kestrel Technical Associate certification exam"
EXAM_QUESTIONS = 20  # content/assessments/technical-associate-exam.yml: 4 pools of 5
# tests/e2e/extra_content/assessments/e2e-timed-check.yml: 1 minute, 4 fixed questions.
TIMED_TITLE = "E2E timed check"
TIMED_TYPES = ["single_choice", "numeric", "true_false", "short_text"]
GRACE = timedelta(seconds=5)  # lms.assessments.service.GRACE

# Plain groups only: Playwright hands the pattern to JavaScript, which has no (?P<name>).
QUESTION_PATH = re.compile(r"/attempts/([\w-]+)/questions/(\d+)$")  # public id, position
NEXT_BUTTON = 'form[data-autosave] button[name="go"][value="next"]:not([hidden])'


# --- reading the attempt from the database ---------------------------------------------------

@dataclass(frozen=True)
class DrawnItem:
    position: int
    item_type: str
    definition: dict  # with the answer key
    option_order: list


@dataclass(frozen=True)
class Field:
    """One thing to do on a question page: check a box, fill a text box, pick from a list."""

    action: str  # "check", "fill" or "select"
    name: str
    value: str


def drawn_items(database: Path, public_id: str) -> list[DrawnItem]:
    rows = query(database, """
        SELECT attempt_item.position, assessment_item.item_type, assessment_item.definition,
               attempt_item.option_order
        FROM attempt
        JOIN attempt_item ON attempt_item.attempt_id = attempt.id
        JOIN assessment_item ON assessment_item.id = attempt_item.assessment_item_id
        WHERE attempt.public_id = ? ORDER BY attempt_item.position""", (public_id,))
    return [DrawnItem(row["position"], row["item_type"], json.loads(row["definition"]),
                      json.loads(row["option_order"] or "[]")) for row in rows]


def saved_responses(database: Path, public_id: str) -> dict[int, dict]:
    """Position -> the stored response (answer decoded, score once graded)."""
    rows = query(database, """
        SELECT attempt_item.position, response.answer, response.score
        FROM attempt
        JOIN attempt_item ON attempt_item.attempt_id = attempt.id
        JOIN response ON response.attempt_item_id = attempt_item.id
        WHERE attempt.public_id = ?""", (public_id,))
    return {row["position"]: {**row, "answer": json.loads(row["answer"])} for row in rows}


def attempt_row(database: Path, public_id: str) -> dict:
    rows = query(database, "SELECT * FROM attempt WHERE public_id = ?", (public_id,))
    assert len(rows) == 1, f"no attempt {public_id}"
    return rows[0]


def as_utc(stored: str) -> datetime:
    """A datetime column as SQLite holds it (UTC, without the offset)."""
    moment = datetime.fromisoformat(stored)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- answers ---------------------------------------------------------------------------------

def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def answer_fields(item: DrawnItem, *, correct: bool) -> list[Field]:
    """The form input for a fully right, or a fully wrong (zero-scoring), answer."""
    key = item.definition
    kind = item.item_type
    if kind in ("single_choice", "multiple_response"):
        right = [option["id"] for option in key["options"] if option["correct"]]
        wrong = [option["id"] for option in key["options"] if not option["correct"]]
        if kind == "single_choice":
            return [Field("check", "choice", right[0] if correct else wrong[0])]
        assert wrong, f"question {item.position}: every option is correct"
        return [Field("check", "choices", option) for option in (right if correct else wrong)]
    if kind == "true_false":
        truth = key["answer"] if correct else not key["answer"]
        return [Field("check", "choice", "true" if truth else "false")]
    if kind == "numeric":
        value = key["answer"] if correct else key["answer"] + key["tolerance"] + 1000
        return [Field("fill", "value", _number(value))]
    if kind == "short_text":
        return [Field("fill", "text", key["accepted"][0] if correct else "no idea at all")]
    if kind == "ordering":
        # Wrong: every entry one place off, so even partial scoring earns nothing.
        count = len(key["entries"])
        return [Field("select", f"pos-{entry['id']}",
                      str(index + 1 if correct else (index + 1) % count + 1))
                for index, entry in enumerate(key["entries"])]
    if kind == "matching":
        pairs = key["pairs"]
        return [Field("select", f"match-{pair['left_id']}",
                      pair["right_id"] if correct else pairs[(index + 1) % len(pairs)]["right_id"])
                for index, pair in enumerate(pairs)]
    raise AssertionError(f"question {item.position}: unknown item type {kind}")


def _is_autosave(response) -> bool:
    request = response.request
    return (request.method == "POST" and QUESTION_PATH.search(urlparse(response.url).path)
            is not None and "application/json" in request.headers.get("accept", ""))


def give_answer(page, fields: list[Field]) -> None:
    """Enter an answer field by field, waiting for each autosave (attempt.js) to come back."""
    form = page.locator("form[data-autosave]")
    for number, field in enumerate(fields, start=1):
        with page.expect_response(_is_autosave) as saved:
            if field.action == "check":
                form.locator(f'input[name="{field.name}"][value="{field.value}"]').check()
            elif field.action == "fill":
                box = form.locator(f'[name="{field.name}"]')
                box.fill(field.value)
                box.press("Tab")  # leaving the box fires `change`, which autosaves
            else:
                form.locator(f'select[name="{field.name}"]').select_option(field.value)
        if number == len(fields):  # earlier ones may be incomplete (an ordering half done)
            response = saved.value
            assert response.status == 200, f"autosave answered {response.status}: " \
                                           f"{response.text()}"
            assert response.json()["saved"] is True
    expect(form.locator("[data-save-status]")).to_have_text("Saved")


def expect_answer_shown(page, fields: list[Field]) -> None:
    """The page shows a stored answer again (after a reload or in another browser)."""
    form = page.locator("form[data-autosave]")
    for field in fields:
        if field.action == "check":
            expect(form.locator(f'input[name="{field.name}"][value="{field.value}"]')) \
                .to_be_checked()
        else:
            expect(form.locator(f'[name="{field.name}"]')).to_have_value(field.value)


# --- pages -----------------------------------------------------------------------------------

def open_exam(page, title: str) -> None:
    """Main navigation -> Exams -> the exam's start page."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Exams").click()
    expect(page).to_have_url(re.compile(r"/assessments$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Certification exams")
    page.get_by_role("link", name=title, exact=True).click()
    expect(page).to_have_url(re.compile(r"/assessments/[\w-]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


def exam_card(page, title: str):
    return page.locator("article.track-card").filter(
        has=page.get_by_role("heading", name=title, exact=True))


def start_attempt(page, title: str, number: int = 1) -> str:
    """From an exam's start page: start an attempt, land on question 1; its public id."""
    page.get_by_role("button", name=f"Start attempt {number}").click()
    expect(page).to_have_url(QUESTION_PATH)
    match = QUESTION_PATH.search(urlparse(page.url).path)
    assert match is not None and match[2] == "1", page.url
    expect(page.locator(".exam-head")).to_contain_text(f"{title} · attempt {number}")
    return match[1]


def question_url(public_id: str, position: int) -> re.Pattern:
    # "#question" stays on the URL once the skip link to the question has been followed.
    return re.compile(rf"/attempts/{re.escape(public_id)}/questions/{position}(#question)?$")


def result_url(public_id: str) -> re.Pattern:
    return re.compile(rf"/attempts/{re.escape(public_id)}/result$")


def answer_and_next(page, public_id: str, item: DrawnItem, total: int, *, correct: bool
                    ) -> list[Field]:
    expect(page).to_have_url(question_url(public_id, item.position))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Question {item.position} of {total}")
    fields = answer_fields(item, correct=correct)
    give_answer(page, fields)
    page.locator(NEXT_BUTTON).click()
    return fields


def navigator(page):
    return page.get_by_role("navigation", name="Questions")


def nav_name(position: int, state: str) -> re.Pattern:
    """A navigator link's accessible name, "3, answered" or "3, not answered". Chromium puts
    a space before the comma: the visually hidden span is absolutely positioned (a block)."""
    return re.compile(rf"^{position} ?, {state}$")


def expect_navigator(page, total: int, answered: set[int]) -> None:
    """Each navigator link is named "<n>, answered" or "<n>, not answered"."""
    links = navigator(page).locator("a.nav-item")  # besides them: "Review and submit"
    expect(links).to_have_count(total)
    for position in range(1, total + 1):
        state = "answered" if position in answered else "not answered"
        expect(links.nth(position - 1)).to_have_accessible_name(nav_name(position, state))
    expect(navigator(page).locator("[data-answered-count]")).to_have_text(str(len(answered)))
    expect(navigator(page).locator(".nav-item.is-answered")).to_have_count(len(answered))


def tab_to_the_answer(page, answer) -> None:
    """From a freshly loaded question: the first Tab offers "Skip to the question", Enter
    follows it, and the next Tab or two reach the answer (not the header and the navigator).
    Once followed, the link's #question stays on the URL of the next questions, which then
    open at the question: the first Tab or two reach the answer straight away."""
    if not page.url.endswith("#question"):
        page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Skip to the question")
        expect(skip).to_be_focused()
        expect(skip).to_be_in_viewport()  # shown while it has the focus
        page.keyboard.press("Enter")
    for _ in range(2):
        page.keyboard.press("Tab")
        if answer.evaluate("element => element === document.activeElement"):
            break
    expect(answer).to_be_focused()


def submit_from_review(page, public_id: str, total: int) -> None:
    expect(page).to_have_url(re.compile(rf"/attempts/{re.escape(public_id)}/review$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Review your answers")
    expect(page.locator(".flash-success")).to_have_text(
        f"All {total} questions are answered.")
    page.get_by_role("button", name="Submit for grading").click()
    expect(page).to_have_url(result_url(public_id))


def _plain_snippets(items: list[DrawnItem]) -> list[str]:
    """Pieces of explanations and right answers that would show as typed if leaked."""
    snippets = []
    for item in items:
        texts = [item.definition.get("explanation", "")]
        texts += [o["text"] for o in item.definition.get("options", []) if o["correct"]]
        texts += item.definition.get("accepted", [])[:1]
        for text in texts:
            text = " ".join(text.split())[:40]
            if len(text) >= 12 and not re.search(r"[`*_\[\]<>&\\]", text):
                snippets.append(text)
    return snippets


# --- the tests -------------------------------------------------------------------------------

def test_learner_passes_after_resuming_in_a_new_browser_and_sees_the_answers(
        new_page, live_database, live_server, tmp_path):
    learner = "learner@northwind.example"  # the demo learner: no exam attempts yet
    page = new_page()
    log_in(page, learner)
    open_exam(page, EXAM_TITLE)
    public_id = start_attempt(page, EXAM_TITLE)
    items = drawn_items(live_database, public_id)
    assert [item.position for item in items] == list(range(1, EXAM_QUESTIONS + 1))

    # The countdown is shown and runs (attempt.js ticks every second).
    timer = page.locator(".exam-head .timer-value")
    expect(timer).to_have_text(re.compile(r"^(29|30):\d\d$"))
    shown = timer.inner_text()
    expect(timer).not_to_have_text(shown, timeout=2_000)

    answers = {}
    for item in items[:10]:
        answers[item.position] = answer_and_next(page, public_id, item, EXAM_QUESTIONS,
                                                 correct=True)
    expect(page).to_have_url(question_url(public_id, 11))
    assert sorted(saved_responses(live_database, public_id)) == list(range(1, 11))

    # The browser goes away mid-exam; the attempt and its answers live on the server.
    page.context.close()
    page = new_page()
    log_in(page, learner)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Exams").click()
    card = exam_card(page, EXAM_TITLE)
    expect(card.locator(".badge-in_progress")).to_have_text("Attempt open")
    card.get_by_role("link", name="Continue →").click()
    page.get_by_role("link", name="Continue attempt 1 →").click()
    expect(page).to_have_url(question_url(public_id, 11))  # the first unanswered one
    expect_navigator(page, EXAM_QUESTIONS, answered=set(range(1, 11)))
    assert sorted(saved_responses(live_database, public_id)) == list(range(1, 11))

    # Every earlier answer is shown again as it was given.
    for position in range(1, 11):
        navigator(page).get_by_role("link", name=nav_name(position, "answered")).click()
        expect(page).to_have_url(question_url(public_id, position))
        expect_answer_shown(page, answers[position])
    navigator(page).get_by_role("link", name=nav_name(11, "not answered")).click()

    for item in items[10:]:
        answer_and_next(page, public_id, item, EXAM_QUESTIONS, correct=True)
    submit_from_review(page, public_id, EXAM_QUESTIONS)

    result = page.locator(".result")
    expect(result.get_by_role("heading", level=1)).to_have_text("Passed")
    expect(result.locator(".result-score strong")).to_have_text("100%")
    expect(result).to_contain_text(f"{EXAM_QUESTIONS} of {EXAM_QUESTIONS} points.")
    attempt = attempt_row(live_database, public_id)
    assert (attempt["status"], attempt["passed"], attempt["percent"]) == ("submitted", 1, 100.0)
    assert attempt["score_points"] == EXAM_QUESTIONS

    # Feedback policy after_passing, and this attempt passed: answers and explanations show.
    expect(page.get_by_role("heading", name="Your answers", level=2)).to_be_visible()
    reviews = page.locator("article.review")
    expect(reviews).to_have_count(EXAM_QUESTIONS)
    expect(page.locator("article.review.review-right")).to_have_count(EXAM_QUESTIONS)
    explained = sum(bool(item.definition.get("explanation")) for item in items)
    assert explained > 0
    expect(page.locator("article.review .explanation")).to_have_count(explained)
    for item in items:
        expect(reviews.nth(item.position - 1)).to_contain_text(
            f"Question {item.position} · correct")

    # The certificate the pass just earned, with its links, on the result page itself.
    issued = page.locator(".cert-issued")
    expect(issued.get_by_role("heading", level=2)).to_contain_text(
        "Certificate issued: Kestrel Certified Technical Associate")
    expect(issued.get_by_role("link", name="Download PDF")).to_have_attribute(
        "href", re.compile(r"/certificate\.pdf$"))
    expect(issued.get_by_role("link", name=re.compile("LinkedIn"))).to_have_attribute(
        "href", re.compile(r"^https://www\.linkedin\.com/profile/add\?"))
    expect(issued.get_by_role("link", name=re.compile("^Verify"))).to_have_attribute(
        "href", re.compile(r"/verify/[0-9A-Z-]{34}$"))

    open_exam(page, EXAM_TITLE)  # the start page no longer offers an attempt
    expect(page.locator(".flash-info")).to_contain_text("You passed on")
    expect(page.get_by_role("button", name=re.compile(r"^Start attempt"))).to_have_count(0)

    # The pass earned the Technical Associate certification: see it, verify it, revoke it.
    check_certificate_lifecycle(page, new_page, live_server, live_database, tmp_path)


def test_failed_attempt_hides_the_answers_and_starts_the_cooldown(new_page, live_database):
    person = "sofia.rossi@northwind.example"  # a demo learner without exam attempts
    page = new_page()
    log_in(page, person)
    open_exam(page, EXAM_TITLE)
    public_id = start_attempt(page, EXAM_TITLE)
    items = drawn_items(live_database, public_id)
    assert len(items) == EXAM_QUESTIONS

    for item in items:
        answer_and_next(page, public_id, item, EXAM_QUESTIONS, correct=False)
    submit_from_review(page, public_id, EXAM_QUESTIONS)

    attempt = attempt_row(live_database, public_id)
    assert (attempt["status"], attempt["passed"]) == ("submitted", 0)
    assert attempt["score_points"] == 0
    assert len(saved_responses(live_database, public_id)) == EXAM_QUESTIONS
    opens = as_utc(attempt["submitted_at"]) + timedelta(hours=24)
    reason = f"Your next attempt opens on {opens:%d %b %Y at %H:%M} UTC."

    result = page.locator(".result")
    expect(result.get_by_role("heading", level=1)).to_have_text("Not passed")
    expect(result.locator(".result-score strong")).to_have_text("0%")
    expect(result).to_contain_text(f"0 of {EXAM_QUESTIONS} points.")
    expect(result).to_contain_text(reason)
    expect(result).to_contain_text("2 attempt(s) left.")
    expect(page.get_by_role("link", name="Try again")).to_have_count(0)

    # after_passing: no answers, no keys, no explanations for an attempt that failed.
    expect(page.get_by_text("The answers are shown once you pass this assessment.")) \
        .to_be_visible()
    expect(page.get_by_role("heading", name="Your answers")).to_have_count(0)
    expect(page.locator("article.review, .explanation, .review-options")).to_have_count(0)
    text = page.locator("main").inner_text()
    for marker in ("Correct answer", "Correct order", "Correct pairs", "Why:"):
        assert marker not in text
    html = page.content()
    leaked = [snippet for snippet in _plain_snippets(items) if snippet in html]
    assert not leaked, f"the result page shows answer keys or explanations: {leaked}"

    # The start page says when the next attempt opens, and offers no Start button.
    page.locator(".crumbs").get_by_role("link", name=EXAM_TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(EXAM_TITLE)
    expect(page.locator(".flash-info")).to_have_text(reason)
    expect(page.get_by_role("button", name=re.compile(r"^Start attempt"))).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile(r"^Continue attempt"))).to_have_count(0)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Exams").click()
    card = exam_card(page, EXAM_TITLE)
    expect(card.locator(".badge-overdue")).to_have_text("Not passed yet")
    expect(card).to_contain_text(reason)
    expect(card.get_by_role("link", name="View →")).to_be_visible()
    expect(card.get_by_role("link", name=re.compile(r"^Start"))).to_have_count(0)


def test_when_time_runs_out_only_answers_saved_in_time_count(new_page, live_database):
    person = "diego.alvarez@bluepeak.example"
    page = new_page()
    log_in(page, person)
    open_exam(page, TIMED_TITLE)
    public_id = start_attempt(page, TIMED_TITLE)
    items = drawn_items(live_database, public_id)
    assert [item.item_type for item in items] == TIMED_TYPES
    deadline = as_utc(attempt_row(live_database, public_id)["deadline_at"])
    expect(page.locator(".timer-value")).to_have_text(re.compile(r"^[01]:\d\d$"))
    expect(page.locator("#live")).to_have_text("1 minute left.")

    # Question 1: saved by autosave alone; then away through the navigator (no form post).
    give_answer(page, answer_fields(items[0], correct=True))
    expect(navigator(page).locator('.nav-item[data-position="1"]')).to_have_class(
        re.compile(r"\bis-answered\b"))
    assert sorted(saved_responses(live_database, public_id)) == [1]
    navigator(page).get_by_role("link", name=nav_name(2, "not answered")).click()
    # Question 2: typed, then "Save and next".
    expect(page).to_have_url(question_url(public_id, 2))
    page.get_by_label("Your answer").fill(answer_fields(items[1], correct=True)[0].value)
    page.locator(NEXT_BUTTON).click()
    expect(page).to_have_url(question_url(public_id, 3))
    assert sorted(saved_responses(live_database, public_id)) == [1, 2]

    # The same person has question 3 open in a second browser without JavaScript (no
    # countdown there to reload the page), loaded before the deadline.
    late = new_page(java_script_enabled=False)
    late.context.add_cookies(page.context.cookies())
    late.goto(f"/attempts/{public_id}/questions/3")
    expect(late.get_by_role("heading", level=1)).to_have_text("Question 3 of 4")

    # The countdown reaches zero: the live region says so, and the page reloads to the result.
    left = (deadline - datetime.now(UTC)).total_seconds()
    expect(page.locator("#live")).to_have_text(
        "Time is up. Your answers are being submitted.", timeout=(left + 5) * 1000)
    expect(page).to_have_url(result_url(public_id), timeout=15_000)

    # Past deadline + grace, an answer to question 3 arrives: refused, shown the result.
    left = (deadline + GRACE - datetime.now(UTC)).total_seconds()
    if left > -0.5:
        late.wait_for_timeout((left + 0.5) * 1000)
    late.locator('input[name="choice"][value="false"]').check()  # the right answer
    late.get_by_role("button", name="Save and next →").click()
    expect(late).to_have_url(result_url(public_id))
    expect(late.locator(".flash-error")).to_have_text(
        "Time is up. Your attempt was submitted with the answers saved before the deadline.")

    for shown in (late, page):
        shown.reload()
        result = shown.locator(".result")
        expect(result.get_by_role("heading", level=1)).to_have_text("Not passed")
        expect(result).to_contain_text("submitted automatically when the time ran out")
        expect(result).to_contain_text("2 of 4 points.")
        expect(result.locator(".result-score strong")).to_have_text("50%")
    # after_submission: the answers show, and the late one is not among them.
    reviews = page.locator("article.review")
    expect(reviews).to_have_count(4)
    for position, state in ((1, "correct"), (2, "correct"), (3, "not answered"),
                            (4, "not answered")):
        expect(reviews.nth(position - 1)).to_contain_text(f"Question {position} · {state}")
    expect(page.locator("table.data")).to_contain_text("Timed out")

    attempt = attempt_row(live_database, public_id)
    assert attempt["status"] == "expired"
    assert as_utc(attempt["submitted_at"]) == deadline
    assert (attempt["score_points"], attempt["max_points"], attempt["percent"]) == (2, 4, 50)
    responses = saved_responses(live_database, public_id)
    assert sorted(responses) == [1, 2]
    assert [responses[p]["score"] for p in (1, 2)] == [1.0, 1.0]


def test_a_question_can_be_answered_with_the_keyboard_alone(new_page, live_database):
    person = "olivia.chen@bluepeak.example"
    page = new_page()
    log_in(page, person)
    open_exam(page, TIMED_TITLE)
    public_id = start_attempt(page, TIMED_TITLE)
    expect_navigator(page, 4, answered=set())
    expect(navigator(page).get_by_role("link", name=nav_name(1, "not answered"))) \
        .to_have_attribute("aria-current", "step")

    first_radio = page.locator('form[data-autosave] input[type="radio"]').first
    tab_to_the_answer(page, first_radio)
    expect(first_radio).not_to_be_checked()
    with page.expect_response(_is_autosave) as saved:
        page.keyboard.press("Space")
    assert saved.value.status == 200
    expect(first_radio).to_be_checked()
    expect(page.locator("[data-save-status]")).to_have_text("Saved")
    # The autosave updates the navigator for screen readers too, not just its colour.
    expect(navigator(page).locator('.nav-item[data-position="1"]')) \
        .to_have_accessible_name(nav_name(1, "answered"))

    next_button = page.locator(NEXT_BUTTON)
    for _ in range(5):
        page.keyboard.press("Tab")
        if next_button.evaluate("button => button === document.activeElement"):
            break
    expect(next_button).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(question_url(public_id, 2))
    expect_navigator(page, 4, answered={1})
    expect(navigator(page).get_by_role("link", name=nav_name(2, "not answered"))) \
        .to_have_attribute("aria-current", "step")
    assert sorted(saved_responses(live_database, public_id)) == [1]

    # Enter in a text box saves and moves on, like "Save and next" (not "← Previous").
    box = page.get_by_label("Your answer (TCP port)")
    tab_to_the_answer(page, box)
    page.keyboard.type("6514")
    page.keyboard.press("Enter")
    expect(page).to_have_url(question_url(public_id, 3))
    expect_navigator(page, 4, answered={1, 2})
    assert sorted(saved_responses(live_database, public_id)) == [1, 2]
