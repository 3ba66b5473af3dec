"""Helpers for the assessment tests: right and wrong answers from an item's key, page text."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from lms.assessments.models import Assessment, AssessmentItem, AssessmentVersion, Attempt
from lms.core.markdown import render
from lms.extensions import db

EXAM = "technical-associate-exam"  # draws 20 of 40, 30 min, 3 attempts, 24 h, after_passing
CHECK = "partner-program-check"  # 15 fixed items of all seven types, after_submission
POOLS = ("architecture", "deployment", "integrations", "troubleshooting")
JSON = {"Accept": "application/json"}


def current_version(slug: str) -> AssessmentVersion:
    return db.session.scalar(select(AssessmentVersion).join(
        Assessment, Assessment.current_version_id == AssessmentVersion.id)
        .where(Assessment.slug == slug))


def bank_items(slug: str) -> list[AssessmentItem]:
    """Every item published in the current version of an assessment (all pools)."""
    return list(db.session.scalars(select(AssessmentItem).where(
        AssessmentItem.assessment_version_id == current_version(slug).id)
        .order_by(AssessmentItem.position)))


def attempt_by_public_id(public_id: str) -> Attempt:
    return db.session.scalar(select(Attempt).where(Attempt.public_id == public_id))


def correct_form(item: AssessmentItem) -> dict[str, list[str]]:
    """The form fields that answer `item` fully right."""
    d = item.definition
    match item.item_type:
        case "single_choice":
            return {"choice": [o["id"] for o in d["options"] if o["correct"]]}
        case "multiple_response":
            return {"choices": [o["id"] for o in d["options"] if o["correct"]]}
        case "true_false":
            return {"choice": ["true" if d["answer"] else "false"]}
        case "numeric":
            return {"value": [repr(float(d["answer"]))]}
        case "short_text":
            return {"text": [d["accepted"][0]]}
        case "ordering":
            return {f"pos-{e['id']}": [str(i)] for i, e in enumerate(d["entries"], 1)}
        case "matching":
            return {f"match-{p['left_id']}": [p["right_id"]] for p in d["pairs"]}
    raise AssertionError(item.item_type)


def wrong_form(item: AssessmentItem) -> dict[str, list[str]]:
    """Form fields that are a valid answer to `item` but earn nothing, even with partial credit."""
    d = item.definition
    match item.item_type:
        case "single_choice":
            return {"choice": [next(o["id"] for o in d["options"] if not o["correct"])]}
        case "multiple_response":
            return {"choices": [next(o["id"] for o in d["options"] if not o["correct"])]}
        case "true_false":
            return {"choice": ["false" if d["answer"] else "true"]}
        case "numeric":
            return {"value": [repr(float(d["answer"] + d["tolerance"] + 1000))]}
        case "short_text":
            return {"text": ["certainly not the answer"]}
        case "ordering":  # rotated by one: no entry in its place
            n = len(d["entries"])
            return {f"pos-{e['id']}": [str((i + 1) % n + 1)] for i, e in enumerate(d["entries"])}
        case "matching":  # rotated by one: no pair right
            rights = [p["right_id"] for p in d["pairs"]]
            return {f"match-{p['left_id']}": [rights[(i + 1) % len(rights)]]
                    for i, p in enumerate(d["pairs"])}
    raise AssertionError(item.item_type)


def plain(markup: str) -> str:
    """What a reader sees of some HTML: no tags, entities decoded, spacing collapsed."""
    text = re.sub(r"<[^>]+>", " ", markup)
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def markdown_plain(source: str) -> str:
    """The visible text of author Markdown as a page would render it."""
    return plain(str(render(source)))


def ready_for_the_check(user) -> None:
    """Complete the onboarding lessons before its knowledge check, which opens the check."""
    from lms.catalog.progress import get_live_track, track_outline
    from lms.catalog.service import complete_lesson

    track = get_live_track("partner-onboarding-essentials")
    for state in track_outline(user, track).lessons:
        if state.lesson.assessment_slug:
            return
        complete_lesson(user=user, track_slug=track.slug, lesson_slug=state.lesson.slug)
