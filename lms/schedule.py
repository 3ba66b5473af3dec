"""Periodic work, listed in one place. `lms tick` runs it (from cron, every minute or so);
with a Celery broker it queues it instead, and `celery -A lms.core.worker beat` can replace cron.

Every job takes no arguments, is idempotent, and returns how many things it changed.
"""

from __future__ import annotations

from collections.abc import Iterator

import click
from flask.cli import with_appcontext

from lms.accounts import sessions
from lms.assessments.service import finalise_expired
from lms.certifications import service as certifications
from lms.certifications.reminders import send_due_reminders, send_weekly_digests
from lms.core import jobs, mail
from lms.core.jobs import commit
from lms.journeys import medians as journey_medians
from lms.journeys import nudges
from lms.readiness import service as readiness
from lms.scorecard import service as scorecard
from lms.scorecard import webhooks as scorecard_webhooks

PERIODIC_JOBS = [
    ("finalise attempts whose time ran out", finalise_expired),
    ("issue certificates the events missed", certifications.award_due_everyone),
    ("send certificate reminders", send_due_reminders),
    ("send weekly expiry digests", send_weekly_digests),
    ("complete and nudge onboarding journeys", nudges.sweep),
    ("take the onboarding medians again", journey_medians.recompute_due),
    ("recompute partner readiness", readiness.recompute_due),
    # After readiness: a recomputed readiness can change a partner's health or flags.
    ("recompute partner scorecards", scorecard.recompute_due),
    ("deliver scorecard webhooks", scorecard_webhooks.deliver_due),
    ("deliver queued mail", mail.deliver_pending),
    ("forget sessions that timed out", sessions.prune_expired),
]

EVERY_SECONDS = 60.0


def run_periodic_jobs() -> list[tuple[str, int]]:
    results = []
    for name, job in PERIODIC_JOBS:
        results.append((name, job()))
        commit()  # each job's work stands on its own
    return results


def queue_periodic_jobs() -> Iterator[str]:
    """Send each periodic job to the Celery worker, yielding its name once it is queued."""
    for name, job in PERIODIC_JOBS:
        jobs.send(job)
        yield name


def beat_schedule(queue: str = jobs.DEFAULT_QUEUE) -> dict[str, dict]:
    """The periodic jobs as a Celery beat schedule on `queue` (read by lms.core.worker)."""
    return {
        name: {
            "task": jobs.RUN_JOB,
            "schedule": EVERY_SECONDS,
            "args": (jobs.job_path(job), [], {}),
            # A tick nobody ran within its minute is replaced by the next one: a stopped
            # worker must not come back to a pile of identical ticks.
            "options": {"queue": queue, "expires": EVERY_SECONDS},
        }
        for name, job in PERIODIC_JOBS
    }


@click.command("tick")
@click.option("--inline", is_flag=True,
              help="Run the jobs in this process even when a Celery broker is configured.")
@with_appcontext
def tick_command(inline: bool) -> None:
    """Run the periodic jobs once, or queue them for the worker (schedule it with cron)."""
    if jobs.broker_url() and not inline:
        for name in queue_periodic_jobs():
            click.echo(f"queued: {name}")
        return
    for name, changed in run_periodic_jobs():
        click.echo(f"{name}: {changed}")
