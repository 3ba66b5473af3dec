"""`lms users ...`: account management from the shell."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from lms.accounts import service
from lms.accounts.models import ROLES, Organisation, User
from lms.core import jobs
from lms.core.errors import DomainError
from lms.extensions import db


@click.group()
def users() -> None:
    """Create people, set passwords, list accounts."""


def _fail(error: DomainError) -> None:
    field = f"{error.field}: " if error.field else ""
    click.secho(f"error: {field}{error.message}", fg="red", err=True)
    sys.exit(1)


@users.command("create")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--organisation", help="Organisation name (partner staff only).")
@click.option("--job-role", help="sales, presales, technical or support.")
@click.password_option()
def create_command(email, full_name, role, organisation, job_role, password) -> None:
    """Create an account with a password."""
    organisation_id = None
    if organisation:
        organisation_id = db.session.scalar(
            select(Organisation.id).where(Organisation.name_key == organisation.lower()))
        if organisation_id is None:
            click.secho(f"error: organisation: no organisation called '{organisation}'",
                        fg="red", err=True)
            sys.exit(1)
    try:
        user = service.create_user(email=email, full_name=full_name, role=role,
                                   organisation_id=organisation_id, job_role=job_role,
                                   password=password)
    except DomainError as error:
        _fail(error)
    jobs.commit()
    click.echo(f"created {user.email} ({user.role_label})")


@users.command("set-password")
@click.argument("email")
@click.password_option()
def set_password_command(email, password) -> None:
    """Set a person's password."""
    user = service.get_user_by_email(email)
    if user is None:
        click.secho(f"error: email: no account for {email}", fg="red", err=True)
        sys.exit(1)
    try:
        service.set_password(user.id, password)
    except DomainError as error:
        _fail(error)
    jobs.commit()
    click.echo(f"password set for {user.email}")


@users.command("list")
def list_command() -> None:
    """List every account with its role and organisation."""
    rows = db.session.execute(
        select(User.email, User.role, User.active, Organisation.name)
        .outerjoin(Organisation, Organisation.id == User.organisation_id).order_by(User.email))
    for email, role, active, organisation in rows:
        status = "" if active else "  (deactivated)"
        click.echo(f"{email:40} {role:16} {organisation or '-'}{status}")
