"""The learner's course player: My learning, track outline, locks, completing lessons."""

from sqlalchemy import func, select

from lms.catalog import progress
from lms.catalog.models import Assignment, CourseCompletion, LessonCompletion, TrackCompletion
from lms.catalog.service import complete_lesson
from lms.core import events
from lms.extensions import db
from tests.factories import assign, counted_get, login, make_organisation, make_track, make_user


def _percent_on_my_learning(client, slug):
    page = client.get("/learning").get_data(as_text=True)
    card = page.split(f'data-track="{slug}"', 1)[1].split("</article>", 1)[0]
    return int(card.split('aria-valuenow="', 1)[1].split('"', 1)[0])


def test_my_learning_lists_assigned_tracks_with_continue(client):
    learner = make_user(make_organisation(), job_role="sales")
    page = login(client, learner).get("/learning").get_data(as_text=True)
    assert "Partner Onboarding Essentials" in page
    assert "Sales Foundations" in page
    assert "Technical Associate" not in page  # not for the sales role
    assert "/tracks/partner-onboarding-essentials/lessons/partner-program-overview" in page
    # Sales Foundations needs onboarding first, and says so.
    assert "Complete Partner Onboarding Essentials first" in page


def test_completing_lessons_moves_progress_and_completes_course_and_track(client):
    received = []

    def record(sender, **kwargs):
        received.append((sender, kwargs))

    learner = make_user(make_organisation())
    track = make_track("Short Track", lessons=2)
    assign(learner, track)
    login(client, learner)
    assert _percent_on_my_learning(client, track.slug) == 0
    with events.course_completed.connected_to(record), events.track_completed.connected_to(record):
        response = client.post(f"/tracks/{track.slug}/lessons/lesson-1/complete")
        assert response.status_code == 303
        assert response.headers["Location"].endswith(f"/tracks/{track.slug}/lessons/lesson-2")
        assert _percent_on_my_learning(client, track.slug) == 50
        assert received == []
        response = client.post(f"/tracks/{track.slug}/lessons/lesson-2/complete")
        assert response.headers["Location"].endswith(f"/tracks/{track.slug}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Track complete: Short Track" in page and "Course complete" in page
    assert _percent_on_my_learning(client, track.slug) == 100
    version_id = track.current_version_id
    assert received == [(learner.id, {"course_id": track.current_version.courses[0].id}),
                        (learner.id, {"track_version_id": version_id})]
    completion = db.session.scalar(select(TrackCompletion))
    assert (completion.user_id, completion.track_version_id) == (learner.id, version_id)
    assert db.session.scalar(select(func.count()).select_from(CourseCompletion)) == 1


def test_completing_twice_records_one_completion(client):
    learner = make_user(make_organisation())
    track = make_track(lessons=2)
    assign(learner, track)
    login(client, learner)
    for _ in range(3):
        client.post(f"/tracks/{track.slug}/lessons/lesson-1/complete")
    assert db.session.scalar(select(func.count()).select_from(LessonCompletion)
                             .where(LessonCompletion.user_id == learner.id)) == 1


def test_locked_lesson_says_why_and_changes_nothing(client):
    learner = make_user(make_organisation())
    track = make_track(lessons=3)
    assign(learner, track)
    login(client, learner)
    page = client.get(f"/tracks/{track.slug}/lessons/lesson-3")
    assert page.status_code == 423
    assert "Complete “Lesson 1” first" in page.get_data(as_text=True)
    response = client.post(f"/tracks/{track.slug}/lessons/lesson-3/complete")
    assert response.status_code == 423
    assert "Complete “Lesson 1” first" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(LessonCompletion)) == 0


def test_prerequisite_locks_a_whole_track(client):
    learner = make_user(make_organisation())
    first = make_track("Foundations", lessons=1)
    second = make_track("Advanced", lessons=1, prerequisites=[first.slug])
    assign(learner, first)
    assign(learner, second)
    login(client, learner)
    response = client.post(f"/tracks/{second.slug}/lessons/lesson-1/complete")
    assert response.status_code == 423
    assert "Complete Foundations first" in response.get_data(as_text=True)
    client.post(f"/tracks/{first.slug}/lessons/lesson-1/complete")
    assert client.post(f"/tracks/{second.slug}/lessons/lesson-1/complete").status_code == 303


def test_track_not_assigned_is_not_found_for_a_learner(client):
    learner = make_user(make_organisation(), job_role="sales")
    login(client, learner)
    assert client.get("/tracks/technical-associate").status_code == 404
    assert client.post("/tracks/technical-associate/lessons/x/complete").status_code == 404


def test_vendor_staff_preview_any_track_without_completing(client):
    login(client, make_user(role="author"))
    page = client.get("/tracks/technical-associate")
    assert page.status_code == 200
    first = client.get("/tracks/technical-associate").get_data(as_text=True)
    assert "Preview" not in first  # the outline itself has no completion button
    assert client.post("/tracks/technical-associate/lessons/x/complete").status_code == 403


def test_lesson_markdown_is_sanitised(client):
    learner = make_user(make_organisation())
    track = make_track(lessons=1)
    lesson = track.current_version.courses[0].lessons[0]
    lesson.body_markdown = ("## Heading\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
                            "<script>alert(1)</script>\n\n[x](javascript:alert(1))\n\n"
                            "![diagram](https://example.com/d.png)\n\n```\ncode\n```\n")
    db.session.flush()
    assign(learner, track)
    page = login(client, learner).get(f"/tracks/{track.slug}/lessons/lesson-1")
    html = page.get_data(as_text=True)
    assert "<h2>Heading</h2>" in html and "<table>" in html and "<pre><code>" in html
    assert '<img src="https://example.com/d.png" alt="diagram">' in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)" in html
    assert 'href="javascript' not in html


def test_video_and_download_lessons(client):
    learner = make_user(make_organisation(), job_role="presales")
    login(client, learner)
    page = client.get("/tracks/partner-onboarding-essentials/lessons/platform-tour")
    assert page.status_code == 423
    # Locked until the earlier lessons are done: finish them first.
    outline = progress.track_outline(learner, progress.get_live_track(
        "partner-onboarding-essentials"))
    for state in outline.lessons:
        if state.lesson.slug == "platform-tour":
            break
        complete_lesson(user=learner, track_slug="partner-onboarding-essentials",
                        lesson_slug=state.lesson.slug)
    page = client.get("/tracks/partner-onboarding-essentials/lessons/platform-tour")
    assert 'src="https://www.youtube-nocookie.com/embed/aqz-KE-bpKQ"' in page.get_data(as_text=True)


def test_download_is_served_to_signed_in_people_only(client):
    from lms.catalog.models import Asset

    asset = db.session.scalar(select(Asset).where(Asset.filename == "sizing-worksheet.csv"))
    url = f"/assets/{asset.sha256}/{asset.filename}"
    assert client.get(url).status_code == 302  # to the sign-in page
    login(client, make_user(make_organisation()))
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="sizing-worksheet.csv"'
    assert response.data == asset.data
    # A CSV is not on the inert list: neutral type, never sniffed, sandboxed if rendered.
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert client.get(f"/assets/{asset.sha256}/other.csv").status_code == 404


def test_catalogue_lists_tracks_for_vendor_staff(client):
    login(client, make_user(role="author"))
    response = client.get("/catalogue")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Solution Architecture" in page and "Gold, Platinum" in page
    assert "Everyone" in page  # onboarding has no audience restriction


def test_catalogue_shows_each_tracks_learners_in_constant_queries(client, count_queries):
    login(client, make_user(role="author"))
    track = make_track("Counted Track", lessons=2)
    few, _ = counted_get(client, count_queries, "/catalogue")
    organisation = make_organisation()
    for _ in range(3):
        assign(make_user(organisation), track)
    many, page = counted_get(client, count_queries, "/catalogue")
    assert few == many, (few, many)
    row = page[page.index("Counted Track"):].split("</tr>")[0]
    learners = db.session.scalar(select(func.count()).select_from(Assignment)
                                 .where(Assignment.track_id == track.id))
    assert learners >= 3 and row.rstrip().endswith(f'<td class="num">{learners}</td>')
