"""Races: many requests at the same moment, each in its own thread, connection and session.

These tests commit for real (marker `committed`): a rolled-back test transaction lives on
one connection, and what races here is separate connections. Threads wait at a barrier
and then send their request together; the database constraints and the claim-by-update
in `finalise` must leave exactly one outcome.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lms.accounts.models import User
from lms.assessments.models import Attempt, AttemptItem, ItemStatistic, Response
from lms.assessments.service import save_answer, start_attempt, submit
from lms.core import clock, events
from lms.core.jobs import commit
from lms.extensions import db
from tests.assessments.concurrency_support import Person, make_learner
from tests.assessments.support import (
    CHECK,
    EXAM,
    JSON,
    attempt_by_public_id,
    correct_form,
    current_version,
)
from tests.factories import login
from tests.threads import at_once

pytestmark = pytest.mark.committed

THREADS = 20


def together(app, person: Person, method: str, path: str, *, data=None, headers=None):
    """Send the same request from THREADS signed-in clients at once; return the responses.

    The threads see committed work only; the test's own open transaction is ended first
    (on SQLite it would hold the write lock). A request that raises (the test app
    propagates exceptions) fails the test with it.
    """
    db.session.rollback()

    # Signed in and filled in beforehand, so that only the requests themselves race.
    clients = [login(FlaskClient(app, app.response_class), person) for _ in range(THREADS)]
    forms = [data(index) if callable(data) else data for index in range(THREADS)]

    def send(index: int):
        response = clients[index].open(path, method=method, data=forms[index],
                                       headers=headers or {})
        body = response.get_json(silent=True)
        return (response.status_code, response.headers.get("Location"),
                None if body is None else json.dumps(body, sort_keys=True))

    responses = at_once(THREADS, send, what="a request")
    db.session.rollback()  # read what the threads committed, not an older snapshot
    return responses


def attempts_of(person: Person) -> list[Attempt]:
    return list(db.session.scalars(select(Attempt).where(Attempt.user_id == person.id)
                                   .order_by(Attempt.number)))


def test_simultaneous_starts_open_one_attempt_and_never_pass_the_limit(app, frozen_clock):
    person = make_learner()
    for wave in range(1, 6):
        responses = together(app, person, "POST", f"/assessments/{EXAM}/start")
        attempts = attempts_of(person)
        assert len(attempts) == min(wave, 3), wave
        assert [a.number for a in attempts] == list(range(1, len(attempts) + 1))
        open_attempts = [a for a in attempts if a.status == "in_progress"]
        if wave <= 3:
            [opened] = open_attempts
            assert opened.number == wave
            assert Counter(responses) == {(303, f"/attempts/{opened.public_id}", None): THREADS}
            assert db.session.scalar(select(func.count()).select_from(AttemptItem).where(
                AttemptItem.attempt_id == opened.id)) == 20
            submit(opened)  # no answers: a fail, so the cooldown starts
            commit()
        else:
            assert open_attempts == []
            assert Counter(responses) == {(303, f"/assessments/{EXAM}", None): THREADS}
        clock.advance(timedelta(hours=25))


def test_simultaneous_starts_as_json_all_resume_the_one_attempt(app, frozen_clock):
    person = make_learner()
    responses = together(app, person, "POST", f"/assessments/{CHECK}/start", headers=JSON)
    [opened] = attempts_of(person)
    assert Counter(status for status, _, _ in responses) == {303: THREADS}
    assert {location for _, location, _ in responses} == {f"/attempts/{opened.public_id}"}


def test_simultaneous_submits_grade_once_and_announce_once(app, frozen_clock):
    person = make_learner()
    attempt = start_attempt(db.session.get(User, person.id), EXAM)
    for attempt_item in attempt.items:
        save_answer(attempt, attempt_item.position, correct_form(attempt_item.item))
    public_id = attempt.public_id
    commit()
    clock.advance(timedelta(minutes=10))
    received = []

    def record(sender, **kwargs):
        received.append((sender, kwargs))

    with events.assessment_passed.connected_to(record):
        responses = together(app, person, "POST", f"/attempts/{public_id}/submit",
                             headers=JSON)
    result = json.dumps({"status": "submitted", "percent": 100.0, "passed": True},
                        sort_keys=True)
    assert Counter(responses) == {(200, None, result): THREADS}
    attempt = attempt_by_public_id(public_id)
    assert (attempt.status, attempt.score_points, attempt.percent, attempt.passed) \
        == ("submitted", 20, 100.0, True)
    assert attempt.submitted_at == clock.now()
    assert received == [(person.id, {
        "attempt_id": attempt.id, "assessment_version_id": current_version(EXAM).id,
        "assessment_slug": EXAM})]
    responses_ = list(db.session.scalars(select(Response).join(AttemptItem).where(
        AttemptItem.attempt_id == attempt.id)))
    assert len(responses_) == 20 and all(r.score == 1.0 for r in responses_)
    # Graded once, so each drawn item's running sums count this attempt exactly once.
    counted = db.session.scalars(select(ItemStatistic.attempts).where(
        ItemStatistic.assessment_item_id.in_([ai.assessment_item_id for ai in attempt.items])))
    assert sorted(counted) == [1] * 20


def test_simultaneous_saves_of_one_question_leave_one_response(app, frozen_clock):
    person = make_learner()
    attempt = start_attempt(db.session.get(User, person.id), CHECK)
    first = next(ai for ai in attempt.items if ai.position == 1)
    options = [o["id"] for o in first.item.definition["options"]]
    public_id, attempt_item_id = attempt.public_id, first.id
    commit()
    responses = together(app, person, "POST", f"/attempts/{public_id}/questions/1",
                         data=lambda i: {"choice": options[i % len(options)]}, headers=JSON)
    saved_body = json.dumps({"saved": True, "position": 1, "answered": [1]}, sort_keys=True)
    assert Counter(responses) == {(200, None, saved_body): THREADS}
    [saved] = db.session.scalars(select(Response).where(
        Response.attempt_item_id == attempt_item_id)).all()
    assert saved.answer["choice"] in options
