"""Taking an assessment: start, answer, review, submit, grade; limits, deadlines, ownership."""

import random
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from lms.assessments.items import item_type
from lms.assessments.models import Attempt, AttemptItem, OptionStatistic, Response
from lms.assessments.service import (
    GRACE,
    NotEligible,
    TimeUp,
    finalise_expired,
    save_answer,
    start_attempt,
    submit,
)
from lms.catalog.models import Assignment, Lesson, LessonCompletion, Track
from lms.core import clock, events
from lms.extensions import db
from tests.assessments.support import (
    CHECK,
    EXAM,
    JSON,
    POOLS,
    attempt_by_public_id,
    correct_form,
    current_version,
    markdown_plain,
    plain,
    ready_for_the_check,
    wrong_form,
)
from tests.factories import assign, login, make_organisation, make_track, make_user


def learner(organisation=None):
    person = make_user(organisation or make_organisation(), job_role="presales")
    ready_for_the_check(person)
    return person


def start_via_web(client, slug=CHECK) -> Attempt:
    response = client.post(f"/assessments/{slug}/start")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/attempts/")
    return attempt_by_public_id(response.headers["Location"].rsplit("/", 1)[1])


def url(attempt, rest=""):
    return f"/attempts/{attempt.public_id}{rest}"


def post_answer(client, attempt, position, form, headers=JSON):
    return client.post(url(attempt, f"/questions/{position}"), data=form, headers=headers)


def at(attempt, position) -> AttemptItem:
    return next(ai for ai in attempt.items if ai.position == position)


def by_key(attempt, key) -> AttemptItem:
    return next(ai for ai in attempt.items if ai.item.item_key == key)


def answer_all(attempt, form_for=correct_form):
    for attempt_item in attempt.items:
        save_answer(attempt, attempt_item.position, form_for(attempt_item.item))


def responses_of(attempt) -> list[Response]:
    return list(db.session.scalars(select(Response).join(AttemptItem).where(
        AttemptItem.attempt_id == attempt.id).order_by(AttemptItem.position)))


def attempts_of(user) -> list[Attempt]:
    return list(db.session.scalars(select(Attempt).where(Attempt.user_id == user.id)
                                   .order_by(Attempt.number)))


@pytest.fixture
def passed_events():
    received = []

    def record(sender, **kwargs):
        received.append((sender, kwargs))

    with events.assessment_passed.connected_to(record):
        yield received


# --- starting and resuming -------------------------------------------------------------------

def test_exam_start_freezes_a_draw_of_five_distinct_items_from_each_pool(frozen_clock):
    person = learner()
    attempt = start_attempt(person, EXAM)
    drawn = [ai.item for ai in attempt.items]
    assert [ai.position for ai in attempt.items] == list(range(1, 21))
    assert len({item.id for item in drawn}) == 20
    assert {item.assessment_version_id for item in drawn} == {current_version(EXAM).id}
    assert Counter(tag for item in drawn for tag in item.tags if tag in POOLS) \
        == dict.fromkeys(POOLS, 5)
    for attempt_item in attempt.items:
        kind = item_type(attempt_item.item.item_type)
        assert sorted(attempt_item.option_order) == sorted(kind.shuffle_ids(
            attempt_item.item.definition))
    assert (attempt.number, attempt.status, attempt.max_points, attempt.max_attempts) \
        == (1, "in_progress", 20, 3)
    assert attempt.started_at == frozen_clock
    assert attempt.deadline_at == frozen_clock + timedelta(minutes=30)

    frozen = [(ai.position, ai.assessment_item_id, ai.option_order) for ai in attempt.items]
    clock.advance(timedelta(minutes=5))
    again = start_attempt(person, EXAM)
    assert again.id == attempt.id
    assert [(ai.position, ai.assessment_item_id, ai.option_order) for ai in again.items] \
        == frozen
    assert len(attempts_of(person)) == 1


def test_the_draw_comes_from_the_given_randomness(frozen_clock):
    def draw(seed):
        attempt = start_attempt(learner(), EXAM, rng=random.Random(seed))
        return [ai.assessment_item_id for ai in attempt.items]

    assert draw(7) == draw(7)
    assert sorted(draw(7)) != sorted(draw(8))


def test_start_and_resume_through_the_pages(client, frozen_clock):
    person = learner()
    login(client, person)
    page = client.get(f"/assessments/{EXAM}").get_data(as_text=True)
    assert "Start attempt 1" in page
    assert "20 questions · pass mark 70% · 30 minutes · 3 attempts" in page
    attempt = start_via_web(client, EXAM)
    assert client.get(url(attempt)).headers["Location"] == url(attempt, "/questions/1")
    assert start_via_web(client, EXAM).id == attempt.id  # a second Start resumes
    page = client.get(f"/assessments/{EXAM}").get_data(as_text=True)
    assert "Continue attempt 1" in page and "Start attempt" not in page
    post_answer(client, attempt, 1, correct_form(at(attempt, 1).item))
    assert client.get(url(attempt)).headers["Location"] == url(attempt, "/questions/2")
    assert len(attempts_of(person)) == 1


def test_vendor_staff_preview_but_cannot_start(client):
    login(client, make_user(role="author"))
    page = client.get(f"/assessments/{EXAM}").get_data(as_text=True)
    assert "Preview: partner staff take this assessment" in page
    assert client.post(f"/assessments/{EXAM}/start").status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0


def test_unknown_assessment_is_not_found(client):
    login(client, learner())
    assert client.get("/assessments/no-such-thing").status_code == 404
    assert client.post("/assessments/no-such-thing/start").status_code == 404
    assert client.post("/assessments/no-such-thing/start", headers=JSON).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0


# --- answering -------------------------------------------------------------------------------

def test_an_answer_is_saved_then_replaced(client, frozen_clock):
    login(client, learner())
    attempt = start_via_web(client)
    item = at(attempt, 1).item
    assert item.item_type == "single_choice"
    wrong = wrong_form(item)["choice"][0]
    right = correct_form(item)["choice"][0]
    response = post_answer(client, attempt, 1, {"choice": wrong})
    assert response.status_code == 200
    assert response.get_json() == {"saved": True, "position": 1, "answered": [1]}
    clock.advance(timedelta(minutes=2))
    response = post_answer(client, attempt, 1, {"choice": right})
    assert response.get_json() == {"saved": True, "position": 1, "answered": [1]}
    [saved] = responses_of(attempt)
    assert saved.answer == {"choice": right}
    assert saved.saved_at == frozen_clock + timedelta(minutes=2)
    assert saved.score is None  # graded only on submission
    page = client.get(url(attempt, "/questions/1")).get_data(as_text=True)
    assert f'value="{right}" checked' in page and f'value="{wrong}" checked' not in page


def test_saving_from_the_page_moves_on(client):
    login(client, learner())
    attempt = start_via_web(client)
    first, last = at(attempt, 1).item, at(attempt, 15).item
    moves = [(1, first, "next", "/questions/2"), (1, first, "review", "/review"),
             (1, first, "previous", "/questions/1"), (1, first, "7", "/questions/7"),
             (15, last, "next", "/review")]
    for position, item, go, target in moves:
        response = post_answer(client, attempt, position, {**correct_form(item), "go": go},
                               headers={})
        assert response.status_code == 303
        assert response.headers["Location"] == url(attempt, target)


def test_review_lists_what_is_answered(client):
    login(client, learner())
    attempt = start_via_web(client)
    for position in (1, 3):
        post_answer(client, attempt, position, correct_form(at(attempt, position).item))
    page = client.get(url(attempt, "/review")).get_data(as_text=True)
    assert "13 question(s) not answered yet: they will score zero." in page
    assert page.count("badge-completed\">Answered") == 2
    for attempt_item in attempt.items[1:]:
        if attempt_item.position != 3:
            post_answer(client, attempt, attempt_item.position, wrong_form(attempt_item.item))
    page = client.get(url(attempt, "/review")).get_data(as_text=True)
    assert "All 15 questions are answered." in page
    assert client.get(url(attempt)).headers["Location"] == url(attempt, "/review")


def test_a_malformed_answer_is_shown_again_with_the_message(client):
    login(client, learner())
    attempt = start_via_web(client)
    number = by_key(attempt, "registered-deal-total-discount")
    assert number.item.item_type == "numeric"
    path = url(attempt, f"/questions/{number.position}")
    assert client.post(path, data={"value": "40"}).status_code == 303
    response = client.post(path, data={"value": "forty percent"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter a number, like 42 or 3.5." in page
    assert 'value="forty percent"' in page and 'aria-invalid="true"' in page
    assert markdown_plain(number.item.definition["prompt"]) in plain(page)
    [saved] = responses_of(attempt)
    assert saved.answer == {"value": 40.0}  # the earlier answer stands

    text = by_key(attempt, "deal-reg-number-prefix")
    response = client.post(url(attempt, f"/questions/{text.position}"), data={"text": "  "})
    assert response.status_code == 422
    assert "Type an answer." in response.get_data(as_text=True)
    response = post_answer(client, attempt, text.position, {"text": ""})
    assert response.status_code == 422
    assert response.get_json() == {"error": "Invalid", "message": "Type an answer.",
                                   "field": "text"}


def test_answers_naming_another_items_option_are_refused(client):
    login(client, learner())
    attempt = start_via_web(client)
    single = by_key(attempt, "annual-tier-review")
    multiple = by_key(attempt, "deal-reg-eligibility")
    matching = by_key(attempt, "base-discount-by-tier")
    ordering = by_key(attempt, "mdf-process-order")
    other_single = by_key(attempt, "conference-trip-request").item
    foreign = correct_form(other_single)["choice"]
    cases = [
        (single, {"choice": foreign}, "choice"),
        (multiple, {"choices": correct_form(multiple.item)["choices"] + foreign}, "choices"),
        (single, {"choice": correct_form(multiple.item)["choices"][:1]}, "choice"),
    ]
    for attempt_item, form, field in cases:
        response = post_answer(client, attempt, attempt_item.position, form)
        assert response.status_code == 422
        assert response.get_json()["field"] == field
    pairs = correct_form(matching.item)
    first_left = next(iter(pairs))
    other_matching = by_key(attempt, "who-to-contact").item
    pairs[first_left] = [other_matching.definition["pairs"][0]["right_id"]]
    response = post_answer(client, attempt, matching.position, pairs)
    assert (response.status_code, response.get_json()["field"]) == (422, first_left)
    entries = correct_form(ordering.item)
    entries["pos-" + single.item.definition["options"][0]["id"]] = ["1"]
    response = post_answer(client, attempt, ordering.position, entries)
    assert (response.status_code, response.get_json()["field"]) == (422, "order")
    assert responses_of(attempt) == []


def test_answers_to_positions_not_drawn_are_not_found(client):
    login(client, learner())
    attempt = start_via_web(client, EXAM)
    some_item = at(attempt, 1).item
    for position in (0, 21, 99):
        response = post_answer(client, attempt, position, correct_form(some_item))
        assert response.status_code == 404
        assert response.get_json()["error"] == "NotFound"
        assert client.get(url(attempt, f"/questions/{position}")).status_code == 404
    assert responses_of(attempt) == []


def test_answers_after_submission_are_refused(client):
    login(client, learner())
    attempt = start_via_web(client)
    post_answer(client, attempt, 1, correct_form(at(attempt, 1).item))
    client.post(url(attempt, "/submit"))
    response = post_answer(client, attempt, 1, wrong_form(at(attempt, 1).item))
    assert response.status_code == 409
    assert response.get_json()["result"] == url(attempt, "/result")
    response = post_answer(client, attempt, 2, correct_form(at(attempt, 2).item), headers={})
    assert response.headers["Location"] == url(attempt, "/result")
    with pytest.raises(Exception, match="already submitted"):
        save_answer(attempt, 1, wrong_form(at(attempt, 1).item))
    assert [r.answer for r in responses_of(attempt)] == [
        {"choice": correct_form(at(attempt, 1).item)["choice"][0]}]


# --- submitting and grading ------------------------------------------------------------------

def test_submit_grades_each_response_and_the_attempt(frozen_clock, passed_events):
    person = learner()
    attempt = start_attempt(person, CHECK)
    assert attempt.max_points == 16  # deal-reg-eligibility is worth 2
    single = by_key(attempt, "annual-tier-review")
    matching = by_key(attempt, "base-discount-by-tier")
    partial = by_key(attempt, "deal-reg-eligibility")
    true_false = by_key(attempt, "facilitation-payments")
    numeric = by_key(attempt, "deal-reg-max-protection")
    short = by_key(attempt, "deal-reg-number-prefix")
    ordering = by_key(attempt, "mdf-process-order")
    right_options = correct_form(partial.item)["choices"]
    assert partial.item.points == 2 and partial.item.definition["scoring"] == "partial"

    save_answer(attempt, single.position, correct_form(single.item))
    save_answer(attempt, matching.position, wrong_form(matching.item))
    save_answer(attempt, partial.position, {"choices": right_options[:1]})
    save_answer(attempt, true_false.position, correct_form(true_false.item))
    save_answer(attempt, numeric.position, {"value": ["１２０"]})
    save_answer(attempt, short.position, {"text": [" dr- "]})
    save_answer(attempt, ordering.position, correct_form(ordering.item))
    clock.advance(timedelta(minutes=12))
    submit(attempt)

    share = 1 / len(right_options)
    expected = {single.position: (1.0, 1.0), matching.position: (0.0, 0.0),
                partial.position: (share, 2 * share), true_false.position: (1.0, 1.0),
                numeric.position: (1.0, 1.0), short.position: (1.0, 1.0),
                ordering.position: (1.0, 1.0)}
    graded = {r.attempt_item.position: (r.score, r.points) for r in responses_of(attempt)}
    assert graded.keys() == expected.keys()
    for position, (score, points) in expected.items():
        assert graded[position] == (pytest.approx(score), pytest.approx(points)), position
    total = sum(points for _, points in expected.values())
    assert attempt.status == "submitted"
    assert attempt.submitted_at == frozen_clock + timedelta(minutes=12)
    assert attempt.score_points == pytest.approx(total)
    assert attempt.percent == round(100 * total / 16, 2)
    assert attempt.passed is False
    assert passed_events == []

    choices = {(row.assessment_item_id, row.option_id)
               for row in db.session.scalars(select(OptionStatistic))}
    assert choices == {(single.item.id, correct_form(single.item)["choice"][0]),
                       (partial.item.id, right_options[0]),
                       (true_false.item.id, correct_form(true_false.item)["choice"][0])}


def test_passing_announces_it_once_however_often_submitted(client, frozen_clock,
                                                           passed_events):
    person = learner()
    login(client, person)
    attempt = start_via_web(client)
    for attempt_item in attempt.items:
        assert post_answer(client, attempt, attempt_item.position,
                           correct_form(attempt_item.item)).status_code == 200
    clock.advance(timedelta(minutes=9))
    response = client.post(url(attempt, "/submit"))
    assert response.status_code == 303
    assert response.headers["Location"] == url(attempt, "/result")
    clock.advance(timedelta(minutes=1))
    response = client.post(url(attempt, "/submit"), headers=JSON)
    assert response.get_json() == {"status": "submitted", "percent": 100.0, "passed": True}
    submit(attempt)
    assert attempt.submitted_at == frozen_clock + timedelta(minutes=9)
    assert attempt.score_points == 16
    assert passed_events == [(person.id, {
        "attempt_id": attempt.id, "assessment_version_id": current_version(CHECK).id,
        "assessment_slug": CHECK})]
    choice_items = [ai for ai in attempt.items
                    if ai.item.item_type in ("single_choice", "multiple_response", "true_false")]
    expected_rows = sum(len(item_type(ai.item.item_type).chosen_options(
        ai.item.definition, ai.response.answer)) for ai in choice_items)
    assert db.session.scalar(select(func.sum(OptionStatistic.chosen))) == expected_rows


def test_unanswered_attempt_scores_zero(client):
    login(client, learner())
    attempt = start_via_web(client)
    client.post(url(attempt, "/submit"))
    assert (attempt.status, attempt.score_points, attempt.percent, attempt.passed) \
        == ("submitted", 0, 0, False)
    page = client.get(url(attempt, "/result")).get_data(as_text=True)
    assert "Not passed" in page and "0 of 16 points" in page


# --- what the result page shows --------------------------------------------------------------

SECRET_MARKS = ("Correct answer:", "Correct order:", "Correct pairs:", "Why:")


def explanations(attempt):
    return [markdown_plain(ai.item.definition["explanation"]) for ai in attempt.items
            if ai.item.definition.get("explanation")]


def option_feedbacks(attempt):
    return [o["feedback"] for ai in attempt.items for o in ai.item.definition.get("options", [])
            if o.get("feedback")]


def take(client, slug, form_for):
    attempt = start_via_web(client, slug)
    for attempt_item in attempt.items:
        post_answer(client, attempt, attempt_item.position, form_for(attempt_item.item))
    client.post(url(attempt, "/submit"))
    return attempt, client.get(url(attempt, "/result")).get_data(as_text=True)


def test_failed_exam_shows_the_score_but_no_answers(client, frozen_clock):
    login(client, learner())
    attempt, page = take(client, EXAM, wrong_form)
    text = plain(page)
    assert attempt.passed is False
    assert "Not passed" in text and "0%" in text and "0 of 20 points" in text
    assert "The answers are shown once you pass this assessment." in text
    assert "Your answers" not in text and "is-correct" not in page
    for mark in SECRET_MARKS:
        assert mark not in text
    for secret in explanations(attempt) + option_feedbacks(attempt):
        assert secret not in text


def test_passed_exam_shows_answers_and_explanations(client, frozen_clock):
    login(client, learner())
    attempt, page = take(client, EXAM, correct_form)
    text = plain(page)
    assert attempt.passed is True
    assert "Passed" in text and "100%" in text and "Your answers" in text
    assert len(explanations(attempt)) == 20
    for explanation in explanations(attempt):
        assert explanation in text


def test_after_submission_policy_shows_answers_even_when_failed(client):
    login(client, learner())
    attempt, page = take(client, CHECK, wrong_form)
    text = plain(page)
    assert attempt.passed is False and "Your answers" in text
    for explanation in explanations(attempt):
        assert explanation in text
    for key, shown in [("deal-reg-max-protection", "Correct answer: 120 days"),
                       ("deal-reg-number-prefix", "Correct answer: DR-")]:
        assert by_key(attempt, key) and shown in text
    assert "Correct order:" in text and "Correct pairs:" in text
    # only the chosen option's feedback is shown, and the chosen ones were wrong
    single = by_key(attempt, "annual-tier-review").item
    chosen = next(o for o in single.definition["options"] if not o["correct"])
    if chosen["feedback"]:
        assert chosen["feedback"] in text


def test_never_policy_shows_only_the_score(client):
    current_version(CHECK).feedback = "never"
    db.session.flush()
    login(client, learner())
    attempt, page = take(client, CHECK, correct_form)
    text = plain(page)
    assert attempt.passed is True
    assert "100%" in text and "This assessment does not show answers." in text
    assert "Your answers" not in text and "is-correct" not in page
    for mark in SECRET_MARKS:
        assert mark not in text
    for explanation in explanations(attempt):
        assert explanation not in text


def test_result_of_an_open_attempt_goes_back_to_the_questions(client):
    login(client, learner())
    attempt = start_via_web(client)
    assert client.get(url(attempt, "/result")).headers["Location"] == url(attempt)


# --- eligibility -----------------------------------------------------------------------------

def test_cooldown_after_each_fail_and_at_most_three_attempts(client, frozen_clock):
    person = learner()
    login(client, person)
    for number in (1, 2, 3):
        attempt = start_attempt(person, EXAM)
        assert attempt.number == number
        submit(attempt)
        assert attempt.passed is False
        with pytest.raises(NotEligible) as refused:
            start_attempt(person, EXAM)
        if number == 3:
            assert refused.value.message == "You have used all 3 attempts."
            break
        opens = clock.now() + timedelta(hours=24)
        message = f"Your next attempt opens on {opens:%d %b %Y at %H:%M} UTC."
        assert refused.value.message == message
        assert refused.value.status == 409
        response = client.post(f"/assessments/{EXAM}/start")
        assert response.headers["Location"] == f"/assessments/{EXAM}"
        assert message in client.get(f"/assessments/{EXAM}").get_data(as_text=True)
        clock.advance(timedelta(hours=23, minutes=59))
        with pytest.raises(NotEligible):
            start_attempt(person, EXAM)
        clock.advance(timedelta(minutes=1))
    clock.advance(timedelta(days=30))
    response = client.post(f"/assessments/{EXAM}/start")
    assert response.headers["Location"] == f"/assessments/{EXAM}"
    page = client.get(f"/assessments/{EXAM}").get_data(as_text=True)
    assert "You have used all 3 attempts." in page and "Start attempt" not in page
    assert [a.number for a in attempts_of(person)] == [1, 2, 3]


def test_the_first_cooldown_names_the_right_day_and_time(frozen_clock):
    person = learner()
    clock.set_now(frozen_clock.replace(hour=22, minute=47))
    submit(start_attempt(person, EXAM))
    with pytest.raises(NotEligible, match=r"opens on 03 Mar 2026 at 22:47 UTC\."):
        start_attempt(person, EXAM)


def test_a_passed_assessment_cannot_be_started_again(client, frozen_clock):
    person = learner()
    login(client, person)
    attempt = start_attempt(person, CHECK)
    answer_all(attempt)
    submit(attempt)
    with pytest.raises(NotEligible, match="You passed on 02 Mar 2026 with 100%."):
        start_attempt(person, CHECK)
    response = client.post(f"/assessments/{CHECK}/start")
    assert response.headers["Location"] == f"/assessments/{CHECK}"
    page = client.get(f"/assessments/{CHECK}").get_data(as_text=True)
    assert "You passed on 02 Mar 2026 with 100%." in page and "Start attempt" not in page
    assert len(attempts_of(person)) == 1


def test_knowledge_check_without_a_cooldown_can_be_retaken_at_once(frozen_clock):
    person = learner()
    submit(start_attempt(person, CHECK))
    assert start_attempt(person, CHECK).number == 2


# --- the deadline ----------------------------------------------------------------------------

def test_an_answer_after_deadline_and_grace_is_refused_and_the_attempt_expires(
        client, frozen_clock):
    login(client, learner())
    attempt = start_via_web(client, EXAM)
    first, second = at(attempt, 1), at(attempt, 2)
    clock.advance(timedelta(minutes=10))
    assert post_answer(client, attempt, 1, correct_form(first.item)).status_code == 200
    clock.set_now(attempt.deadline_at + GRACE + timedelta(seconds=1))
    response = post_answer(client, attempt, 2, correct_form(second.item))
    assert response.status_code == 409
    assert response.get_json()["result"] == url(attempt, "/result")
    assert attempt.status == "expired"
    assert attempt.submitted_at == attempt.deadline_at
    [saved] = responses_of(attempt)
    assert saved.attempt_item_id == first.id and saved.score == 1.0
    assert attempt.score_points == 1 and attempt.percent == 5.0
    page = client.get(url(attempt, "/result")).get_data(as_text=True)
    assert "submitted automatically when the time ran out" in page


def test_a_late_answer_is_told_that_time_is_up(client, frozen_clock):
    login(client, learner())
    attempt = start_via_web(client, EXAM)
    clock.set_now(attempt.deadline_at + GRACE + timedelta(seconds=1))
    response = post_answer(client, attempt, 1, correct_form(at(attempt, 1).item))
    assert response.status_code == 409
    assert response.get_json()["error"] == "TimeUp"


def test_save_answer_after_the_grace_raises_time_up_and_finalises(frozen_clock):
    person = learner()
    attempt = start_attempt(person, EXAM)
    save_answer(attempt, 1, correct_form(at(attempt, 1).item))
    clock.set_now(attempt.deadline_at + GRACE + timedelta(seconds=1))
    with pytest.raises(TimeUp) as late:
        save_answer(attempt, 2, correct_form(at(attempt, 2).item))
    assert late.value.status == 409 and "Time is up" in late.value.message
    assert attempt.status == "expired" and attempt.score_points == 1
    assert len(responses_of(attempt)) == 1


def test_an_answer_within_the_grace_counts(client, frozen_clock):
    login(client, learner())
    attempt = start_via_web(client, EXAM)
    clock.set_now(attempt.deadline_at + GRACE)
    assert post_answer(client, attempt, 1, correct_form(at(attempt, 1).item)).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert client.get(url(attempt)).headers["Location"] == url(attempt, "/result")
    assert attempt.status == "expired" and attempt.submitted_at == attempt.deadline_at
    [saved] = responses_of(attempt)
    assert saved.score == 1.0 and attempt.score_points == 1


def test_submitting_within_the_grace_is_a_normal_submission(client, frozen_clock):
    login(client, learner())
    attempt = start_via_web(client, EXAM)
    post_answer(client, attempt, 1, correct_form(at(attempt, 1).item))
    clock.set_now(attempt.deadline_at + timedelta(seconds=3))
    client.post(url(attempt, "/submit"))
    assert attempt.status == "submitted"
    assert attempt.submitted_at == attempt.deadline_at + timedelta(seconds=3)


@pytest.mark.parametrize(("method", "rest", "status"), [
    ("GET", "", 302), ("GET", "/questions/1", 302), ("GET", "/questions/20", 302),
    ("GET", "/review", 302), ("GET", "/result", 200), ("POST", "/submit", 303)])
def test_opening_any_page_of_an_overdue_attempt_finalises_it(client, frozen_clock, method,
                                                              rest, status):
    person = learner()
    login(client, person)
    attempt = start_via_web(client, EXAM)
    post_answer(client, attempt, 3, correct_form(at(attempt, 3).item))
    clock.advance(timedelta(minutes=45))
    response = client.open(url(attempt, rest), method=method)
    assert response.status_code == status
    if status != 200:
        assert response.headers["Location"] == url(attempt, "/result")
    assert attempt.status == "expired" and attempt.submitted_at == attempt.deadline_at
    assert attempt.score_points == 1


def test_the_start_page_finalises_an_overdue_attempt(client, frozen_clock):
    person = learner()
    login(client, person)
    attempt = start_via_web(client, EXAM)
    clock.advance(timedelta(hours=1))
    page = client.get(f"/assessments/{EXAM}").get_data(as_text=True)
    assert attempt.status == "expired"
    assert "Continue attempt" not in page and "Timed out" in page


def test_finalise_expired_closes_overdue_attempts_once(frozen_clock):
    early, late, untimed = learner(), learner(), learner()
    first = start_attempt(early, EXAM)
    save_answer(first, 1, correct_form(at(first, 1).item))
    clock.advance(timedelta(minutes=20))
    second = start_attempt(late, EXAM)
    open_check = start_attempt(untimed, CHECK)
    clock.set_now(first.deadline_at + GRACE)
    assert finalise_expired() == 0  # not yet: the grace is still running
    clock.advance(timedelta(seconds=1))
    assert finalise_expired() == 1
    assert finalise_expired() == 0
    assert (first.status, first.submitted_at, first.score_points) \
        == ("expired", first.deadline_at, 1)
    assert second.status == "in_progress" and open_check.status == "in_progress"
    clock.advance(timedelta(days=3))
    assert finalise_expired() == 1
    assert second.status == "expired" and second.submitted_at == second.deadline_at
    assert open_check.status == "in_progress"  # no time limit, never expires


def test_lms_tick_finalises_overdue_attempts(app, frozen_clock):
    attempt = start_attempt(learner(), EXAM)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tick"])
    assert result.exit_code == 0, result.output
    assert "finalise attempts whose time ran out: 0" in result.output
    clock.advance(timedelta(minutes=31))
    result = runner.invoke(args=["tick"])
    assert "finalise attempts whose time ran out: 1" in result.output
    db.session.refresh(attempt)
    assert attempt.status == "expired"
    assert "finalise attempts whose time ran out: 0" in runner.invoke(args=["tick"]).output


# --- ownership -------------------------------------------------------------------------------

def test_only_the_owner_can_see_answer_or_submit_an_attempt(app, client, frozen_clock):
    organisation = make_organisation()
    owner, colleague = learner(organisation), learner(organisation)
    admin = make_user(organisation, role="partner_admin")
    login(client, owner)
    attempt = start_via_web(client, CHECK)
    post_answer(client, attempt, 1, correct_form(at(attempt, 1).item))
    for stranger in (colleague, admin, make_user(role="vendor_admin")):
        other = login(app.test_client(), stranger)
        for method, rest in [("GET", ""), ("GET", "/questions/1"), ("GET", "/questions/2"),
                             ("GET", "/review"), ("GET", "/result"), ("POST", "/questions/2"),
                             ("POST", "/submit")]:
            data = correct_form(at(attempt, 2).item) if method == "POST" else None
            for headers in ({}, JSON):
                response = other.open(url(attempt, rest), method=method, data=data,
                                      headers=headers)
                assert response.status_code == 404, (stranger.role, method, rest)
                if headers:
                    assert response.get_json()["error"] == "NotFound"
    assert attempt.status == "in_progress"
    assert [r.attempt_item_id for r in responses_of(attempt)] == [at(attempt, 1).id]
    assert client.get(url(attempt, "/questions/2")).status_code == 200


def test_an_unknown_attempt_is_not_found(client):
    login(client, learner())
    assert client.get("/attempts/nope").status_code == 404
    assert client.post("/attempts/nope/submit").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client):
    person = learner()
    attempt = start_attempt(person, CHECK)
    for method, rest in [("GET", ""), ("GET", "/questions/1"), ("POST", "/submit")]:
        response = client.open(url(attempt, rest), method=method)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert attempt.status == "in_progress"


# --- knowledge checks complete their lesson --------------------------------------------------

def knowledge_check_lesson(person):
    return db.session.execute(
        select(Lesson, LessonCompletion).join(Track, Track.current_version_id
                                              == Lesson.track_version_id)
        .outerjoin(LessonCompletion, (LessonCompletion.lesson_id == Lesson.id)
                   & (LessonCompletion.user_id == person.id))
        .where(Track.slug == "partner-onboarding-essentials",
               Lesson.assessment_slug == CHECK)).one()


def test_passing_the_knowledge_check_completes_its_lesson(client, frozen_clock):
    person = learner()
    login(client, person)
    lesson, completion = knowledge_check_lesson(person)
    assert completion is None
    take(client, CHECK, wrong_form)
    assert knowledge_check_lesson(person)[1] is None  # failing does not complete it
    take(client, CHECK, correct_form)
    lesson, completion = knowledge_check_lesson(person)
    assert completion is not None and completion.completed_at == frozen_clock
    assert lesson.slug == "knowledge-check"


def test_a_track_built_around_a_check_completes_when_it_is_passed(client, frozen_clock):
    person = learner()
    track = make_track("Check track", lessons=2)
    check = track.current_version.courses[0].lessons[1]
    check.assessment_slug = CHECK
    db.session.flush()
    assign(person, track)
    login(client, person)
    take(client, CHECK, correct_form)
    done = set(db.session.scalars(select(LessonCompletion.lesson_id)
                                  .where(LessonCompletion.user_id == person.id)))
    assert check.id in done
    assert track.current_version.courses[0].lessons[0].id not in done


def test_item_statistics_follow_the_graded_attempts(client, frozen_clock):
    """The running sums give the same numbers as computing them from the responses."""
    import math

    from lms.assessments.models import AssessmentVersion
    from lms.assessments.stats import version_stats

    scores = []
    for wrong_from in (16, 9, 4):  # three people: strong, middling, weak
        person = learner()
        attempt = start_attempt(person, CHECK)
        for attempt_item in attempt.items:
            form = correct_form(attempt_item.item) if attempt_item.position < wrong_from \
                else wrong_form(attempt_item.item)
            save_answer(attempt, attempt_item.position, form)
        submit(attempt)
        scores.append({ai.assessment_item_id: (ai.response.score, ai.response.points)
                       for ai in attempt.items} | {"total": attempt.score_points})
    version = db.session.get(AssessmentVersion, current_version(CHECK).id)
    stats = {s.item.id: s for s in version_stats(version).items}
    for item_id, stat in stats.items():
        xs = [person[item_id][0] for person in scores]
        rs = [person["total"] - person[item_id][1] for person in scores]
        assert stat.difficulty == pytest.approx(sum(xs) / 3)
        mean_x, mean_r = sum(xs) / 3, sum(rs) / 3
        spread = math.sqrt(sum((x - mean_x) ** 2 for x in xs) * sum((r - mean_r) ** 2 for r in rs))
        expected = (sum((x - mean_x) * (r - mean_r) for x, r in zip(xs, rs, strict=True))
                    / spread) if spread else None
        assert stat.discrimination == (pytest.approx(expected) if expected is not None else None)


def test_a_knowledge_check_opens_with_its_lesson_not_before(client):
    """The check inside a track cannot be used to jump the lesson order."""
    person = make_user(make_organisation(), job_role="presales")
    login(client, person)
    page = client.get(f"/assessments/{CHECK}").get_data(as_text=True)
    assert "Start attempt" not in page
    assert "first." in page  # "Complete “…” first."
    response = client.post(f"/assessments/{CHECK}/start", headers=JSON)
    assert response.status_code == 409 and "first" in response.get_json()["message"]
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0

    stranger = make_user(make_organisation(), job_role="sales")
    db.session.execute(delete(Assignment).where(Assignment.user_id == stranger.id))
    login(client, stranger)
    response = client.post(f"/assessments/{CHECK}/start", headers=JSON)
    assert response.status_code == 409
    assert "not assigned to you" in response.get_json()["message"]

    ready_for_the_check(person)
    login(client, person)
    assert client.post(f"/assessments/{CHECK}/start").status_code == 303
