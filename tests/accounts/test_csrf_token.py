"""Every signed-in page carries the sign-out form's CSRF token, signed once per session.

The signed token is kept per session (lms.core.web.csrf_token) instead of being signed on
every page: the same session sees the same token on every page, it is accepted, and it is
no good for another session.
"""

from __future__ import annotations

import re

import pytest

from tests.factories import assign, login, make_organisation, make_track, make_user


def token_on(client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, path
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))[1]


@pytest.fixture
def csrf_checked(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


def test_one_session_sees_one_token_which_signs_it_out(app, client, csrf_checked):
    learner = make_user(make_organisation())
    track = make_track(lessons=2)
    assign(learner, track)
    login(client, learner)
    tokens = {token_on(client, "/learning"), token_on(client, f"/tracks/{track.slug}"),
              token_on(client, f"/tracks/{track.slug}/lessons/lesson-1"),
              token_on(client, "/learning")}
    assert len(tokens) == 1
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.post("/logout", data={"csrf_token": tokens.pop()}).status_code == 302
    assert client.get("/learning").status_code == 302  # signed out


def test_another_sessions_token_is_refused(app, csrf_checked):
    organisation = make_organisation()
    first, second = app.test_client(), app.test_client()
    login(first, make_user(organisation))
    login(second, make_user(organisation))
    theirs = token_on(first, "/learning")
    assert token_on(second, "/learning") != theirs
    assert second.post("/logout", data={"csrf_token": theirs}).status_code == 400
    assert first.post("/logout", data={"csrf_token": theirs}).status_code == 302
