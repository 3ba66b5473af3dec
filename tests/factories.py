"""Plain factory functions for tests. They flush, never commit."""

from __future__ import annotations

import itertools

from flask.testing import FlaskClient
from sqlalchemy import select

from lms.accounts import service as accounts
from lms.accounts.models import Organisation, User
from lms.catalog.assignments import ASSIGNMENTS
from lms.catalog.models import Assignment, Course, Lesson, Track, TrackVersion
from lms.core import tallies
from lms.extensions import db

_sequence = itertools.count(1)
PASSWORD = "correct-horse-battery"


def make_organisation(name: str | None = None, *, partner_type="reseller", tier="gold",
                      region="emea", status="active") -> Organisation:
    return accounts.create_organisation(name=name or f"Partner {next(_sequence)}",
                                        partner_type=partner_type, tier=tier, region=region,
                                        status=status)


def make_user(organisation: Organisation | None = None, *, role: str | None = None,
              job_role: str | None = "sales", email: str | None = None,
              full_name: str | None = None, password: str | None = None) -> User:
    """A person; partner staff by default (pass no organisation for vendor staff roles)."""
    n = next(_sequence)
    if role is None:
        role = "learner" if organisation is not None else "vendor_admin"
    return accounts.create_user(
        email=email or f"person{n}@example.com", full_name=full_name or f"Person {n}",
        role=role, organisation_id=organisation.id if organisation else None,
        job_role=job_role if organisation else None, password=password)


def make_track(title: str | None = None, *, lessons: int = 3, audience: dict | None = None,
               prerequisites: list[str] | None = None, sequential: bool = True) -> Track:
    """A live track with one published version, written directly (no content files)."""
    n = next(_sequence)
    track = Track(slug=f"track-{n}", audience=audience or {}, prerequisites=prerequisites or [],
                  required=False, sequential=sequential)
    db.session.add(track)
    db.session.flush()
    version = TrackVersion(track_id=track.id, number=1, title=title or f"Track {n}",
                           summary="A test track.", estimated_minutes=30, content_hash=f"h{n}")
    db.session.add(version)
    db.session.flush()
    course = Course(track_version_id=version.id, slug="course", position=0, title="Course")
    db.session.add(course)
    db.session.flush()
    db.session.add_all([
        Lesson(track_version_id=version.id, course_id=course.id, slug=f"lesson-{i + 1}",
               position=i, title=f"Lesson {i + 1}", body_markdown=f"Text of lesson {i + 1}.",
               content_hash=f"l{n}-{i}")
        for i in range(lessons)
    ])
    track.current_version_id = version.id
    db.session.flush()
    return track


def assign(user: User, track: Track, **fields) -> Assignment:
    assignment = db.session.scalar(select(Assignment).where(
        Assignment.user_id == user.id, Assignment.track_id == track.id))
    if assignment is None:
        assignment = Assignment(user_id=user.id, track_id=track.id, manual=True, **fields)
        db.session.add(assignment)
        db.session.flush()
        tallies.add_one(ASSIGNMENTS, scope=track.id)  # as the assignment services do
    return assignment


def counted_get(client: FlaskClient, count_queries, url: str) -> tuple[int, str]:
    """GET `url` (it must answer 200) with the SQL statements it sent counted: (count, body)."""
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return counter.count, response.get_data(as_text=True)


def login(client: FlaskClient, user: User) -> FlaskClient:
    """Sign in without the password round trip (argon2 is slow on purpose): a recorded
    session, its secret in the cookie, as the sign-in page does. A user given with a
    `session_secret` (made earlier, e.g. before a commit) uses that session."""
    from lms.accounts import sessions

    secret = getattr(user, "session_secret", None) or sessions.start(user)
    with client.session_transaction() as session:
        session["_user_id"] = secret
        session["_fresh"] = True
    return client
