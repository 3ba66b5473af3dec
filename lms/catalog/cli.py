"""`lms content check|sync [PATH]`."""

from __future__ import annotations

import sys

import click
from flask import current_app

from lms.catalog import loader, service
from lms.core import jobs


@click.group()
def content() -> None:
    """Validate and apply the enablement content in content/."""


def _path(path: str | None) -> str:
    return path or current_app.config["CONTENT_PATH"]


def _report_problems(error: loader.ContentError) -> None:
    for problem in error.problems:
        click.echo(str(problem), err=True)
    click.secho(f"{len(error.problems)} problem(s); nothing was changed.", fg="red", err=True)


@content.command("check")
@click.argument("path", required=False)
def check_command(path: str | None) -> None:
    """Validate content without touching the database."""
    try:
        program = service.check_content(_path(path))
    except loader.ContentError as error:
        _report_problems(error)
        sys.exit(1)
    lessons = sum(len(c.lessons) for t in program.tracks for c in t.courses)
    click.secho(f"OK: {len(program.tracks)} tracks, {lessons} lessons.", fg="green")


@content.command("sync")
@click.argument("path", required=False)
def sync_command(path: str | None) -> None:
    """Apply content in one transaction: publish new versions, archive what was removed."""
    try:
        report = service.sync_content(_path(path))
    except loader.ContentError as error:
        _report_problems(error)
        sys.exit(1)
    jobs.commit()
    for line in report.lines():
        click.echo(line)
