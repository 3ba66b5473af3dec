"""An attempt's submission time is read after it wins the row, never before a save it grades."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from lms.accounts.models import User
from lms.assessments.service import save_answer, start_attempt, submit
from lms.core import clock
from lms.core.jobs import commit
from lms.extensions import db
from tests.assessments.concurrency_support import make_learner
from tests.assessments.support import CHECK, attempt_by_public_id, correct_form
from tests.threads import at_once

pytestmark = pytest.mark.committed


def test_submitted_at_is_not_before_the_answers_it_graded(app, frozen_clock):
    person = make_learner()
    attempt = start_attempt(db.session.get(User, person.id), CHECK)
    public_id = attempt.public_id
    answer = correct_form(next(ai for ai in attempt.items if ai.position == 1).item)
    commit()
    db.session.rollback()
    saving = threading.Event()

    def save_then_submit(index: int):
        if index == 1:  # (on SQLite, reading first would take the lock the save needs)
            assert saving.wait(timeout=30)
        with app.app_context():
            mine = attempt_by_public_id(public_id)
            if index == 0:
                # Holds the attempt's row (the database, on SQLite) while the submit waits
                # for it, and saves again, later, before letting go.
                save_answer(mine, 1, answer)
                saving.set()
                time.sleep(1.5)
                clock.advance(timedelta(seconds=30))
                saved = save_answer(mine, 1, answer).saved_at
                db.session.commit()
                return saved
            submit(mine)
            db.session.commit()
            return mine.submitted_at

    saved_at, submitted_at = at_once(2, save_then_submit, what="save or submit")
    attempt = attempt_by_public_id(public_id)
    assert attempt.submitted_at == submitted_at
    assert submitted_at >= saved_at
    assert attempt.items[0].response.score == 1.0  # the later save was graded
