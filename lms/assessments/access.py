"""Who may start an assessment, as far as higher domains have a say.

Assessments cannot know that an exam renews a certificate (certifications sit above them),
so they ask: `events.assessment_access` is sent for a person and a list of assessments, and
each receiver answers with a Refusal for those it objects to. The first refusal wins.
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


def refusals(user_id: int, assessment_slugs) -> dict[str, Refusal]:
    """For each of the assessments some higher domain objects to, its first objection to
    this person starting it (one question for the whole list)."""
    found: dict[str, Refusal] = {}
    for _, answers in events.assessment_access.send(user_id,
                                                    assessment_slugs=list(assessment_slugs)):
        for slug, answer in (answers or {}).items():
            if answer is not None:
                found.setdefault(slug, answer)
    return found


def refusal(user_id: int, assessment_slug: str) -> Refusal | None:
    """The first objection of any higher domain to this person starting this assessment."""
    return refusals(user_id, [assessment_slug]).get(assessment_slug)
