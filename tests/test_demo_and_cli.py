"""`lms demo` and `lms users`, through the CLI as an operator runs them."""

import contextvars
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms import create_app
from lms.accounts.models import Organisation, User
from lms.accounts.passwords import verify_password
from lms.assessments.models import Assessment, Attempt
from lms.catalog.models import LessonCompletion
from lms.certifications import holders
from lms.certifications.lifecycle import status
from lms.certifications.models import Certificate
from lms.core import clock, tallies
from lms.core.db import UTCDateTime
from lms.demo import EXAM, EXAM_CANDIDATES, candidate_names
from lms.demo.certificates import HISTORIES, REVOKED
from lms.demo.journeys import BEHIND, EXAM_TAKERS
from lms.extensions import db
from lms.journeys.models import Journey, JourneyEvent, JourneyMilestone
from lms.journeys.overview import vendor_overview
from lms.readiness.models import ReadinessScore
from lms.scorecard import service as scorecard


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_demo_creates_the_documented_accounts_once(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "admin@northwind.example" in result.output and "demo-password" in result.output
    for email, role in [("admin@vendor.example", "vendor_admin"),
                        ("author@vendor.example", "author"),
                        ("channel@vendor.example", "channel_manager"),
                        ("admin@northwind.example", "partner_admin"),
                        ("learner@northwind.example", "learner")]:
        user = db.session.scalar(select(User).where(User.email == email))
        assert user.role == role
        assert verify_password(user.password_hash, "demo-password")
    northwind = db.session.scalar(select(Organisation).where(
        Organisation.name == "Northwind Systems"))
    assert (northwind.tier, northwind.partner_type) == ("gold", "reseller")
    assert _count(Organisation) >= 3
    counts = _counts()
    assert counts[2] > 0  # demo people have progress to look at
    _check_demo_history()
    _check_demo_journeys()
    _check_demo_forecast(northwind)

    assert tallies.differences() == {}  # the demo loads through the services
    assert holders.wrong() == 0  # and so do the certificates' holders

    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and "already present" in again.output
    assert _counts() == counts


def _counts() -> tuple:
    return (_count(User), _count(Organisation), _count(LessonCompletion), _count(Attempt),
            _count(JourneyEvent), db.session.scalar(select(func.count(JourneyMilestone.done_at))))


# Dates that may lie ahead (deadlines, expiry): everything else is something that happened.
FUTURE_ALLOWED = {"due_at", "expires_at", "deadline_at", "renewal_opens_at", "grace_ends_at",
                  "stalls_at", "falls_below_on",
                  "overdue_since"}  # a journey's first open due date: a deadline too


def _check_demo_history() -> None:
    """No event in the demo is dated after now; candidates look like real people with
    progress; the two accounts the browser tests use have not sat the exam."""
    now = clock.now()
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, UTCDateTime) and column.name not in FUTURE_ALLOWED:
                latest = db.session.scalar(select(func.max(column)))
                assert latest is None or latest <= now, (table.name, column.name, latest)

    names = candidate_names()
    assert len(names) == len(set(names)) == EXAM_CANDIDATES
    exam = db.session.scalar(select(Assessment).where(Assessment.slug == EXAM))
    candidates = db.session.scalars(select(User).where(User.id.in_(
        select(Attempt.user_id).where(Attempt.assessment_id == exam.id)))).all()
    veterans = {email for email, *_ in HISTORIES} | {REVOKED[0]}
    # and Tom Hughes, Kenji Tanaka, the people with a certification history and the small
    # partners' first engineers
    assert len(candidates) == EXAM_CANDIDATES + 2 + len(veterans) + len(EXAM_TAKERS)
    emails = [user.email for user in candidates]
    assert len(set(emails)) == len(emails)
    for user in candidates:
        first, last = user.full_name.lower().split(" ")[:2] if user.full_name.isascii() \
            else ("", "")
        if first:
            assert re.fullmatch(rf"{first}\.{last}@[a-z]+\.example", user.email), user.email
        assert not re.search(r"\d", user.email), user.email
        done = db.session.scalar(select(func.count()).select_from(LessonCompletion)
                                 .where(LessonCompletion.user_id == user.id))
        if user.email not in veterans:
            assert done >= 8, (user.email, done)  # partner staff pages show real progress
    # Every certificate state is on show, dated by the real lifecycle.
    now = clock.now()
    states = {status(c, now) for c in db.session.scalars(select(Certificate))}
    assert states == {"active", "expiring", "expired", "revoked", "superseded"}
    for email in ("learner@northwind.example", "sofia.rossi@northwind.example"):
        assert db.session.scalar(select(func.count()).select_from(Attempt).join(
            User, User.id == Attempt.user_id).where(
            User.email == email, Attempt.assessment_id == exam.id)) == 0, email


def _check_demo_journeys() -> None:
    """The vendor's onboarding overview tells a story: partners at every stage, some done,
    some late or stalled; sign-offs are dated after their signer joined; the browser
    tests' learner still has his first week to do."""
    now = clock.now()
    overview = vendor_overview(template_id=None, stage=None, overdue=False, stalled=False,
                               page=1, per_page=50, now=now)
    partners_at = [step.at for step in overview.funnel] + [overview.completed]
    assert all(partners_at), partners_at  # someone at every stage, and someone done
    assert overview.started >= 8
    assert overview.overdue_journeys >= 1 and overview.stalled_journeys >= 1
    assert all(step.median_days is not None for step in overview.funnel)
    assert overview.median_days_to_complete is not None

    journeys = db.session.scalars(select(Journey)).all()
    users = {user.id: user for user in db.session.scalars(select(User))}
    for journey in journeys:
        if journey.scope == "organisation":
            # A partner signs up, and starts onboarding, before any of its people join.
            staff = [u.created_at for u in users.values()
                     if u.organisation_id == journey.organisation_id]
            assert journey.started_at <= min(staff, default=now), journey.organisation_id
        for milestone in journey.milestones:
            if milestone.kind != "manual" or milestone.done_at is None:
                continue
            signer = users[milestone.done_by_id]
            assert signer.created_at <= milestone.done_at <= now
            if milestone.owner == "person":
                assert signer.id == journey.user_id
            elif milestone.owner == "partner_admin":
                assert signer.role == "partner_admin"
                assert signer.organisation_id == journey.organisation_id
            else:
                assert signer.role == "vendor_admin"
            if milestone.evidence == "file":
                assert milestone.evidence_file.data.startswith(b"%PDF")

    by_email = {users[j.user_id].email: j for j in journeys if j.user_id is not None}
    # The people certified years ago finished onboarding long ago.
    for email, *_ in HISTORIES:
        finished = by_email[email].completed_at
        assert finished is not None and (now - finished).days > 365, email
    # Lukas Meyer's first week is still open: the browser tests do it.
    lukas = by_email[BEHIND]
    assert lukas.current_stage == 0
    assert all(m.done_at is None for m in lukas.milestones if m.stage_index == 0)
    assert any(m.kind == "manual" for m in lukas.milestones if m.stage_index == 0)


def _check_demo_forecast(northwind: Organisation) -> None:
    """Northwind meets Gold today on its two Technical Associates, both expiring within
    the forecast: its readiness says when it falls below Gold, and its scorecard raises the
    tier-at-risk flag with that sentence."""
    now = clock.now()
    score = db.session.scalar(select(ReadinessScore)
                              .where(ReadinessScore.organisation_id == northwind.id))
    assert score.meets_tier
    assert now < score.falls_below_on <= now + timedelta(days=90)
    sentence = score.forecast["sentence"]
    assert sentence.startswith(f"Northwind Systems falls below Gold on "
                               f"{score.falls_below_on:%-d %B %Y} unless 1 of 2 expiring")
    assert "Technical Associates renews" in sentence
    flags = scorecard.partner_scorecard(northwind.id, now)["flags"]
    assert [flag["text"] for flag in flags if flag["kind"] == "tier_at_risk"] == [sentence]


def test_demo_refuses_production(tmp_path):
    production = create_app({"LMS_ENV": "production", "SECRET_KEY": "a-real-secret",
                             "INSTANCE_PATH": str(tmp_path),
                             "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db"})
    runner = production.test_cli_runner()

    # An empty context: no test app is current, so the command loads the production app.
    result = contextvars.Context().run(runner.invoke, args=["demo"])
    assert result.exit_code == 1
    assert "refuses to run in production" in result.output


def test_production_needs_a_real_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("LMS_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="LMS_SECRET_KEY"):
        create_app({"LMS_ENV": "production", "INSTANCE_PATH": str(tmp_path)})


def test_development_secret_is_generated_once(tmp_path, monkeypatch):
    monkeypatch.delenv("LMS_SECRET_KEY", raising=False)
    first = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    second = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    assert first == second and len(first) > 40


def test_users_create_and_list(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "--email", "Ops@Vendor.example",
                                 "--name", "Ops Person", "--role", "vendor_admin",
                                 "--password", "long-enough-password"])
    assert result.exit_code == 0, result.output
    assert "created ops@vendor.example" in result.output
    assert tallies.differences() == {}
    listing = runner.invoke(args=["users", "list"])
    assert "ops@vendor.example" in listing.output

    duplicate = runner.invoke(args=["users", "create", "--email", "ops@vendor.example",
                                    "--name", "Again", "--role", "author",
                                    "--password", "long-enough-password"])
    assert duplicate.exit_code == 1
    assert "email: Someone with that email address already has an account." in duplicate.output


def test_users_create_for_an_unknown_organisation(app):
    result = app.test_cli_runner().invoke(args=[
        "users", "create", "--email", "x@example.com", "--name", "X", "--role", "learner",
        "--organisation", "Nope Ltd", "--job-role", "sales", "--password", "long-enough-pw"])
    assert result.exit_code == 1
    assert "no organisation called 'Nope Ltd'" in result.output
