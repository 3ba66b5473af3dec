"""The scorecard listens: a partner's stored scorecard follows its readiness.

Readiness is recomputed whenever what feeds it changes (track completions, certificates,
staff, onboarding milestones), and those are what the scorecard's readiness metric,
checkpoints and flags read too. Recomputing the same partners' scorecards then keeps the
stored scorecards (which the pages read) as current as scoring on every view was. A
recompute of everyone is left to the scorecard's own periodic job, which runs right after.

A partner created, deactivated or reactivated changes the tiles at once (a new partner is
"not scored yet", a deactivated one drops out): their summary is recounted in the same
transaction.
"""

from lms.core import events, jobs
from lms.scorecard import current, service


def _readiness_recomputed(_sender, organisation_ids=None, **_) -> None:
    if organisation_ids is not None:
        ids = sorted(set(organisation_ids))
        if ids:
            jobs.enqueue(service.recompute_partners, ids)


def _organisation_changed(_organisation_id, fields=frozenset(), **_) -> None:
    if {"created", "status"} & set(fields):
        current.summarise()


def connect() -> None:
    """Idempotent: blinker keeps one registration per receiver."""
    events.readiness_recomputed.connect(_readiness_recomputed)
    events.organisation_changed.connect(_organisation_changed)
