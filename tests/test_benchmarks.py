"""What the learner benchmarks read from the pages: if a template stops showing it, this
fails here rather than in a benchmark run (benchmarks/learner_throughput.py, learner_load.py).
"""

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

import learner_load  # noqa: E402
import learner_throughput  # noqa: E402
import serving  # noqa: E402

from tests.factories import assign, login, make_organisation, make_track, make_user  # noqa: E402


def test_a_learner_s_pages_show_the_links_and_form_the_simulated_learners_follow(client):
    learner = make_user(make_organisation())
    track = make_track(lessons=2)
    assign(learner, track)
    login(client, learner)
    track_path = f"/tracks/{track.slug}"

    learning = client.get("/learning").get_data(as_text=True)
    assert track_path in learner_load.TRACK_LINK.findall(learning)
    assert track_path in learner_throughput.TRACK_LINK.findall(learning)

    outline = client.get(track_path).get_data(as_text=True)
    first = f"{track_path}/lessons/lesson-1"
    assert learner_load.NEXT_LESSON.search(outline)[1] == first
    assert learner_throughput.LESSON_LINK.findall(outline)[0] == first

    lesson = client.get(first).get_data(as_text=True)
    assert learner_load.COMPLETE_FORM.search(lesson)[1] == f"{first}/complete"
    assert serving.CSRF_TOKEN.search(lesson)  # the sign-out form's, the session's token

    answer = client.post(f"{first}/complete")
    assert answer.status_code == 303  # what the load benchmark counts as acknowledged
    client.post(f"{track_path}/lessons/lesson-2/complete")
    outline = client.get(track_path).get_data(as_text=True)
    assert learner_load.NEXT_LESSON.search(outline) is None  # done: nothing offered next
    assert learner_load.COMPLETE_FORM.search(client.get(first).get_data(as_text=True)) is None


def test_the_sign_in_page_has_the_form_token_the_benchmarks_post_back(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        page = client.get("/login").get_data(as_text=True)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert serving.CSRF_TOKEN.search(page)


def test_cookies_are_kept_replaced_and_deleted_as_a_browser_would():
    jar: dict[str, str] = {}
    serving.keep_cookies(jar, ["session=one.two; Secure; HttpOnly; Path=/; SameSite=Lax"])
    assert serving.cookie_header(jar) == "session=one.two"
    serving.keep_cookies(jar, ["session=three; Secure; Path=/", "other=x; Path=/"])
    assert jar == {"session": "three", "other": "x"}
    serving.keep_cookies(jar, ["session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
                               "Max-Age=0; Path=/"])
    assert jar == {"other": "x"}
