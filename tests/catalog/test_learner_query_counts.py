"""The learner pages' SQL budget: a few statements each, however many tracks and lessons.

Each page reads the session (with the person and their organisation), what it shows in two
or three statements, and the vendor's name; Mark complete adds its inserts and counts.
"""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from lms.catalog.models import Assignment, LessonCompletion
from lms.extensions import db
from tests.factories import login, make_organisation, make_track, make_user

# My learning reads the titles of missing prerequisites when a track is locked (the shipped
# Sales Foundations is, for a new learner); Mark complete in mid-course inserts and counts,
# and adds the lesson to the partner's figures (catalog.team_tallies: one statement).
BUDGET = {"/learning": 5, "track": 5, "lesson": 5, "complete": 7}


def _learner_with(tracks: int, lessons: int):
    learner = make_user(make_organisation())
    created = [make_track(lessons=lessons) for _ in range(tracks)]
    db.session.execute(insert(Assignment), [
        {"user_id": learner.id, "track_id": track.id, "manual": True} for track in created])
    db.session.execute(insert(LessonCompletion), [
        {"user_id": learner.id, "lesson_id": track.current_version.courses[0].lessons[0].id}
        for track in created])  # the first lesson of each is done
    db.session.flush()
    return learner, created[0].slug


def _statements(client, count_queries, method: str, url: str) -> int:
    with count_queries() as counter:
        response = client.open(url, method=method)
    assert response.status_code in (200, 303), (url, response.status_code)
    return counter.count


@pytest.mark.parametrize("tracks, lessons", [(2, 3), (30, 40)])
def test_learner_pages_keep_their_statement_budget(client, count_queries, tracks, lessons):
    learner, slug = _learner_with(tracks, lessons)
    login(client, learner)
    lesson = f"/tracks/{slug}/lessons/lesson-2"
    assert _statements(client, count_queries, "GET", "/learning") <= BUDGET["/learning"]
    assert _statements(client, count_queries, "GET", f"/tracks/{slug}") <= BUDGET["track"]
    assert _statements(client, count_queries, "GET", lesson) <= BUDGET["lesson"]
    assert _statements(client, count_queries, "POST", lesson + "/complete") \
        <= BUDGET["complete"]
