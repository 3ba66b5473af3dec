"""Background work and the one commit per unit of work.

Jobs are queued on the session and run only after `commit()` succeeds, so a rolled-back
action never mails anyone. In the embedded default they run inline right after the
commit; they take IDs (never objects) and are idempotent, so they can move to a worker.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from lms.extensions import db

_QUEUE = "lms_after_commit_jobs"


def enqueue(job: Callable[..., object], *args, **kwargs) -> None:
    """Run `job(*args, **kwargs)` once the current unit of work has committed."""
    queue = db.session.info.setdefault(_QUEUE, [])
    if (job, args, kwargs) not in queue:  # one mail delivery per commit is enough
        queue.append((job, args, kwargs))


def commit() -> None:
    """Commit the unit of work, then run the jobs it queued (each committing its own work)."""
    db.session.commit()
    queue = db.session.info.pop(_QUEUE, [])
    for job, args, kwargs in queue:
        job(*args, **kwargs)
        db.session.commit()


@event.listens_for(Session, "after_soft_rollback")
def _forget_jobs(session, previous_transaction):
    if previous_transaction.parent is None:  # the outermost transaction, not a savepoint
        session.info.pop(_QUEUE, None)
