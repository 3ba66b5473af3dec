"""Builders for the pure readiness tests: facts, certificates, the default rubric, tier rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lms.readiness.facts import (
    HeldCertificate,
    Names,
    OnboardingFacts,
    OrganisationFacts,
    StaffMember,
    TrackProgress,
)
from lms.readiness.loader import (
    CertificationRule,
    Rubric,
    TierRule,
    TierRules,
)

NOW = datetime(2026, 1, 20, 9, 0, tzinfo=UTC)
TA = "technical-associate"
SP = "sales-professional"
SA = "solution-architect"
ONBOARDING_TRACK = "partner-onboarding-essentials"
TIERS = ("registered", "silver", "gold", "platinum")
NAMES = Names(
    programs={TA: "Technical Associate", SP: "Sales Professional", SA: "Solution Architect"},
    tracks={ONBOARDING_TRACK: "Partner Onboarding Essentials",
            "security-basics": "Security Basics"},
    tiers={"registered": "Registered", "silver": "Silver", "gold": "Gold",
           "platinum": "Platinum"},
    job_roles={"sales": "Sales", "presales": "Presales", "technical": "Technical",
               "support": "Support"},
)


def rubric(**changes) -> Rubric:
    """PRODUCT.md's default rubric (what content/readiness/rubric.yml ships)."""
    values = dict(version=1, weights={"certification_coverage": 40,
                                      "certification_currency": 20,
                                      "track_completion": 25, "onboarding": 15},
                  expiring_within_days=60, green=80, yellow=60, forecast_days=(30, 60, 90))
    values.update(changes)
    return Rubric(**values)


def rules(**tiers: TierRule) -> TierRules:
    """Tier rules for the four sample tiers; those not given ask nothing."""
    return TierRules(order=TIERS, rules={code: tiers.get(code) or TierRule(code)
                                         for code in TIERS})


def needs(program: str, count: int, *job_roles: str) -> CertificationRule:
    return CertificationRule(program, count, tuple(job_roles))


def cert(user_id: int, program: str = TA, *, expires_in: float, window: int = 90,
         job_role: str | None = "technical", validity: int = 24,
         now: datetime = NOW) -> HeldCertificate:
    """A live certificate expiring `expires_in` days after `now`, its window `window` days."""
    expires_at = now + timedelta(days=expires_in)
    return HeldCertificate(user_id=user_id, program_code=program, job_role=job_role,
                           expires_at=expires_at,
                           renewal_opens_at=expires_at - timedelta(days=window),
                           validity_months=validity)


def staff(*members: tuple[int, str | None]) -> tuple[StaffMember, ...]:
    return tuple(StaffMember(user_id, role) for user_id, role in members)


def facts(tier: str = "gold", *, members=(), certificates=(), tracks=(),
          onboarding: OnboardingFacts | None = None, organisation_id: int = 7,
          detailed: bool = True) -> OrganisationFacts:
    return OrganisationFacts(organisation_id=organisation_id, tier=tier, staff=tuple(members),
                             certificates=tuple(certificates), tracks=tuple(tracks),
                             onboarding=onboarding or OnboardingFacts(), detailed=detailed)


def done_track(slug: str = ONBOARDING_TRACK, assigned: int = 5) -> TrackProgress:
    """A required track everybody assigned has completed."""
    return TrackProgress(slug=slug, required=True, assigned=assigned, completed=assigned)
