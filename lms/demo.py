"""`lms demo`: demo partners, people and progress. Idempotent; refuses in production."""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from lms.accounts import service as accounts
from lms.accounts.models import Organisation
from lms.catalog import service as catalog
from lms.catalog.progress import learner_tracks
from lms.core import clock
from lms.core.jobs import commit
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


def load_demo() -> int:
    """Create what is missing; return how many accounts were created."""
    created = 0
    for email, name, role in VENDOR_STAFF:
        if accounts.get_user_by_email(email) is None:
            accounts.create_user(email=email, full_name=name, role=role, password=DEMO_PASSWORD)
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
                                            organisation_id=organisation.id, job_role=job_role,
                                            password=DEMO_PASSWORD)
                created += 1
                _complete_lessons(user, lessons_done)
    return created


def _complete_lessons(user, count: int) -> None:
    """Work through assigned tracks in order, as the person would have done."""
    for _ in range(count):
        candidates = [t for t in learner_tracks(user.id)
                      if t.status in ("in_progress", "not_started") and t.next_lesson_slug]
        if not candidates:
            return
        current = candidates[0]
        clock.advance(timedelta(hours=19))
        catalog.complete_lesson(user=user, track_slug=current.slug,
                                lesson_slug=current.next_lesson_slug)
