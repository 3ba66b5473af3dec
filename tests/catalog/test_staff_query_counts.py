"""A partner's staff list: one page of people with their progress, the team's figures over
everyone, and the same number of statements for 5 staff as for 60."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from lms.accounts.models import Invitation, User
from lms.catalog import staff_views
from lms.catalog.models import Assignment, LessonCompletion, TrackCompletion
from lms.catalog.progress import staff_progress
from lms.catalog.staff_list import team_figures
from lms.core import clock, tallies
from lms.extensions import db
from tests.factories import counted_get, login, make_organisation, make_track, make_user

PER_PAGE = 10


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(staff_views, "PER_PAGE", PER_PAGE)


def _add_staff(organisation, count: int, track, *, prefix: str = "Bulk") -> list[int]:
    """Staff with the track assigned (every third overdue), every other one a lesson in, and
    every fifth done with it; every seventh invited and never joined."""
    db.session.execute(insert(User), [
        {"email": f"{prefix.lower()}{organisation.id}.{n}@example.com",
         "full_name": f"{prefix} {n:03d}", "role": "learner", "organisation_id": organisation.id,
         "job_role": "sales", "password_hash": None if n % 7 == 6 else "x"}
        for n in range(count)])
    ids = list(db.session.scalars(select(User.id).where(
        User.organisation_id == organisation.id, User.full_name.like(f"{prefix} %"))
        .order_by(User.full_name)))
    past = clock.now() - timedelta(days=1)
    invited = [user_id for user_id in ids if db.session.get(User, user_id).password_hash is None]
    if invited:
        db.session.execute(insert(Invitation), [
            {"token_hash": f"{prefix}-{user_id}".ljust(64, "0"), "user_id": user_id,
             "expires_at": past + timedelta(days=14)} for user_id in invited])
    db.session.execute(insert(Assignment), [
        {"user_id": user_id, "track_id": track.id, "manual": True,
         "due_at": past if n % 3 == 0 else None} for n, user_id in enumerate(ids)])
    first_lesson = track.current_version.courses[0].lessons[0]
    db.session.execute(insert(LessonCompletion), [
        {"user_id": user_id, "lesson_id": first_lesson.id} for user_id in ids[::2]])
    db.session.execute(insert(TrackCompletion), [
        {"user_id": user_id, "track_id": track.id, "track_version_id": track.current_version_id,
         "completed_at": past} for user_id in ids[::5]])
    db.session.flush()
    tallies.rebuild()  # the bulk load bypassed the writers that keep the tallies
    return ids


def test_staff_list_is_paged_with_constant_queries(client, count_queries, small_pages):
    track = make_track(lessons=2)
    small, large = make_organisation("Small Partner"), make_organisation("Large Partner")
    _add_staff(small, 5, track)
    _add_staff(large, 60, track)
    counts = {}
    for who in ("vendor", "partner"):
        for organisation, expected in ((small, "5 of 5 people"), (large, "10 of 60 people")):
            viewer = make_user(role="vendor_admin") if who == "vendor" else \
                make_user(organisation, role="partner_admin", full_name="Zed Admin")
            login(client, viewer)
            url = f"/organisations/{organisation.id}/staff"
            counts[who, organisation.name], page = counted_get(client, count_queries, url)
            staff = (5 if organisation is small else 60) + (who == "partner")  # + the admin
            assert page.count('data-person="') == min(staff, PER_PAGE)
            if who == "vendor":
                assert expected in page
        assert counts[who, "Small Partner"] == counts[who, "Large Partner"], counts
    # Later pages and searches cost no more.
    for url in (f"/organisations/{large.id}/staff?page=5",
                f"/organisations/{large.id}/staff?q=bulk"):
        assert counted_get(client, count_queries, url)[0] == counts["partner", "Large Partner"], url


def test_team_figures_count_everyone_not_only_the_page(client, small_pages, frozen_clock):
    track = make_track(lessons=2)
    organisation = make_organisation("Counted Partner")
    _add_staff(organisation, 60, track)
    people = list(db.session.scalars(select(User).where(User.organisation_id == organisation.id)))
    joined = [row for row in staff_progress(people) if row.user.password_hash is not None]
    figures = team_figures(organisation.id, clock.now())
    assert (figures.active, figures.pending) == (len(joined), 60 - len(joined))
    assert figures.completed == sum(row.completed for row in joined)
    assert figures.overdue == sum(row.overdue for row in joined)
    assert (figures.done_lessons, figures.total_lessons) == (
        sum(row.done_lessons for row in joined), sum(row.total_lessons for row in joined))
    login(client, make_user(role="vendor_admin"))
    page = client.get(f"/organisations/{organisation.id}/staff").get_data(as_text=True)
    stat = page[page.index("data-active-staff"):]
    assert f"<strong>{len(joined)}</strong><span>active staff ({60 - len(joined)} more invited)" \
        in stat
    assert f"<strong>{figures.percent_done}%</strong>" in stat


def test_staff_are_searched_and_paged_to_the_end(client, small_pages):
    track = make_track(lessons=1)
    organisation = make_organisation("Paged Partner")
    _add_staff(organisation, 25, track)
    other = make_organisation("Other Partner")
    make_user(other, full_name="Bulk Outsider")  # another partner's: never listed here
    login(client, make_user(organisation, role="partner_admin", full_name="Zed Admin"))
    url = f"/organisations/{organisation.id}/staff"
    last = client.get(f"{url}?page=999").get_data(as_text=True)
    assert "Page 3 of 3" in last and last.count('data-person="') == 6  # 26 with the admin
    assert "Zed Admin" in last and "Bulk 019" not in last
    found = client.get(f"{url}?q=BULK+01").get_data(as_text=True)
    assert "10 of 10 people" in found and "Bulk Outsider" not in found
    email = client.get(f"{url}?q=bulk{organisation.id}.3@").get_data(as_text=True)
    assert "1 of 1 person" in email and "Bulk 003" in email
    none = client.get(f"{url}?q=nobody").get_data(as_text=True)
    assert "Nobody at Paged Partner matches" in none
    # Another partner's list stays out of reach, searched or not.
    assert client.get(f"/organisations/{other.id}/staff?q=bulk").status_code == 404
