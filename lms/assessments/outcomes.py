"""What a finished attempt led to elsewhere, for its result page.

A passed exam may have earned a certificate, but assessments cannot know certificates
(they sit above). The result page asks `events.attempt_outcomes`; each receiver answers a
list of Outcome: a partial template of its own domain and the values it renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lms.assessments.models import Attempt
from lms.core import events


@dataclass(frozen=True)
class Outcome:
    template: str
    context: dict = field(default_factory=dict)


def outcomes(attempt: Attempt) -> list[Outcome]:
    """Every outcome the higher domains report for this attempt, in receiver order."""
    return [outcome for _, answers in events.attempt_outcomes.send(attempt.user_id,
                                                                   attempt=attempt)
            for outcome in answers or ()]
