"""`lms demo`: demo partners, people, progress and exam attempts. Idempotent; refuses in
production."""

from __future__ import annotations

import random
import sys
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from lms.accounts import service as accounts
from lms.accounts.models import Organisation, User
from lms.accounts.passwords import hash_password
from lms.catalog import service as catalog
from lms.catalog.models import Lesson, Track
from lms.catalog.progress import learner_tracks
from lms.core import clock
from lms.core.jobs import commit
from lms.demo import exams
from lms.extensions import db

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


# More technical staff per partner, who have sat the certification exam: their attempts
# give the item statistics page real numbers. (first names, last names, partner index)
EXAM_CANDIDATES = 36
FIRST_NAMES = ["Alex", "Sam", "Jordan", "Maria", "Chen", "Fatima", "Noah", "Ines", "Yuki",
               "Omar", "Lena", "Marco", "Aisha", "Pavel", "Zoe", "Tariq", "Elena", "Jonas"]
LAST_NAMES = ["Novak", "Silva", "Park", "Laurent", "Okoye", "Berg", "Moreau", "Ito", "Kowalski",
              "Reyes", "Fischer", "Nakamura", "Costa", "Jensen", "Abadi", "Walsh"]
EXAM = "technical-associate-exam"


def load_demo() -> int:
    """Create what is missing; return how many accounts were created."""
    created = 0
    rng = random.Random(2026)  # the same demo every time
    password_hash = hash_password(DEMO_PASSWORD)  # one slow hash, shared by the demo accounts
    for email, name, role in VENDOR_STAFF:
        if accounts.get_user_by_email(email) is None:
            user = accounts.create_user(email=email, full_name=name, role=role)
            user.password_hash = password_hash
            created += 1
    for org_name, partner_type, tier, region, staff in PARTNERS:
        organisation = db.session.scalar(
            select(Organisation).where(Organisation.name_key == org_name.lower()))
        if organisation is None:
            organisation = accounts.create_organisation(
                name=org_name, partner_type=partner_type, tier=tier, region=region)
        for email, name, role, job_role, lessons_done in staff:
            if accounts.get_user_by_email(email) is not None:
                continue
            # Backdate: people joined weeks ago and worked a lesson or two a day since.
            joined = clock.now() - timedelta(days=28 - 3 * created % 20)
            with clock.frozen(joined):
                user = accounts.create_user(email=email, full_name=name, role=role,
                                            organisation_id=organisation.id, job_role=job_role)
                user.password_hash = password_hash
                created += 1
                _complete_lessons(user, lessons_done, rng)
                if email in ("tom.hughes@northwind.example", "kenji.tanaka@harbor.example"):
                    exams.take_until_passed(user, EXAM, rng.gauss(0.4, 0.6), rng)
    created += _exam_candidates(password_hash, rng)
    return created


def _exam_candidates(password_hash: str, rng: random.Random) -> int:
    organisations = db.session.scalars(select(Organisation).where(
        Organisation.name_key.in_([p[0].lower() for p in PARTNERS])).order_by(Organisation.id)
    ).all()
    created = 0
    for index in range(EXAM_CANDIDATES):
        first, last = FIRST_NAMES[index % len(FIRST_NAMES)], LAST_NAMES[index % len(LAST_NAMES)]
        organisation = organisations[index % len(organisations)]
        domain = organisation.name.split()[0].lower()
        email = f"{first}.{last}{index}@{domain}.example".lower()
        if db.session.scalar(select(User.id).where(User.email == email)) is not None:
            continue
        with clock.frozen(clock.now() - timedelta(days=rng.randint(20, 80))):
            user = accounts.create_user(email=email, full_name=f"{first} {last}", role="learner",
                                        organisation_id=organisation.id,
                                        job_role=rng.choice(["technical", "technical", "presales"]))
            user.password_hash = password_hash
            created += 1
            exams.take_until_passed(user, EXAM, rng.gauss(0.2, 1.0), rng)
    return created


def _complete_lessons(user, count: int, rng: random.Random) -> None:
    """Work through assigned tracks in order, as the person would have done."""
    for _ in range(count):
        candidates = [t for t in learner_tracks(user.id)
                      if t.status in ("in_progress", "not_started") and t.next_lesson_slug]
        if not candidates:
            return
        current = candidates[0]
        clock.advance(timedelta(hours=19))
        check = db.session.scalar(
            select(Lesson.assessment_slug).join(Track, Track.current_version_id ==
                                                Lesson.track_version_id)
            .where(Track.slug == current.slug, Lesson.slug == current.next_lesson_slug))
        if check:
            exams.take_until_passed(user, check, rng.gauss(0.8, 0.5), rng)
        else:
            catalog.complete_lesson(user=user, track_slug=current.slug,
                                    lesson_slug=current.next_lesson_slug)
