"""When a learner may see the answer key: the one rule, used by the result page and by
`lms content check`.

An assessment that counts toward a certificate never shows the key of items it can draw
again before the person has passed it, unless retakes are held back by an attempt limit
or a cooldown. Otherwise a blank first attempt's feedback, then an immediate retake, is
a certificate. Every drawn item can be drawn again (pools are drawn afresh each attempt,
a fixed list repeats), so the rule holds for all of them.
"""

from __future__ import annotations

FEEDBACK_HELP = {
    "never": "the score only",
    "after_submission": "the key after every attempt",
    "after_passing": "the key once the person has passed",
}


def retakes_held_back(*, max_attempts: int | None, cooldown_hours: int | None) -> bool:
    """An attempt limit or a cooldown: a key seen after a fail cannot be used at once."""
    return bool(max_attempts) or bool(cooldown_hours)


def unsafe(feedback: str, *, certifies: bool, max_attempts: int | None,
           cooldown_hours: int | None) -> bool:
    """The forbidden combination: counts toward a certificate, shows the key before a pass,
    and lets the person retake at once, without limit."""
    return (certifies and feedback == "after_submission"
            and not retakes_held_back(max_attempts=max_attempts, cooldown_hours=cooldown_hours))


def key_visible(feedback: str, *, attempt_passed: bool, passed: bool, certifies: bool,
                max_attempts: int | None, cooldown_hours: int | None) -> bool:
    """Whether a finished attempt may show its key.

    `passed`: the person stands passed now (a pass a renewal window or a lapse reopened
    no longer counts); `attempt_passed`: this attempt passed.
    """
    if feedback == "never" or (feedback == "after_passing" and not attempt_passed):
        return False
    return passed or not unsafe("after_submission", certifies=certifies,
                                max_attempts=max_attempts, cooldown_hours=cooldown_hours)
