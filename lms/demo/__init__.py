"""`lms demo`: demo partners, people, progress, exam attempts, certification histories and
onboarding journeys. Idempotent; refuses in production."""

from __future__ import annotations

import itertools
import random
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from lms.accounts import service as accounts
from lms.accounts.models import Organisation, User
from lms.accounts.passwords import hash_password
from lms.catalog import service as catalog
from lms.catalog.models import Lesson, LessonCompletion, Track
from lms.catalog.progress import learner_tracks
from lms.core import clock
from lms.core.jobs import commit
from lms.demo import certificates, exams, journeys, scorecard
from lms.extensions import db
from lms.journeys import medians as journey_medians

DEMO_PASSWORD = "demo-password"

VENDOR_STAFF = [
    ("admin@vendor.example", "Morgan Reyes", "vendor_admin"),
    ("author@vendor.example", "Priya Natarajan", "author"),
    ("channel@vendor.example", "Daniel Okafor", "channel_manager"),
]

# name, type, tier, region, staff: (email, full name, role, job role, lessons to complete)
PARTNERS = [
    ("Northwind Systems", "reseller", "gold", "emea", [
        ("admin@northwind.example", "Hannah Becker", "partner_admin", "sales", 9),
        ("learner@northwind.example", "Lukas Meyer", "learner", "sales", 3),
        ("sofia.rossi@northwind.example", "Sofia Rossi", "learner", "presales", 12),
        ("tom.hughes@northwind.example", "Tom Hughes", "learner", "technical", 18),
        ("amira.haddad@northwind.example", "أميرة حداد", "learner", "support", 0),
    ]),
    ("Bluepeak Integrators", "si", "silver", "amer", [
        ("admin@bluepeak.example", "Grace Kim", "partner_admin", "presales", 7),
        ("diego.alvarez@bluepeak.example", "Diego Álvarez", "learner", "technical", 4),
        ("olivia.chen@bluepeak.example", "Olivia Chen", "learner", "sales", 0),
    ]),
    ("Harbor Managed Services", "msp", "platinum", "apac", [
        ("admin@harbor.example", "佐藤 美咲", "partner_admin", "technical", 14),
        ("kenji.tanaka@harbor.example", "田中 健二", "learner", "technical", 22),
        ("ravi.kumar@harbor.example", "Ravi Kumar", "learner", "support", 6),
    ]),
]


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Create demo partners, people and progress (safe to run twice)."""
    if current_app.config["LMS_ENV"] == "production":
        click.secho("error: lms demo refuses to run in production mode.", fg="red", err=True)
        sys.exit(1)
    if not accounts.terms("tier"):
        click.secho("error: no content yet; run `lms content sync` first.", fg="red", err=True)
        sys.exit(1)
    created = load_demo()
    commit()
    click.echo(f"demo data: {created} new account(s)" if created else "demo data already present")
    click.echo(f"\nDemo accounts (password: {DEMO_PASSWORD}):")
    for email, _name, role in VENDOR_STAFF:
        click.echo(f"  {email:34} {role.replace('_', ' ')}")
    for org_name, *_rest, staff in PARTNERS[:1]:
        for email, _name, role, _job, _done in staff[:2]:
            click.echo(f"  {email:34} {role.replace('_', ' ')} at {org_name}")
    click.echo("  ...and staff at " + ", ".join(p[0] for p in PARTNERS[1:]))


# More technical staff per partner, who have worked through some lessons and sat the
# certification exam: their attempts give the item statistics page real numbers.
EXAM_CANDIDATES = 36
FIRST_NAMES = ["Alex", "Sam", "Jordan", "Maria", "Chen", "Fatima", "Noah", "Ines", "Yuki",
               "Omar", "Lena", "Marco", "Aisha", "Pavel", "Zoe", "Tariq", "Elena", "Jonas"]
LAST_NAMES = ["Novak", "Silva", "Park", "Laurent", "Okoye", "Berg", "Moreau", "Ito", "Kowalski",
              "Reyes", "Fischer", "Nakamura", "Costa", "Jensen", "Abadi", "Walsh"]
CANDIDATE_LESSONS = (8, 18)  # each candidate completes between these many lessons
EXAM = "technical-associate-exam"

# The demo's history ends before the real now. People join early enough for the work they
# will do: a lesson every LESSON_GAP, and at most exams.MAX_TRIES attempts per knowledge
# check or exam, each (with the wait after a failure) within exams.attempt_gap().
LESSON_GAP = timedelta(hours=19)
SLACK = timedelta(days=3)
VENDOR_SINCE = timedelta(days=1000)


def load_demo() -> int:
    """Create what is missing; return how many accounts were created.

    Every date it writes lies in the past: the clock runs from each person's (backdated)
    joining day, and each joining day leaves room for all the work that follows it.
    """
    created = 0
    rng = random.Random(2026)  # the same demo every time
    plan = _Plan(now=clock.now(), checks=_knowledge_check_count(), gap=exams.attempt_gap())
    password_hash = hash_password(DEMO_PASSWORD)  # one slow hash, shared by the demo accounts
    with clock.frozen(plan.now - VENDOR_SINCE):  # the vendor's team predates every partner
        for email, name, role in VENDOR_STAFF:
            if accounts.get_user_by_email(email) is None:
                user = accounts.create_user(email=email, full_name=name, role=role)
                user.password_hash = password_hash
                created += 1
    admin = accounts.get_user_by_email(VENDOR_STAFF[0][0])
    # The partners sign up (and start their onboarding journeys) before anyone joins them,
    # and the people certified years ago come first, so journeys complete in date order.
    organisations = journeys.create_partners(PARTNERS)
    created += journeys.load_first_staff(password_hash)
    created += certificates.load_histories(password_hash, random.Random(2024), admin)
    journeys.onboard_veterans([email for email, *_ in certificates.HISTORIES])
    created += journeys.load_first_staff(password_hash, journeys.LATER_STAFF)
    for org_name, _type, _tier, _region, staff in PARTNERS:
        organisation = organisations[org_name]
        for email, name, role, job_role, lessons_done in staff:
            if accounts.get_user_by_email(email) is not None:
                continue
            takes_exam = email in ("tom.hughes@northwind.example", "kenji.tanaka@harbor.example")
            # Backdate: people joined weeks ago and worked a lesson or so a day since.
            extra = timedelta(days=rng.randint(0, 10))
            with clock.frozen(plan.joined(lessons_done, takes_exam) - extra):
                user = accounts.create_user(email=email, full_name=name, role=role,
                                            organisation_id=organisation.id, job_role=job_role)
                user.password_hash = password_hash
                created += 1
                _complete_lessons(user, lessons_done, rng)
                if takes_exam:
                    exams.take_until_passed(user, EXAM, rng.gauss(0.4, 0.6), rng)
                plan.check_in_the_past()
    created += _exam_candidates(password_hash, rng, plan)
    created += journeys.load_journeys(password_hash, admin)
    journey_medians.recompute()  # as the periodic job would: the overview shows them at once
    scorecard.load_metrics(plan.now)  # a year of the partners' commercial numbers
    return created


def _knowledge_check_count() -> int:
    """How many knowledge checks the live tracks hold (each may take several attempts)."""
    return db.session.scalar(
        select(func.count(Lesson.assessment_slug.distinct()))
        .join(Track, Track.current_version_id == Lesson.track_version_id)
        .where(Track.archived_at.is_(None), Lesson.assessment_slug.is_not(None))) or 0


@dataclass
class _Plan:
    now: datetime  # the real now: the demo's history ends before it
    checks: int  # knowledge checks in the live tracks
    gap: timedelta  # the longest one attempt takes, with the wait after a failure

    def joined(self, lessons: int, takes_exam: bool) -> datetime:
        """A joining day early enough that `lessons` lessons, the knowledge checks among
        them and an exam, each with its retakes, all end before now."""
        attempts = exams.MAX_TRIES * (min(lessons, self.checks) + int(takes_exam))
        return self.now - (lessons * LESSON_GAP + attempts * self.gap + SLACK)

    def check_in_the_past(self) -> None:
        if clock.now() > self.now:  # a demo that dated work in the future would be a bug
            raise RuntimeError(f"demo history ran past now ({clock.now():%Y-%m-%d %H:%M})")


def candidate_names() -> list[tuple[str, str]]:
    """EXAM_CANDIDATES distinct (first, last) names, mixed so neighbours differ."""
    pairs = list(itertools.product(FIRST_NAMES, LAST_NAMES))
    random.Random(36).shuffle(pairs)
    return pairs[:EXAM_CANDIDATES]


def _exam_candidates(password_hash: str, rng: random.Random, plan: _Plan) -> int:
    # Not Northwind: its Gold standing rests on two Technical Associates about to expire
    # (certificates.HISTORIES), which a dozen freshly certified candidates would hide.
    organisations = db.session.scalars(select(Organisation).where(
        Organisation.name_key.in_([p[0].lower() for p in PARTNERS[1:]]))
        .order_by(Organisation.id)).all()
    created = 0
    for index, (first, last) in enumerate(candidate_names()):
        organisation = organisations[index % len(organisations)]
        domain = organisation.name.split()[0].lower()
        email = f"{first}.{last}@{domain}.example".lower()
        if db.session.scalar(select(User.id).where(User.email == email)) is not None:
            continue
        lessons_done = rng.randint(*CANDIDATE_LESSONS)
        extra = timedelta(days=rng.randint(0, 30), hours=rng.randint(0, 23))
        with clock.frozen(plan.joined(lessons_done, takes_exam=True) - extra):
            user = accounts.create_user(email=email, full_name=f"{first} {last}", role="learner",
                                        organisation_id=organisation.id,
                                        job_role=rng.choice(["technical", "technical", "presales"]))
            user.password_hash = password_hash
            created += 1
            _complete_lessons(user, lessons_done, rng)
            exams.take_until_passed(user, EXAM, rng.gauss(0.2, 1.0), rng)
            plan.check_in_the_past()
    return created


def _complete_lessons(user, count: int, rng: random.Random) -> None:
    """Work through assigned tracks in order, a lesson every LESSON_GAP, as the person would
    have done; a knowledge check lesson completes by passing its check."""
    while count > 0:
        candidates = [t for t in learner_tracks(user.id)
                      if t.status in ("in_progress", "not_started") and t.next_lesson_slug]
        if not candidates:
            return
        current = candidates[0]
        done = set(db.session.scalars(select(LessonCompletion.lesson_id).where(
            LessonCompletion.user_id == user.id)))
        lessons = db.session.execute(
            select(Lesson.id, Lesson.slug, Lesson.assessment_slug)
            .join(Track, Track.current_version_id == Lesson.track_version_id)
            .where(Track.slug == current.slug).order_by(Lesson.position)).all()
        for lesson_id, slug, check in lessons:
            if lesson_id in done:
                continue
            clock.advance(LESSON_GAP)
            count -= 1
            if check:
                if not exams.take_until_passed(user, check, rng.gauss(0.8, 0.5), rng):
                    return  # stuck at the knowledge check: no more retakes than planned for
            else:
                catalog.complete_lesson(user=user, track_slug=current.slug, lesson_slug=slug)
            if count == 0:
                return
