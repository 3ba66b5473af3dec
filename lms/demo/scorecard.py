"""Demo scorecard metrics: a year of quarterly CRM/PRM exports for every demo partner,
imported through the same service as a real upload, so the imports, charts and evidence
log have something to show.

On purpose: one partner's pipeline velocity has not been reported for ten weeks (stale),
another's joint-roadmap rating is from last year (stale), and the last partner has never
reported MDF spend (missing). Values are seeded by partner name, so reruns agree.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from lms.accounts.models import Organisation
from lms.extensions import db
from lms.scorecard import imports, sync, upload
from lms.scorecard.models import MetricImport

FILE_NAME = "crm-partner-metrics-{}.csv"
# metric -> (worst, best) of a plausible range; a partner's "strength" picks a point in it.
RANGES = {
    "partner_contribution_margin": (8.0, 34.0),
    "pipeline_velocity": (1200.0, 8200.0),
    "co_sell_success": (10.0, 46.0),
    "joint_roadmap": (2.2, 4.8),
    "incentive_alignment": (38.0, 86.0),
    "compliance_score": (68.0, 98.0),
    "mdf_spend": (28.0, 95.0),
    "lead_follow_up_sla": (72.0, 8.0),  # hours: lower is better, so worst is high
}
ROUNDING = {"pipeline_velocity": -1, "joint_roadmap": 1, "compliance_score": 0}
QUARTERS = 4


def _quarter_ends(today: date, count: int) -> list[date]:
    """The last `count` quarter ends before today, oldest first."""
    ends, year, quarter = [], today.year, (today.month - 1) // 3  # the quarter before this
    for _ in range(count):
        if quarter == 0:
            year, quarter = year - 1, 4
        following = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
        ends.append(following - timedelta(days=1))
        quarter -= 1
    return sorted(ends)


def load_metrics(now: datetime) -> int:
    """Import demo values for every partner (once: nothing if demo values exist).

    Returns how many values were imported. Flushes; the caller commits.
    """
    definitions = sync.current()
    if definitions is None or db.session.scalar(
            select(func.count(MetricImport.id)).where(MetricImport.source == "demo")):
        return 0
    partners = db.session.execute(select(Organisation.id, Organisation.name).where(
        Organisation.status != "inactive").order_by(Organisation.id)).all()
    if not partners:
        return 0
    today = now.date()
    ends = _quarter_ends(today, QUARTERS)
    batches: dict[date, list[upload.Value]] = {end: [] for end in ends}
    recent = today - timedelta(days=12)  # the monthly export for the fast-moving metrics
    batches[recent] = []
    for index, (organisation_id, name) in enumerate(partners):
        rng = random.Random(f"scorecard-{name}")
        strength = rng.uniform(0.25, 0.95)
        for code, (worst, best) in RANGES.items():
            if definitions.metric(code) is None:
                continue
            if code == "mdf_spend" and index == len(partners) - 1:
                continue  # this partner has never reported MDF spend: a gap, not a zero
            drift = rng.uniform(-0.12, 0.12)
            for step, end in enumerate(ends):
                if code == "joint_roadmap" and index == 2 % len(partners) and step > 0:
                    break  # rated once, a year ago: stale
                level = min(1.0, max(0.0, strength + drift * (step - QUARTERS + 1)
                                     + rng.uniform(-0.08, 0.08)))
                batches[end].append(_value(organisation_id, name, code, worst, best, level,
                                           end))
            fast = code in ("pipeline_velocity", "lead_follow_up_sla")
            stale = code == "pipeline_velocity" and index == 1 % len(partners)
            if fast and not stale:  # partner 2's pipeline export stopped after the quarter
                level = min(1.0, max(0.0, strength + rng.uniform(-0.05, 0.1)))
                batches[recent].append(_value(organisation_id, name, code, worst, best, level,
                                              recent))
    count = 0
    for as_of, values in sorted(batches.items()):
        if not values:
            continue
        imports.apply(values, actor_id=None, source="demo",
                      file_name=FILE_NAME.format(as_of.isoformat()),
                      definition_version=definitions.version,
                      now=datetime.combine(as_of + timedelta(days=3), now.timetz())
                      if as_of + timedelta(days=3) <= today else now)
        count += len(values)
    return count


def _value(organisation_id: int, name: str, code: str, worst: float, best: float,
           level: float, as_of: date) -> upload.Value:
    value = round(worst + (best - worst) * level, ROUNDING.get(code, 1))
    return upload.Value(0, organisation_id, name, code, float(value), as_of)
