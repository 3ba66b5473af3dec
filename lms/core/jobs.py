"""Background work and the one commit per unit of work.

Jobs are queued on the session and run only after `commit()` succeeds, so a rolled-back
action never mails anyone. In the embedded default they run inline right after the
commit. With `LMS_CELERY_BROKER_URL` set they are sent to Celery instead, by name
("module:qualname") with JSON arguments, and a worker (`lms.core.worker`) runs them; so
jobs take IDs (never objects), are idempotent, and live at module level in the `lms` package.
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from lms.extensions import db

if TYPE_CHECKING:
    from celery import Celery

_QUEUE = "lms_after_commit_jobs"

RUN_JOB = "lms.run_job"  # the one Celery task: every job travels through it by name
DEFAULT_QUEUE = "lms"  # the Celery queue when LMS_CELERY_QUEUE names none
# A message names the function the worker will call, so only the project's own code is
# callable that way: whoever can write to the broker must not be able to run os:system.
JOB_PACKAGE = "lms"


def enqueue(job: Callable[..., object], *args, **kwargs) -> None:
    """Run `job(*args, **kwargs)` once the current unit of work has committed."""
    if broker_url():
        check_sendable(job, args, kwargs)  # fail where the job is queued, not in the worker
    session = db.session()
    if not session.in_transaction():
        # Without a transaction a rollback is a no-op that fires no event, and the job
        # would run at the next commit. Beginning one here opens no connection.
        session.begin()
    queue = session.info.setdefault(_QUEUE, [])
    if (job, args, kwargs) not in queue:  # one mail delivery per commit is enough
        queue.append((job, args, kwargs))


# Inline, jobs may queue further jobs (a recompute queues webhook deliveries); commit()
# runs those too, round after round, but stops after this many rounds so that a job that
# queues itself cannot spin forever. What is left then is dropped with a warning (the
# periodic jobs catch up on anything that matters).
MAX_ROUNDS = 10


def commit() -> None:
    """Commit the unit of work, then run (or send to the worker) the jobs it queued, and
    inline, the jobs those queued in turn."""
    db.session.commit()
    for _ in range(MAX_ROUNDS):
        queue = db.session.info.pop(_QUEUE, [])
        if not queue:
            return
        if broker_url():
            for job, args, kwargs in queue:
                _send_committed(job, args, kwargs)
            return
        for job, args, kwargs in queue:
            job(*args, **kwargs)
            db.session.commit()
    left = db.session.info.pop(_QUEUE, [])
    if left:
        current_app.logger.warning("jobs still queued after %d rounds, dropped: %s", MAX_ROUNDS,
                                   ", ".join(sorted({job.__qualname__ for job, _, _ in left})))


@event.listens_for(Session, "after_soft_rollback")
def _forget_jobs(session, previous_transaction):
    if previous_transaction.parent is None:  # the outermost transaction, not a savepoint
        session.info.pop(_QUEUE, None)


# --- Celery ------------------------------------------------------------------------------


def broker_url() -> str | None:
    """The Celery broker of the current app, or None when jobs run inline."""
    return current_app.config.get("CELERY_BROKER_URL") or None


def queue_name() -> str:
    """The Celery queue the current app sends jobs to (LMS_CELERY_QUEUE)."""
    return current_app.config.get("CELERY_QUEUE") or DEFAULT_QUEUE


def send(job: Callable[..., object], *args, **kwargs) -> None:
    """Send `job(*args, **kwargs)` to the worker now, outside any unit of work.

    For work that waits on no commit (`lms tick`). Raises if the broker cannot be reached.
    """
    url = broker_url()
    if not url:
        raise RuntimeError("No Celery broker is configured (LMS_CELERY_BROKER_URL).")
    check_sendable(job, args, kwargs)
    _publish(url, job_path(job), list(args), kwargs)


def job_path(job: Callable[..., object]) -> str:
    """The "module:qualname" a worker imports `job` by; ValueError if it cannot."""
    module = getattr(job, "__module__", None)
    qualname = getattr(job, "__qualname__", None)
    if not module or not qualname or "<" in qualname:  # <lambda>, <locals>
        raise ValueError(f"{job!r} is not a module-level function, so a worker cannot import "
                         "it by name; jobs sent to Celery must be defined at module level.")
    path = f"{module}:{qualname}"
    try:
        found = resolve(path)
    except (ImportError, AttributeError, ValueError) as error:
        raise ValueError(f"Job {path} cannot be sent to Celery: {error}") from error
    if found is not job:  # e.g. a bound method, or a name rebound since
        raise ValueError(f"Job {path} does not import back as {job!r}; pass a module-level "
                         "function.")
    return path


def resolve(path: str) -> Callable[..., object]:
    """Import the job named "module:qualname"; only functions in the `lms` package."""
    module_name, _, qualname = path.partition(":")
    if not qualname or not (module_name == JOB_PACKAGE
                            or module_name.startswith(f"{JOB_PACKAGE}.")):
        raise ValueError(f"{path!r} is not a job: jobs are 'module:function' in the "
                         f"{JOB_PACKAGE} package.")
    target: object = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"{path!r} is not callable.")
    return target


def check_sendable(job: Callable[..., object], args: tuple, kwargs: dict) -> None:
    """ValueError unless `job` imports by name and its arguments are plain JSON."""
    path = job_path(job)
    try:
        json.dumps([args, kwargs])
    except (TypeError, ValueError) as error:
        raise ValueError(f"Arguments of {path} must be plain JSON values (pass IDs, not "
                         f"objects): {error}") from error


def run(path: str, args: list, kwargs: dict) -> object:
    """Run a job received by name (in the worker, inside an app context), then commit.

    Committing through `commit()` sends on any job this one queued.
    """
    result = resolve(path)(*args, **kwargs)
    commit()
    return result


def make_celery(url: str, queue: str = DEFAULT_QUEUE) -> Celery:
    """A Celery app on `url` speaking JSON, its worker reading `queue`; the worker adds the
    task, the web only sends."""
    from celery import Celery  # imported here so the inline default never loads Celery

    app = Celery("lms", broker=url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=queue,
        task_ignore_result=True,
        # Jobs are idempotent, so a job whose worker died mid-way is safer run twice than lost.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        broker_connection_retry_on_startup=True,
    )
    return app


@functools.cache
def _sender(url: str) -> Celery:
    return make_celery(url)  # one per process: it keeps the broker connection pool


def _publish(url: str, path: str, args: list, kwargs: dict) -> None:
    _sender(url).send_task(RUN_JOB, args=[path, args, kwargs], queue=queue_name())


def _send_committed(job: Callable[..., object], args: tuple, kwargs: dict) -> None:
    from kombu.exceptions import KombuError

    path = job_path(job)
    try:
        _publish(broker_url(), path, list(args), kwargs)
    except (KombuError, OSError):
        # The unit of work has committed; failing now would report an error for work that
        # stood. Periodic jobs (mail delivery) catch up on the next tick.
        current_app.logger.exception("Could not send job %s to the Celery broker", path)
