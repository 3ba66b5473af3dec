"""A track completed on an earlier version, after a new version adds or changes lessons."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from lms.catalog import progress, service
from lms.core import clock
from tests.assessments.support import plain
from tests.catalog.test_loader import track_yml, write_program
from tests.factories import login, make_organisation, make_user

ALPHA = track_yml("alpha", {"basics": ["intro", "setup"], "advanced": ["tuning"]})


@pytest.fixture
def root(tmp_path):
    return tmp_path / "content"


@pytest.fixture
def learner(frozen_clock):
    return make_user(make_organisation())


def complete(user, *lesson_slugs: str) -> None:
    for lesson_slug in lesson_slugs:
        service.complete_lesson(user=user, track_slug="alpha", lesson_slug=lesson_slug)
        clock.advance(timedelta(hours=2))


def card(page: str, slug: str) -> str:
    return page.split(f'data-track="{slug}"', 1)[1].split("</article>", 1)[0]


def test_a_completed_track_says_what_a_new_version_added(client, root, learner):
    write_program(root, {"alpha": ALPHA})
    service.sync_content(str(root))
    complete(learner, "intro", "setup", "tuning")
    [done] = [t for t in progress.learner_tracks(learner.id) if t.slug == "alpha"]
    assert (done.status, done.percent, done.lessons_to_review) == ("completed", 100, 0)
    completed_on = done.completed_at

    # Version 2 rewrites one lesson and adds another.
    clock.advance(timedelta(days=5))
    write_program(root, {"alpha": track_yml(
        "alpha", {"basics": ["intro", "setup"], "advanced": ["tuning", "scaling"]})},
        files={"tracks/alpha/lessons/setup.md": "Rewritten setup.\n"})
    service.sync_content(str(root))

    [alpha] = [t for t in progress.learner_tracks(learner.id) if t.slug == "alpha"]
    # The completion is history and stays; the new lessons are what is left to review.
    assert alpha.status == "completed" and alpha.completed_at == completed_on
    assert (alpha.done_lessons, alpha.total_lessons, alpha.percent) == (2, 4, 50)
    assert (alpha.completed_version, alpha.completed_version_at) == (1, completed_on)
    assert alpha.lessons_to_review == 2 and alpha.updated_since_completion
    assert alpha.next_lesson_slug == "setup"

    login(client, learner)
    page = client.get("/learning").get_data(as_text=True)
    text = plain(card(page, "alpha"))
    on = f"{completed_on.day} {completed_on:%b %Y}"  # as the date filter writes it
    assert f"Completed on {on} (version 1) · 2 new or changed lessons to review" in text
    assert "Updated" in text and "2 of 4 lessons" in text
    assert 'href="/tracks/alpha/lessons/setup"' in card(page, "alpha")
    assert re.search(r"<strong>\s*1\s*</strong><span>completed</span>", page)

    page = client.get("/tracks/alpha").get_data(as_text=True)
    text = plain(page)
    assert f"Completed on {on} (version 1) · 2 new or changed lessons to review in version 2" \
        in text
    assert "Review: Lesson setup →" in text
    assert 'href="/tracks/alpha/lessons/setup"' in page

    # Catching up completes version 2 too; the note goes away.
    complete(learner, "setup")
    [alpha] = [t for t in progress.learner_tracks(learner.id) if t.slug == "alpha"]
    assert alpha.lessons_to_review == 1
    text = plain(card(client.get("/learning").get_data(as_text=True), "alpha"))
    assert "1 new or changed lesson to review" in text
    complete(learner, "scaling")
    [alpha] = [t for t in progress.learner_tracks(learner.id) if t.slug == "alpha"]
    assert (alpha.percent, alpha.lessons_to_review, alpha.completed_version) == (100, 0, 2)
    assert alpha.completed_at == completed_on  # the first completion is still the one shown
    page = client.get("/learning").get_data(as_text=True)
    assert "to review" not in card(page, "alpha") and "Updated" not in card(page, "alpha")
    assert "to review" not in client.get("/tracks/alpha").get_data(as_text=True)


def test_an_unfinished_track_says_nothing_about_updates(client, root, learner):
    write_program(root, {"alpha": ALPHA})
    service.sync_content(str(root))
    complete(learner, "intro")
    write_program(root, {"alpha": ALPHA}, files={"tracks/alpha/lessons/setup.md": "New.\n"})
    service.sync_content(str(root))
    [alpha] = [t for t in progress.learner_tracks(learner.id) if t.slug == "alpha"]
    assert (alpha.status, alpha.lessons_to_review, alpha.completed_version) == (
        "in_progress", 0, None)
    page = login(client, learner).get("/learning").get_data(as_text=True)
    assert "to review" not in card(page, "alpha")


def test_the_staff_view_shows_the_update_too(client, root, learner):
    write_program(root, {"alpha": ALPHA})
    service.sync_content(str(root))
    complete(learner, "intro", "setup", "tuning")
    write_program(root, {"alpha": ALPHA}, files={"tracks/alpha/lessons/tuning.md": "New.\n"})
    service.sync_content(str(root))
    login(client, make_user(role="vendor_admin"))
    text = plain(client.get(f"/people/{learner.id}").get_data(as_text=True))
    assert "Completed" in text and "Updated: 1 lesson to review" in text
