"""`lms recount ...`: rebuild the summaries that writes keep, from the rows they summarise.

The writes keep them exact in their own transactions; a recount is for data that arrived
another way (a bulk load such as benchmarks/dataset.py, a restored backup) or to check.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from lms.core import mail
from lms.core.jobs import commit
from lms.scorecard import current, periods


@click.group("recount")
def recount_command() -> None:
    """Rebuild summaries kept by the writes."""


@recount_command.command("outbox")
@with_appcontext
def outbox() -> None:
    """The outbox's messages per kind and status."""
    mail.recount()
    commit()
    click.echo("Recounted the outbox.")


@recount_command.command("scorecard")
@with_appcontext
def scorecard() -> None:
    """The scorecard tiles' summary, and per closed period its partners per health and
    those it shares with earlier periods."""
    current.summarise()
    periods.recount()
    commit()
    click.echo("Recounted the scorecard summaries.")
