"""The `lms` console script: Flask's CLI with the app factory, plus each domain's commands."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup


def _create_app(*_args, **_kwargs) -> Flask:
    from lms import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """Partner enablement LMS."""


def register_commands(app: Flask) -> None:
    from lms.accounts.cli import users
    from lms.content import content_command
    from lms.core.tallies import tallies_command
    from lms.demo import demo_command
    from lms.schedule import tick_command

    app.cli.add_command(content_command)
    app.cli.add_command(users)
    app.cli.add_command(demo_command)
    app.cli.add_command(tick_command)
    app.cli.add_command(tallies_command)
