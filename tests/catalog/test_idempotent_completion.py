"""Completing a lesson again, or twice at once, records each completion once and fails nothing.

Under load a learner whose track completion for the current version already existed got a
500 on the last lesson: the track completion insert had no guard. Every completion insert is
now INSERT ... ON CONFLICT DO NOTHING, announced only by the call that inserted the row.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from lms.accounts.models import User
from lms.catalog.models import CourseCompletion, LessonCompletion, Track, TrackCompletion
from lms.catalog.service import complete_lesson
from lms.core import clock, events
from lms.core.jobs import commit
from lms.extensions import db
from tests.factories import assign, login, make_organisation, make_track, make_user
from tests.threads import at_once

THREADS = 8


def count(model, user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(model)
                             .where(model.user_id == user_id))


def test_last_lesson_completes_when_the_track_completion_already_exists(client):
    learner = make_user(make_organisation())
    track = make_track(lessons=2)
    assign(learner, track)
    course_id = track.current_version.courses[0].id
    complete_lesson(user=learner, track_slug=track.slug, lesson_slug="lesson-1")
    # Recorded by another way first (a completion carried forward, another request).
    db.session.add_all([
        CourseCompletion(user_id=learner.id, course_id=course_id, completed_at=clock.now()),
        TrackCompletion(user_id=learner.id, track_id=track.id,
                        track_version_id=track.current_version_id, completed_at=clock.now())])
    db.session.flush()
    announced = []
    login(client, learner)
    with events.track_completed.connected_to(lambda sender, **kw: announced.append(sender)):
        response = client.post(f"/tracks/{track.slug}/lessons/lesson-2/complete")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/tracks/{track.slug}")
    assert "Track complete" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert (count(LessonCompletion, learner.id), count(CourseCompletion, learner.id),
            count(TrackCompletion, learner.id)) == (2, 1, 1)
    assert announced == []  # nothing new to announce: the track was already complete


def test_repeating_the_same_completion_records_and_announces_it_once(client):
    learner = make_user(make_organisation())
    track = make_track(lessons=1)
    assign(learner, track)
    announced = []
    with events.track_completed.connected_to(lambda sender, **kw: announced.append(sender)), \
            events.course_completed.connected_to(lambda sender, **kw: announced.append(sender)):
        first = complete_lesson(user=learner, track_slug=track.slug, lesson_slug="lesson-1")
        again = complete_lesson(user=learner, track_slug=track.slug, lesson_slug="lesson-1")
    assert first.track_done and again.track_done
    assert (count(LessonCompletion, learner.id), count(CourseCompletion, learner.id),
            count(TrackCompletion, learner.id)) == (1, 1, 1)
    assert announced == [learner.id, learner.id]  # the course, then the track, once each
    login(client, learner)
    for _ in range(2):  # the form sent twice
        response = client.post(f"/tracks/{track.slug}/lessons/lesson-1/complete")
        assert response.status_code == 303
    assert count(TrackCompletion, learner.id) == 1


@pytest.mark.committed
def test_the_last_lesson_completed_at_once_in_many_requests(app):
    """Committed transactions on separate connections, released together at a barrier (on
    PostgreSQL the losers wait on the unique key, then insert nothing; on SQLite they queue
    behind BEGIN IMMEDIATE)."""
    learner = make_user(make_organisation())
    track = make_track(lessons=2)
    assign(learner, track)
    complete_lesson(user=learner, track_slug=track.slug, lesson_slug="lesson-1")
    user_id, slug = learner.id, track.slug
    commit()
    db.session.rollback()
    announced = []

    def work(_index: int) -> bool:
        with app.app_context():
            done = complete_lesson(user=db.session.get(User, user_id), track_slug=slug,
                                   lesson_slug="lesson-2")
            commit()
            return done.track_done

    try:
        with events.track_completed.connected_to(
                lambda sender, **kw: announced.append(sender)):
            results = at_once(THREADS, work, what="a completing request")
        db.session.rollback()
        assert results == [True] * THREADS
        assert (count(LessonCompletion, user_id), count(CourseCompletion, user_id),
                count(TrackCompletion, user_id)) == (2, 1, 1)
        assert announced == [user_id]
    finally:
        # The track and its version point at each other; unlink them so the committed
        # rows can be deleted after the test.
        db.session.rollback()
        db.session.execute(update(Track).where(Track.slug == slug)
                           .values(current_version_id=None))
        commit()
