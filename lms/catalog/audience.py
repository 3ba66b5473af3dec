"""Pure audience rules: does a track's audience include this person?"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Person:
    partner_type: str
    tier: str
    region: str
    job_role: str | None


def matches(audience: dict, person: Person) -> bool:
    """An empty or missing list means everyone; every non-empty list must include the person."""
    checks = (
        ("partner_types", person.partner_type),
        ("tiers", person.tier),
        ("regions", person.region),
        ("job_roles", person.job_role),
    )
    return all(not audience.get(key) or value in audience[key] for key, value in checks)
