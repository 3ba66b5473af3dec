"""Nothing the learner's browser receives before submission gives away an answer.

A learner takes the certification exam in the web client. Every body sent to them before
they submit is kept and searched for the answer key: explanations, option feedback,
accepted short answers, numeric answers and tolerances, the right order of ordering items,
and the prompts of the bank items that were not drawn into this attempt.
"""

import json
import re

import pytest

from lms.assessments.items import item_type
from lms.core.numbers import format_number
from tests.assessments.support import (
    EXAM,
    JSON,
    attempt_by_public_id,
    bank_items,
    correct_form,
    current_version,
    markdown_plain,
    plain,
)
from tests.factories import login, make_organisation, make_user

# What only a graded attempt's review may contain: the marks and labels the result page
# uses, and the keys of an item's stored definition as markup (a quoted key or attribute
# value, a data- attribute). Prompts and options may use these words in prose.
_KEYS = "correct|accepted|tolerance|explanation|feedback|answer"
KEY_MARKUP = re.compile(
    rf"""is-correct|data-({_KEYS})\b|["'](is-)?({_KEYS})["']|correct_(answer|order|pairs)"""
    r"""|Correct (answer|order|pairs):|\bWhy:|±""")


@pytest.fixture
def taken(client):
    """The exam taken to the point of submission: (attempt, [(what, body)], answer bodies)."""
    learner = make_user(make_organisation(), job_role="presales")
    login(client, learner)
    bodies = []

    def keep(what, response, status=200):
        assert response.status_code == status, what
        bodies.append((what, response.get_data(as_text=True)))
        return response

    keep("start page", client.get(f"/assessments/{EXAM}"))
    started = keep("start", client.post(f"/assessments/{EXAM}/start"), 303)
    public_id = started.headers["Location"].rsplit("/", 1)[1]
    keep("resume", client.get(started.headers["Location"]), 302)
    attempt = attempt_by_public_id(public_id)
    answers = []
    for attempt_item in attempt.items:
        path = f"/attempts/{public_id}/questions/{attempt_item.position}"
        keep(("question", attempt_item.position), client.get(path))
        saved = keep(("answer", attempt_item.position),
                     client.post(path, data=correct_form(attempt_item.item), headers=JSON))
        answers.append(saved.get_json())
        keep(("question again", attempt_item.position), client.get(path))
    keep("review", client.get(f"/attempts/{public_id}/review"))
    keep("resume to review", client.get(f"/attempts/{public_id}"), 302)
    return attempt, bodies, answers


def _leaks(needle: str, haystack: str) -> bool:
    """`needle` as a whole word or number, ignoring case."""
    pattern = r"(?<![\w.,])" + re.escape(needle) + r"(?![\w]|[.,]\d)"
    return re.search(pattern, haystack, re.IGNORECASE) is not None


def _public_text(attempt) -> str:
    """All the text the learner is meant to see: the drawn items' public views, the rules."""
    version = current_version(EXAM)
    parts = [version.title, markdown_plain(version.description)]
    for attempt_item in attempt.items:
        kind = item_type(attempt_item.item.item_type)
        view = kind.public(attempt_item.item.definition, attempt_item.option_order)
        parts.append(markdown_plain(view["prompt"]))
        for group in ("options", "entries", "lefts", "rights"):
            parts += [entry["text"] for entry in view.get(group, [])]
    return " ".join(parts)


def test_the_json_answers_carry_nothing_but_the_save(taken):
    attempt, _, answers = taken
    assert len(answers) == 20
    for position, body in enumerate(answers, 1):
        assert set(body) == {"saved", "position", "answered"}
        assert body["saved"] is True and body["position"] == position
        assert body["answered"] == list(range(1, position + 1))


def test_no_body_marks_a_correct_answer_or_names_a_key_field(taken):
    _, bodies, _ = taken
    for what, body in bodies:
        match = KEY_MARKUP.search(body)
        assert match is None, (what, match and body[match.start() - 80:match.end() + 80])
        if body.lstrip().startswith("{"):
            assert "correct" not in json.dumps(json.loads(body))


def test_no_explanation_or_option_feedback_is_sent(taken):
    attempt, bodies, _ = taken
    secrets = []
    for item in bank_items(EXAM):
        if item.definition.get("explanation"):
            secrets.append(markdown_plain(item.definition["explanation"]))
        secrets += [o["feedback"] for o in item.definition.get("options", []) if o["feedback"]]
        if item.definition.get("feedback"):
            secrets.append(item.definition["feedback"])
    assert len(secrets) > 40
    for what, body in bodies:
        text = plain(body)
        for secret in secrets:
            assert secret not in text and secret not in body, (what, secret)


def test_no_accepted_answer_or_numeric_key_is_sent(taken):
    attempt, bodies, _ = taken
    public = _public_text(attempt)
    checked = 0
    for item in bank_items(EXAM):
        d = item.definition
        if item.item_type == "short_text":
            needles = d["accepted"]
        elif item.item_type == "numeric":
            needles = {format_number(d["answer"]), f"{d['answer']:g}", str(d["answer"])}
            if d["tolerance"]:
                needles |= {format_number(d["tolerance"]), str(d["tolerance"])}
        else:
            continue
        # A word the learner legitimately reads elsewhere in the exam is no leak, and one-
        # and two-digit numbers are on every page (question numbers, the timer).
        for needle in (n for n in needles if len(n) > 2 and not _leaks(n, public)):
            checked += 1
            for what, body in bodies:
                if what[0] == "question again":
                    continue  # the learner's own typed answer is shown back to them
                assert not _leaks(needle, body) and not _leaks(needle, plain(body)), \
                    (what, item.item_key, needle)
    assert checked >= 10


def test_pages_show_entries_in_the_frozen_shuffle_not_the_key(taken):
    attempt, bodies, _ = taken
    by_what = dict(bodies)
    shuffled_items = [ai for ai in attempt.items if ai.item.item_type in ("ordering", "matching")]
    for attempt_item in attempt.items:
        kind = item_type(attempt_item.item.item_type)
        shuffle = kind.shuffle_ids(attempt_item.item.definition)
        if not shuffle:
            continue
        page = by_what[("question", attempt_item.position)]
        assert [i for i in sorted(shuffle, key=page.find) if i in page] == \
            attempt_item.option_order
    for attempt_item in shuffled_items:
        d = attempt_item.item.definition
        key = [e["id"] for e in d["entries"]] if attempt_item.item.item_type == "ordering" \
            else [p["right_id"] for p in d["pairs"]]
        other_pages = [body for what, body in bodies
                       if what not in (("question", attempt_item.position),
                                       ("question again", attempt_item.position))]
        for body in other_pages:
            assert not any(i in body for i in key)
        if attempt_item.option_order != key:  # a shuffle may, rarely, land on the key
            page = by_what[("question", attempt_item.position)]
            assert sorted(key, key=page.find) != key


PRESET = re.compile(r"<(input|option)\b[^>]*\s(checked|selected)[\s>=/]")


def test_a_fresh_question_page_pre_fills_nothing(taken):
    _, bodies, _ = taken
    fresh = [(what, body) for what, body in bodies if what[0] == "question"]
    assert len(fresh) == 20
    for what, body in fresh:
        assert PRESET.search(body) is None, what
        assert re.search(r'name="(value|text)"[^>]*value="[^"]', body) is None, what
    again = [body for what, body in bodies if what[0] == "question again"]
    assert all(PRESET.search(body) or 'value="' in body for body in again)


def test_no_prompt_of_an_undrawn_item_is_sent(taken):
    attempt, bodies, _ = taken
    drawn = {ai.assessment_item_id for ai in attempt.items}
    undrawn = [item for item in bank_items(EXAM) if item.id not in drawn]
    assert len(undrawn) == 20
    prompts = [markdown_plain(item.definition["prompt"]) for item in undrawn]
    option_ids = [o["id"] for item in undrawn for o in item.definition.get("options", [])]
    for what, body in bodies:
        text = plain(body)
        for prompt in prompts:
            assert prompt not in text, (what, prompt)
        assert not any(option_id in body for option_id in option_ids), what


def test_a_question_page_shows_its_own_prompt_only(taken):
    attempt, bodies, _ = taken
    prompts = {ai.position: markdown_plain(ai.item.definition["prompt"]) for ai in attempt.items}
    for what, body in bodies:
        text = plain(body)
        shown = {position for position, prompt in prompts.items() if prompt in text}
        if what[0] in ("question", "question again"):
            assert shown == {what[1]}, what
        else:
            assert shown == set(), what


def test_the_checks_find_what_the_result_page_then_shows(client, taken):
    """After passing, the same searches do find the key: they are not searching in vain."""
    attempt, _, _ = taken
    response = client.post(f"/attempts/{attempt.public_id}/submit")
    assert response.status_code == 303
    assert attempt.passed is True
    page = client.get(f"/attempts/{attempt.public_id}/result").get_data(as_text=True)
    assert KEY_MARKUP.search(page)
    for attempt_item in attempt.items:
        explanation = attempt_item.item.definition["explanation"]
        assert markdown_plain(explanation) in plain(page)
