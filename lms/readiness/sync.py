"""Apply the loaded rubric and tier rules: a new readiness_rubric row when either changes.

The row's body is everything scoring needs (the rubric and every tier's rules), so the
running app scores from the database, never from files, and an old score can be explained
by the row it points at. `rules_from_body` reads a body back.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from sqlalchemy import select

from lms.catalog.sync import SyncReport
from lms.core import clock, jobs
from lms.extensions import db
from lms.readiness.loader import (
    CertificationRule,
    ReadinessContent,
    Rubric,
    TierRule,
    TierRules,
)
from lms.readiness.models import ReadinessRubric

LABEL = "readiness rubric"


def apply(loaded: ReadinessContent | None, report: SyncReport) -> ReadinessRubric | None:
    """Store the rubric and tier rules if they changed; report it like other domains.

    Content without a readiness folder leaves the rows (and the scores) as they are:
    removing the folder does not un-explain the scores already stored.
    """
    if loaded is None or not loaded.configured:
        return None
    body = to_body(loaded.rubric, loaded.tiers)
    content_hash = body_hash(body)
    current = latest()
    if current is not None and current.content_hash == content_hash:
        report.unchanged.append(f"{LABEL} (version {current.version})")
        return current
    # An old body can come back (an edit reverted). The hash is unique and scores point at
    # the old row, so that row is published again (its body never changes) rather than
    # copied.
    row = db.session.scalar(select(ReadinessRubric)
                            .where(ReadinessRubric.content_hash == content_hash))
    if row is None:
        row = ReadinessRubric(version=loaded.rubric.version, content_hash=content_hash,
                              rubric_hash=loaded.rubric.content_hash, body=body)
        db.session.add(row)
    # The row in force is the one published last, so publishing never goes back in time
    # (a clock set back, or two syncs within one tick).
    now = clock.now()
    row.published_at = now if current is None or now > current.published_at \
        else current.published_at + timedelta(microseconds=1)
    db.session.flush()
    if current is None:
        report.created.append(f"{LABEL} (version {row.version})")
    else:
        report.changed.append(f"{LABEL} ({_changes(current.body, body)})")
    # Every score was computed with the old rules: recompute them all once this commits.
    from lms.readiness import service  # service imports this module for rules_from_body

    jobs.enqueue(service.recompute_everyone)
    return row


def latest() -> ReadinessRubric | None:
    """The rubric in force: the one published last."""
    return db.session.scalar(select(ReadinessRubric)
                             .order_by(ReadinessRubric.published_at.desc(),
                                       ReadinessRubric.id.desc()).limit(1))


def to_body(rubric: Rubric, tiers: TierRules) -> dict:
    return {
        "rubric": {"version": rubric.version, "weights": dict(rubric.weights),
                   "expiring_within_days": rubric.expiring_within_days,
                   "green": rubric.green, "yellow": rubric.yellow,
                   "forecast_days": list(rubric.forecast_days)},
        "tiers": {"order": list(tiers.order), "new_staff_days": tiers.new_staff_days,
                  "rules": {code: {"certifications": [
                      {"program": c.program, "count": c.count, "job_roles": list(c.job_roles)}
                      for c in rule.certifications],
                      "tracks": list(rule.tracks),
                      "onboarding_complete": rule.onboarding_complete}
                      for code, rule in tiers.rules.items()}},
    }


def rules_from_body(body: dict) -> tuple[Rubric, TierRules]:
    """The rubric and tier rules a stored body describes (the inverse of to_body)."""
    spec = body["rubric"]
    rubric = Rubric(version=spec["version"], weights=dict(spec["weights"]),
                    expiring_within_days=spec["expiring_within_days"], green=spec["green"],
                    yellow=spec["yellow"], forecast_days=tuple(spec["forecast_days"]))
    # Bodies stored before new staff had time to finish their tracks held everyone to them.
    new_staff_days = body["tiers"].get("new_staff_days", 0)
    rules = {code: TierRule(
        tier=code, tracks=tuple(rule["tracks"]),
        onboarding_complete=rule["onboarding_complete"], new_staff_days=new_staff_days,
        certifications=tuple(CertificationRule(c["program"], c["count"], tuple(c["job_roles"]))
                             for c in rule["certifications"]))
        for code, rule in body["tiers"]["rules"].items()}
    return rubric, TierRules(order=tuple(body["tiers"]["order"]), rules=rules,
                             new_staff_days=new_staff_days)


def body_hash(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _changes(old: dict, new: dict) -> str:
    notes = []
    if old["rubric"] != new["rubric"]:
        before, after = old["rubric"]["version"], new["rubric"]["version"]
        notes.append(f"rubric version {after}" if after != before
                     else f"rubric changed, still version {after}")
    old_rules, new_rules = old["tiers"]["rules"], new["tiers"]["rules"]
    changed = [code for code in new["tiers"]["order"]
               if old_rules.get(code) != new_rules.get(code)]
    if changed:
        notes.append("tier rules changed: " + ", ".join(changed))
    elif old["tiers"]["order"] != new["tiers"]["order"]:
        notes.append("tier order changed")
    if old["tiers"].get("new_staff_days", 0) != new["tiers"]["new_staff_days"]:
        notes.append(f"new staff have {new['tiers']['new_staff_days']} days for tier tracks")
    return "; ".join(notes) or "changed"
