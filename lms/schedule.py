"""Periodic work, listed in one place. `lms tick` runs it (from cron, every minute or so).

Every job takes no arguments, is idempotent, and returns how many things it changed.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from lms.assessments.service import finalise_expired
from lms.core import mail
from lms.core.jobs import commit

PERIODIC_JOBS = [
    ("finalise attempts whose time ran out", finalise_expired),
    ("deliver queued mail", mail.deliver_pending),
]


def run_periodic_jobs() -> list[tuple[str, int]]:
    results = []
    for name, job in PERIODIC_JOBS:
        results.append((name, job()))
        commit()  # each job's work stands on its own
    return results


@click.command("tick")
@with_appcontext
def tick_command() -> None:
    """Run the periodic jobs once (schedule it with cron)."""
    for name, changed in run_periodic_jobs():
        click.echo(f"{name}: {changed}")
