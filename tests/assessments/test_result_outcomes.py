"""A result page says what a pass led to: the certificate just issued, or what a knowledge
check completed and unlocked."""

from __future__ import annotations

from datetime import timedelta

from lms.certifications import public_id
from lms.core import clock
from tests.assessments.support import EXAM, correct_form, plain, wrong_form
from tests.assessments.test_attempts import post_answer, start_via_web, url
from tests.certifications.test_issuing import SP, TA, TA_NAME, certificates, complete_track
from tests.factories import assign, login, make_organisation, make_user


def _take(client, slug, form_for):
    attempt = start_via_web(client, slug)
    for attempt_item in attempt.items:
        post_answer(client, attempt, attempt_item.position, form_for(attempt_item.item))
    client.post(url(attempt, "/submit"))
    page = client.get(url(attempt, "/result")).get_data(as_text=True)
    return attempt, page


def test_passing_the_certification_exam_shows_the_certificate_and_its_links(client,
                                                                            frozen_clock):
    engineer = make_user(make_organisation(), job_role="technical")
    login(client, engineer)
    attempt, page = _take(client, EXAM, correct_form)
    [certificate] = certificates(engineer.id, TA)
    text = plain(page)
    shown = public_id.display(certificate.public_id)
    assert f"Certificate issued: {TA_NAME}" in text and shown in text
    assert f'href="/certifications/{shown}/certificate.pdf"' in page
    assert "Download PDF" in text
    linkedin = next(line for line in page.splitlines() if "linkedin.com/profile/add" in line)
    assert "Share" in linkedin and f"certId={shown}" in linkedin
    assert f"/verify/{shown}\"" in page and "Verify" in text
    assert client.get(f"/certifications/{shown}/certificate.pdf").status_code == 200

    # The same result seen again later still shows it; a failed attempt never does.
    clock.advance(timedelta(days=3))
    again = client.get(url(attempt, "/result")).get_data(as_text=True)
    assert "Certificate issued" in again


def test_a_failed_attempt_shows_no_certificate(client, frozen_clock):
    login(client, make_user(make_organisation(), job_role="technical"))
    attempt, page = _take(client, EXAM, wrong_form)
    assert not attempt.passed and "Certificate issued" not in page


def test_a_knowledge_check_says_what_it_completed_and_unlocked(client, frozen_clock):
    from lms.catalog.progress import get_live_track, track_outline
    from lms.catalog.service import complete_lesson

    seller = make_user(make_organisation(), job_role="sales")
    complete_track(seller, "partner-onboarding-essentials")
    track = get_live_track("sales-foundations")
    assign(seller, track)
    for state in track_outline(seller, track).lessons:
        if state.lesson.assessment_slug:
            check_slug, check_title = state.lesson.assessment_slug, state.lesson.title
            break
        complete_lesson(user=seller, track_slug="sales-foundations",
                        lesson_slug=state.lesson.slug)
    login(client, seller)
    attempt, page = _take(client, check_slug, correct_form)
    text = plain(page)
    assert attempt.passed
    assert f"Completed the lesson {check_title}" in text
    assert 'href="/tracks/sales-foundations"' in page and "Back to the" in text
    # The check is the track's last lesson: it completes the track, and with the other
    # track done, the Sales Professional certificate follows.
    assert "Track completed" in text
    [certificate] = certificates(seller.id, SP)
    assert public_id.display(certificate.public_id) in text


def test_a_knowledge_check_that_opens_the_next_lesson_says_so(client, frozen_clock):
    from lms.catalog.progress import get_live_track, track_outline

    seller = make_user(make_organisation(), job_role="sales")
    track = get_live_track("partner-onboarding-essentials")
    assign(seller, track)
    lessons = track_outline(seller, track).lessons
    index = next(i for i, s in enumerate(lessons) if s.lesson.assessment_slug)
    from lms.catalog.service import complete_lesson

    for state in lessons[:index]:
        complete_lesson(user=seller, track_slug=track.slug, lesson_slug=state.lesson.slug)
    login(client, seller)
    _, page = _take(client, lessons[index].lesson.assessment_slug, correct_form)
    text = plain(page)
    if index + 1 < len(lessons):
        assert f"Unlocked: the next lesson, {lessons[index + 1].lesson.title}" in text
    else:
        assert "Track completed" in text
