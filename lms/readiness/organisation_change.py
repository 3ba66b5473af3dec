"""The organisation form's preview of a tier change: what the new tier asks for beside the
old, and where the partner would stand and score under it today."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from lms.accounts.models import Organisation
from lms.core import sections
from lms.readiness import gather as gathering
from lms.readiness import sync
from lms.readiness.gaps import standing
from lms.readiness.loader import TierRule
from lms.readiness.scoring import rule_label, score


def _asks(rule: TierRule | None, names) -> list[str]:
    if rule is None:
        return []
    asks = [f"{c.count} certified {rule_label(c, names)}" for c in rule.certifications]
    asks += [f"every staff member finishes {names.track(slug)} (new staff get "
             f"{rule.new_staff_days} days)" for slug in rule.tracks]
    if rule.onboarding_complete:
        asks.append("partner onboarding complete")
    return asks


def load(*, organisation: Organisation, proposed: dict, now: datetime) -> dict:
    """One gather of the one organisation (a fixed handful of queries)."""
    if proposed["tier"] == organisation.tier:
        return {"changed": False}
    row = sync.latest()
    if row is None:
        return {"changed": False}
    rubric, tiers = sync.rules_from_body(row.body)
    names = gathering.names()
    facts = gathering.gather(now, tiers, [organisation.id]).facts.get(organisation.id)
    result = {"changed": True, "old_tier": names.tier(organisation.tier),
              "new_tier": names.tier(proposed["tier"]),
              "old_asks": _asks(tiers.rule(organisation.tier), names),
              "new_asks": _asks(tiers.rule(proposed["tier"]), names)}
    if facts is not None:
        moved = replace(facts, tier=proposed["tier"])
        old = standing(facts, tiers, organisation.tier, now, names=names)
        new = standing(moved, tiers, proposed["tier"], now, names=names)
        result.update(
            old_score=score(facts, rubric, tiers, now, names=names).total,
            new_score=score(moved, rubric, tiers, now, names=names).total,
            old_meets=old.meets, new_meets=new.meets,
            new_gaps=[gap.text for gap in new.gaps])
    return result


sections.add("organisation_change", "tier", template="admin/sections/tier_change.html",
             load=load, order=20)
