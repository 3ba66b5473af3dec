"""Simulated exam takers for the demo: a realistic spread of attempts and scores.

Each person has an ability and each item a difficulty (a simple logistic model), so the
item statistics page shows the differences an author would see in real data.
"""

from __future__ import annotations

import hashlib
import math
import random
from datetime import timedelta

from sqlalchemy import func, select

from lms.accounts.models import User
from lms.assessments import service as assessments
from lms.assessments.items import item_type
from lms.assessments.models import (
    Assessment,
    AssessmentItem,
    AssessmentVersion,
    AttemptItem,
    Response,
)
from lms.core import clock
from lms.core.errors import Conflict
from lms.extensions import db


def item_difficulty(key: str) -> float:
    """A stable difficulty per item, from -1.5 (easy) to 1.5 (hard)."""
    return (int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF) * 3 - 1.5


def take(user: User, slug: str, ability: float, rng: random.Random) -> object:
    """Start (or resume) an attempt, answer every item as this person would, submit it.

    Answers are checked by the item types as the question page checks them, then stored
    together (one flush, not one per question: the demo writes thousands of them).
    """
    attempt = assessments.start_attempt(user, slug, rng=rng)
    rows = db.session.execute(
        select(AttemptItem, AssessmentItem)
        .join(AssessmentItem, AssessmentItem.id == AttemptItem.assessment_item_id)
        .where(AttemptItem.attempt_id == attempt.id).order_by(AttemptItem.position)).all()
    for attempt_item, item in rows:
        chance = 1 / (1 + math.exp(-1.7 * (ability - item_difficulty(item.item_key))))
        clock.advance(timedelta(seconds=rng.randint(20, 70)))
        if rng.random() < 0.03:
            continue  # skipped this one
        form = _answer(item.item_type, item.definition, attempt_item.option_order,
                       rng.random() < chance, rng)
        db.session.add(Response(attempt_item_id=attempt_item.id, saved_at=clock.now(),
                                answer=item_type(item.item_type).parse(item.definition, form)))
    db.session.flush()
    return assessments.submit(attempt)


# At most this many attempts per person and assessment in the demo. An attempt and the
# wait after a failure (the cooldown and WAIT_HOURS more) fit in attempt_gap(), so the demo
# can date people early enough that all their attempts end in the past.
MAX_TRIES = 3
WAIT_HOURS = (2, 20)


def attempt_gap() -> timedelta:
    """The longest one demo attempt takes, with the wait after it: 2 days for a 24 h cooldown."""
    longest_cooldown = db.session.scalar(
        select(func.max(AssessmentVersion.cooldown_hours))
        .join(Assessment, Assessment.current_version_id == AssessmentVersion.id)) or 0
    return max(timedelta(days=2), timedelta(hours=longest_cooldown + WAIT_HOURS[1] + 4))


def take_until_passed(user: User, slug: str, ability: float, rng: random.Random) -> bool:
    """Retake after each failure (waiting out any cooldown), a little better each time.

    At most MAX_TRIES attempts; returns whether the person passed.
    """
    for _ in range(MAX_TRIES):
        try:
            attempt = take(user, slug, ability, rng)
        except Conflict:
            return False  # no attempts left, or already passed
        if attempt.passed:
            return True
        ability += 0.5
        clock.advance(timedelta(hours=attempt.version.cooldown_hours + rng.randint(*WAIT_HOURS)))
    return False


def _answer(kind: str, definition: dict, order: list, right: bool, rng: random.Random) -> dict:
    """Form data that answers an item rightly or (plausibly) wrongly."""
    if kind == "single_choice":
        options = definition["options"]
        pick = [o for o in options if o["correct"] == right] or options
        return {"choice": [rng.choice(pick)["id"]]}
    if kind == "multiple_response":
        correct = [o["id"] for o in definition["options"] if o["correct"]]
        if right:
            return {"choices": correct}
        wrong = [o["id"] for o in definition["options"] if not o["correct"]]
        chosen = correct[:-1] + ([rng.choice(wrong)] if wrong else [])
        return {"choices": chosen or [definition["options"][0]["id"]]}
    if kind == "true_false":
        value = definition["answer"] if right else not definition["answer"]
        return {"choice": ["true" if value else "false"]}
    if kind == "numeric":
        answer = definition["answer"]
        value = answer if right else (answer * rng.choice([0.5, 2, 10]) if answer else 7)
        # Plain decimals: "%g" writes big numbers as 2.3e+06, which no learner types.
        return {"value": [f"{value:.6f}".rstrip("0").rstrip(".")]}
    if kind == "short_text":
        return {"text": [definition["accepted"][0] if right else "not sure"]}
    if kind == "ordering":
        ids = [entry["id"] for entry in definition["entries"]]
        if not right:
            ids[0], ids[1] = ids[1], ids[0]
        return {f"pos-{entry}": [str(position)] for position, entry in enumerate(ids, 1)}
    if kind == "matching":
        pairs = [(p["left_id"], p["right_id"]) for p in definition["pairs"]]
        rights = [right_id for _, right_id in pairs]
        if not right:
            rights[0], rights[1] = rights[1], rights[0]
        return {f"match-{left}": [r] for (left, _), r in zip(pairs, rights, strict=True)}
    raise ValueError(f"unknown item type {kind}")
