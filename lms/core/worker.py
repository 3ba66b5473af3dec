"""The Celery app: `celery -A lms.core.worker worker` runs queued jobs, `... beat` the periodic.

It knows no domain. Jobs arrive as "module:qualname" plus JSON arguments (see
`lms.core.jobs`) and run inside an app context from `lms.create_app()`; the periodic list
stays in `lms.schedule`, read by name so core does not import the domains above it.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path

from flask import Flask

from lms.config import load_config
from lms.core import jobs

_config = load_config()
if not _config["CELERY_BROKER_URL"]:
    raise RuntimeError("LMS_CELERY_BROKER_URL is not set (e.g. redis://127.0.0.1:6379/0): "
                       "a Celery worker or beat needs a broker. Without one, jobs run inline "
                       "and cron runs `lms tick`.")

celery = jobs.make_celery(_config["CELERY_BROKER_URL"], _config["CELERY_QUEUE"])
celery.conf.beat_schedule = importlib.import_module("lms.schedule").beat_schedule(
    _config["CELERY_QUEUE"])
# Beat remembers last run times in a file; keep it with the app's other state, not in cwd.
celery.conf.beat_schedule_filename = str(Path(_config["INSTANCE_PATH"]) / "celerybeat-schedule")


@functools.cache
def flask_app() -> Flask:
    # Built on first use, so each prefork child gets its own engine and connections.
    return importlib.import_module("lms").create_app()


@celery.task(name=jobs.RUN_JOB)
def run_job(path: str, args: list, kwargs: dict) -> object:
    """Run one job by name in a fresh app context and commit its work."""
    with flask_app().app_context():
        return jobs.run(path, args, kwargs)
