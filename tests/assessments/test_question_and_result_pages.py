"""The pages around an attempt: moving between questions, the result, the start page."""

import re

import pytest
from sqlalchemy import inspect, select

from lms.assessments.models import Assessment, Attempt, AttemptItem
from lms.assessments.service import answered_positions, save_answer, start_attempt, submit
from lms.assessments.views import _graded_items
from lms.core import clock
from lms.extensions import db
from tests.assessments.support import (
    CHECK,
    EXAM,
    attempt_by_public_id,
    correct_form,
    plain,
    ready_for_the_check,
    wrong_form,
)
from tests.factories import login, make_organisation, make_user


def learner():
    person = make_user(make_organisation(), job_role="presales")
    ready_for_the_check(person)  # the knowledge check opens after the lessons before it
    return person


def url(attempt, rest=""):
    return f"/attempts/{attempt.public_id}{rest}"


def start_via_web(client, slug=CHECK) -> Attempt:
    response = client.post(f"/assessments/{slug}/start")
    assert response.status_code == 303
    return attempt_by_public_id(response.headers["Location"].rsplit("/", 1)[1])


def by_type(attempt, kind) -> AttemptItem:
    return next(ai for ai in attempt.items if ai.item.item_type == kind)


def saved_positions(attempt) -> set[int]:
    return answered_positions(attempt)


def blank_form(attempt_item) -> dict[str, list[str]]:
    """What the browser sends for a question left untouched (selects and boxes empty)."""
    d = attempt_item.item.definition
    match attempt_item.item.item_type:
        case "numeric":
            return {"value": [""]}
        case "short_text":
            return {"text": ["   "]}
        case "ordering":
            return {f"pos-{e['id']}": [""] for e in d["entries"]}
        case "matching":
            return {f"match-{p['left_id']}": [""] for p in d["pairs"]}
    return {}  # radios and checkboxes send nothing at all


# --- moving between questions without answering ----------------------------------------------

def test_buttons_with_an_empty_answer_move_on_without_saving_or_complaining(client):
    login(client, learner())
    attempt = start_via_web(client)
    total = len(attempt.items)
    kinds = ["single_choice", "multiple_response", "true_false", "numeric", "short_text",
             "ordering", "matching"]
    for kind in kinds:
        attempt_item = by_type(attempt, kind)
        position = attempt_item.position
        path = url(attempt, f"/questions/{position}")
        moves = [("previous", f"/questions/{max(1, position - 1)}"), ("review", "/review"),
                 ("next", "/review" if position == total else f"/questions/{position + 1}"),
                 ("7", "/questions/7")]
        for go, target in moves:
            response = client.post(path, data={**blank_form(attempt_item), "go": go})
            assert response.status_code == 303, (kind, go, response.get_data(as_text=True))
            assert response.headers["Location"] == url(attempt, target), (kind, go)
    assert saved_positions(attempt) == set()
    # The question pages still open normally afterwards, with no message on them.
    page = client.get(url(attempt, "/questions/1")).get_data(as_text=True)
    assert 'role="alert"' not in page


def test_skipping_keeps_an_earlier_answer(client):
    login(client, learner())
    attempt = start_via_web(client)
    number = by_type(attempt, "numeric")
    path = url(attempt, f"/questions/{number.position}")
    assert client.post(path, data={**correct_form(number.item), "go": "next"}).status_code == 303
    response = client.post(path, data={"value": "", "go": "previous"})
    assert response.status_code == 303
    assert response.headers["Location"] == url(attempt, f"/questions/{number.position - 1}")
    db.session.refresh(number)
    assert number.response.answer == {"value": float(number.item.definition["answer"])}


@pytest.mark.parametrize("go", ["next", "previous", "review", "3"])
def test_a_half_done_ordering_or_matching_still_gets_the_message(client, go):
    login(client, learner())
    attempt = start_via_web(client)
    ordering, matching = by_type(attempt, "ordering"), by_type(attempt, "matching")
    half_order = blank_form(ordering)
    half_order[next(iter(half_order))] = ["1"]
    half_pairs = blank_form(matching)
    half_pairs[next(iter(half_pairs))] = [matching.item.definition["pairs"][0]["right_id"]]
    for attempt_item, form, message in [(ordering, half_order, "Give every entry a position."),
                                        (matching, half_pairs, "Match every item.")]:
        response = client.post(url(attempt, f"/questions/{attempt_item.position}"),
                               data={**form, "go": go})
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    assert saved_positions(attempt) == set()


def test_an_empty_autosave_or_a_post_without_a_button_is_still_refused(client):
    """Only a button press means "move on"; an empty answer on its own is not an answer."""
    login(client, learner())
    attempt = start_via_web(client)
    text = by_type(attempt, "short_text")
    path = url(attempt, f"/questions/{text.position}")
    assert client.post(path, data={"text": ""}).status_code == 422
    response = client.post(path, data={"text": "", "go": "next"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 422
    assert response.get_json()["field"] == "text"


# --- the result page -------------------------------------------------------------------------

def take(person, slug, form_for=correct_form, forms=None) -> Attempt:
    attempt = start_attempt(person, slug)
    for attempt_item in attempt.items:
        form = (forms or {}).get(attempt_item.item.item_type) or form_for
        save_answer(attempt, attempt_item.position, form(attempt_item.item))
    return submit(attempt)


def test_the_result_of_an_archived_assessment_still_opens_without_try_again(client,
                                                                            frozen_clock):
    person = learner()
    attempt = take(person, CHECK, wrong_form)
    assert not attempt.passed
    login(client, person)
    page = client.get(url(attempt, "/result")).get_data(as_text=True)
    assert "Try again" in page and "You can try again now." in page

    assessment = db.session.get(Assessment, attempt.assessment_id)
    assessment.archived_at = clock.now()
    db.session.flush()
    response = client.get(url(attempt, "/result"))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    text = plain(page)
    assert "Not passed" in text and f"Attempt {attempt.number}" in text
    assert "Try again" not in page and "try again now" not in text
    assert "attempt(s) left" not in text and "retired" in text
    assert f'href="/assessments/{CHECK}"' not in page  # the start page is gone (404)
    assert client.get(f"/assessments/{CHECK}").status_code == 404
    assert "Your answers" in page  # feedback was allowed after submission, and still is
    assert "Attempt history" in page and page.count("badge-overdue") >= 1


def test_no_attempts_left_line_once_passed(client, frozen_clock):
    person = learner()
    attempt = take(person, EXAM)
    assert attempt.passed and attempt.version.max_attempts == 3
    login(client, person)
    for path in (url(attempt, "/result"), f"/assessments/{EXAM}", "/assessments"):
        text = plain(client.get(path).get_data(as_text=True))
        assert "attempt(s) left" not in text and "attempts left" not in text, path
    assert "You passed on" in plain(client.get(f"/assessments/{EXAM}").get_data(as_text=True))


def test_vendor_staff_preview_has_no_attempts_column(client):
    login(client, make_user(role="author"))
    page = client.get(f"/assessments/{EXAM}").get_data(as_text=True)
    assert "Preview: partner staff take this assessment" in page
    assert "Your attempts" not in page and "None yet" not in page


def _section(page: str, heading: str) -> list[str]:
    """The list items after a "Your order:"/"Your pairs:" heading, as plain text."""
    after = page.split(f"{heading}</p>", 1)[1]
    listing = re.split(r"</[ou]l>", after, maxsplit=1)[0]
    return [plain(li) for li in re.findall(r"<li[^>]*>(.*?)</li>", listing, re.S)]


def test_result_shows_the_learners_order_and_pairs_beside_the_correct_ones(client,
                                                                          frozen_clock):
    person = learner()
    attempt = take(person, CHECK, correct_form,
                   forms={"ordering": wrong_form, "matching": wrong_form})
    login(client, person)
    page = client.get(url(attempt, "/result")).get_data(as_text=True)

    ordering = by_type(attempt, "ordering")
    texts = {e["id"]: e["text"] for e in ordering.item.definition["entries"]}
    given = [texts[i] for i in ordering.response.answer["order"]]
    assert given != [e["text"] for e in ordering.item.definition["entries"]]
    assert _section(page, "Your order:") == [
        f"{text} ✗ (in the wrong place)" for text in given]

    matching = by_type(attempt, "matching")
    pairs = matching.item.definition["pairs"]
    rights = {p["right_id"]: p["right"] for p in pairs}
    chosen = matching.response.answer["matches"]
    assert _section(page, "Your pairs:") == [
        f"{p['left']} → {rights[chosen[p['left_id']]]} ✗ (wrong)" for p in pairs]
    assert "Correct order:" in page and "Correct pairs:" in page


def test_right_answers_are_marked_right_in_the_learners_order(client, frozen_clock):
    person = learner()
    attempt = take(person, CHECK, correct_form)
    login(client, person)
    page = client.get(url(attempt, "/result")).get_data(as_text=True)
    assert all(line.endswith("✓ (in the right place)") for line in _section(page, "Your order:"))
    assert all(line.endswith("✓ (right)") for line in _section(page, "Your pairs:"))


def test_nothing_of_the_learners_answers_shows_before_the_policy_allows(client, frozen_clock):
    person = learner()
    attempt = take(person, EXAM, wrong_form)  # after_passing, and this is a fail
    assert not attempt.passed
    login(client, person)
    page = client.get(url(attempt, "/result")).get_data(as_text=True)
    assert "The answers are shown once you pass" in page
    for hidden in ("Your order", "Your pairs", "Correct order", "Correct pairs", "your answer",
                   "Your answers"):
        assert hidden not in page
    for attempt_item in attempt.items:
        d = attempt_item.item.definition
        for entry in d.get("entries", []) + d.get("options", []):
            assert f">{entry['text']}<" not in page


# --- query counts ----------------------------------------------------------------------------

def _result_queries(client, count_queries, attempt) -> int:
    path = url(attempt, "/result")  # read before counting: the test's own session reloads
    with count_queries() as counter:
        response = client.get(path)
    assert response.status_code == 200
    return counter.count


def test_result_page_queries_do_not_grow_with_the_number_of_items(client, count_queries,
                                                                  frozen_clock):
    person = learner()
    check, exam = take(person, CHECK), take(person, EXAM)
    assert check.passed and exam.passed  # so both show every item with its feedback
    assert (len(check.items), len(exam.items)) == (15, 20)
    login(client, person)
    small = _result_queries(client, count_queries, check)
    large = _result_queries(client, count_queries, exam)
    # The check's page also says what it completed in its track: a fixed cost, whatever
    # the number of items; so does the exam's certificate.
    from lms.catalog.progress import knowledge_check_outcomes

    db.session.expire_all()  # loaded afresh, as in a request
    with count_queries() as counter:
        assert knowledge_check_outcomes(person, CHECK)
    # The exam's page shows the certificate its pass earned (two more statements).
    assert small - counter.count + 2 == large, (small, counter.count, large)
    assert large <= 17, large
    page = client.get(url(exam, "/result")).get_data(as_text=True)
    assert page.count('class="card review ') == 20


def test_graded_items_are_loaded_with_their_questions_and_responses(client, frozen_clock):
    """One query for the items: no lazy load per item or response afterwards."""
    person = learner()
    attempt = take(person, CHECK)
    db.session.expire_all()
    fresh = db.session.scalar(select(Attempt).where(Attempt.id == attempt.id))
    items = _graded_items(fresh)
    assert [ai.position for ai in items] == list(range(1, 16))
    for attempt_item in items:
        state = inspect(attempt_item)
        assert "item" not in state.unloaded and "response" not in state.unloaded
