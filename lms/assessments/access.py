"""Who may start an assessment, as far as higher domains have a say.

Assessments cannot know that an exam renews a certificate (certifications sit above them),
so they ask: `events.assessment_access` is sent for a person and an assessment, and each
receiver answers None (no objection) or a Refusal saying why. The first refusal wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from lms.core import events


@dataclass(frozen=True)
class Refusal:
    """Why a person may not start an assessment, and whether to list it to them at all."""

    reason: str
    # False for people the assessment is not meant for (a renewal exam for someone who
    # never held the certificate): it is left out of their list and nothing links to it.
    listed: bool = True


def refusal(user_id: int, assessment_slug: str) -> Refusal | None:
    """The first objection of any higher domain to this person starting this assessment."""
    for _, answer in events.assessment_access.send(user_id, assessment_slug=assessment_slug):
        if answer is not None:
            return answer
    return None
