"""A partner's learning figures (the staff page's tiles) are tallies kept by the writes:
after each kind of write that moves them, the tallies equal a recount (as `lms tallies
check` compares) and the figures equal the sums of the staff list's rows, person by person."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lms.accounts import headcount
from lms.accounts import service as accounts
from lms.accounts.models import User, active_staff
from lms.catalog import assignments, service
from lms.catalog.models import Track
from lms.catalog.progress import staff_progress
from lms.catalog.staff_list import team_figures
from lms.core import clock, tallies
from lms.extensions import db
from tests.catalog.test_loader import track_yml, write_program
from tests.factories import make_organisation, make_user

ALPHA = track_yml("alpha", {"basics": ["intro", "setup"], "advanced": ["tuning"]},
                  settings="due_within_days: 7")
BETA = track_yml("beta", {"only": ["one", "two"]}, settings="audience:\n  job_roles: [technical]")


def exact(*organisations) -> None:
    wrong = tallies.differences()
    assert wrong == {}, wrong
    for organisation in organisations:
        staff = set(db.session.scalars(select(User.id).where(
            User.organisation_id == organisation.id, active_staff())))
        people = db.session.scalars(select(User).where(User.organisation_id == organisation.id))
        rows = [row for row in staff_progress(list(people)) if row.user.id in staff]
        figures = team_figures(organisation.id, clock.now())
        assert (figures.active, figures.completed, figures.overdue, figures.done_lessons,
                figures.total_lessons) == (
            len(staff), sum(row.completed for row in rows), sum(row.overdue for row in rows),
            sum(row.done_lessons for row in rows), sum(row.total_lessons for row in rows))


def complete(user, track: str, *lessons: str) -> None:
    for lesson in lessons:
        service.complete_lesson(user=user, track_slug=track, lesson_slug=lesson)


def test_every_write_that_moves_a_partners_figures_keeps_them(tmp_path, frozen_clock):
    root = tmp_path / "content"
    write_program(root, {"alpha": ALPHA, "beta": BETA})
    service.sync_content(str(root))
    organisation, other = make_organisation(), make_organisation()
    vendor = make_user()
    admin = make_user(organisation, role="partner_admin", password="correct horse battery")
    ann = make_user(organisation, password="correct horse battery")  # alpha, due in 7 days
    exact(organisation)
    complete(ann, "alpha", "intro", "setup")
    exact(organisation)
    complete(ann, "alpha", "tuning")  # the track too
    exact(organisation)
    # Invited: not counted until they join; then their assignment counts.
    bob, secret = accounts.invite_user(organisation_id=organisation.id, email="bob@example.com",
                                       full_name="Bob", job_role="sales", invited_by=admin)
    exact(organisation)
    accounts.accept_invitation(secret, "a long enough password 1")
    assert headcount.headcount(organisation.id)["joined"] == 3
    exact(organisation)
    # Time alone makes Bob's alpha overdue: later the same day as it fell due, then after.
    due = db.session.scalar(select(assignments.Assignment.due_at).where(
        assignments.Assignment.user_id == bob.id))
    clock.set_now(due + timedelta(minutes=1))
    assert team_figures(organisation.id, clock.now()).overdue == 2  # the admin's and Bob's
    exact(organisation)
    clock.advance(timedelta(days=2))
    exact(organisation)
    # By hand, with a due date; the due date changed; deactivated, back, moved elsewhere.
    beta = db.session.scalar(select(Track).where(Track.slug == "beta"))
    for days in (3, 5):
        assignments.assign_manually(user_id=ann.id, track_id=beta.id,
                                    due_at=clock.now() + timedelta(days=days),
                                    assigned_by=vendor)
        exact(organisation)
    complete(ann, "beta", "one")
    accounts.set_active(bob.id, False, actor=vendor)
    exact(organisation)
    accounts.set_active(bob.id, True, actor=vendor)
    exact(organisation)
    accounts.update_user(ann.id, organisation_id=other.id)
    exact(organisation, other)
    # A new version (one lesson rewritten, one added: completions carried forward), and a
    # track archived by a program without it.
    write_program(root, {"alpha": track_yml(
        "alpha", {"basics": ["intro", "setup"], "advanced": ["tuning", "scaling"]},
        settings="due_within_days: 7"), "beta": BETA},
        files={"tracks/alpha/lessons/setup.md": "Rewritten setup.\n"})
    service.sync_content(str(root))
    exact(organisation, other)
    write_program(root, {"alpha": ALPHA})
    service.sync_content(str(root))
    exact(organisation, other)
    # Rule re-evaluation for everyone (a content sync does it) and a partner's tier change.
    assignments.reevaluate()
    exact(organisation, other)
