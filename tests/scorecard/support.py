"""Shared by the scorecard tests: the shipped definitions and small fact builders."""

from __future__ import annotations

from datetime import UTC, date, datetime

from lms.scorecard import loader
from lms.scorecard.scoring import Observation, PartnerFacts, ReadinessFacts
from tests.conftest import CONTENT

NOW = datetime(2026, 10, 15, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
TRACKS = {"partner-onboarding-essentials", "sales-foundations", "technical-associate",
          "solution-architecture", "support-essentials"}


def shipped() -> loader.Definitions:
    problems = []
    definitions = loader.load(CONTENT, problems, tracks=TRACKS)
    assert not problems, problems
    return definitions


def readiness(total=85.0, health="green", *, computed_at=NOW, meets_tier=True,
              falls_below_on=None, sentence="") -> ReadinessFacts:
    return ReadinessFacts(total=total, health=health, computed_at=computed_at,
                          meets_tier=meets_tier, falls_below_on=falls_below_on,
                          rubric_version=1, rubric_hash="r" * 64,
                          components=[{"key": "certification_coverage", "points": 40}],
                          forecast_sentence=sentence)


def facts(values: dict | None = None, **fields) -> PartnerFacts:
    """A partner with the given {metric: value or (value, as_of)} (as of today by default)."""
    observed = {}
    for code, given in (values or {}).items():
        value, as_of = given if isinstance(given, tuple) else (given, TODAY)
        observed[code] = Observation(float(value), as_of if isinstance(as_of, date)
                                     else date.fromisoformat(as_of))
    defaults = {"organisation_id": 7, "name": "Northwind", "partner_type": "reseller",
                "tier": "gold", "region": "emea", "labels": {"tier": "Gold"},
                "track_completion": {"onboarding-essentials-all-staff": (5, 5, 0)}}
    return PartnerFacts(**(defaults | fields), values=observed)


ALL_GREEN = {"partner_contribution_margin": 30, "pipeline_velocity": 6000,
             "co_sell_success": 40, "joint_roadmap": 4.5, "incentive_alignment": 75,
             "compliance_score": 95, "mdf_spend": 85, "lead_follow_up_sla": 12}


# --- database builders (flush, never commit) ---------------------------------------------------

def put_values(organisation, values: dict, *, actor=None, source="csv", file_name="test.csv"):
    """Import {metric: value or (value, as_of)} for one partner through the import service."""
    from lms.core import clock
    from lms.scorecard import imports, upload

    today = clock.now().date()
    rows = []
    for code, given in values.items():
        value, as_of = given if isinstance(given, tuple) else (given, today)
        as_of = as_of if isinstance(as_of, date) else date.fromisoformat(as_of)
        rows.append(upload.Value(len(rows), organisation.id, organisation.name, code,
                                 float(value), as_of))
    return imports.apply(rows, actor_id=actor.id if actor else None, source=source,
                         file_name=file_name)


def put_readiness(organisation, total=85.0, health="green", *, falls_below_on=None,
                  meets_tier=True, computed_at=None, sentence=""):
    """A stored readiness score, as the readiness job would leave it."""
    from sqlalchemy import delete

    from lms.core import clock
    from lms.extensions import db
    from lms.readiness import sync as readiness_sync
    from lms.readiness.models import ReadinessScore

    rubric = readiness_sync.latest()
    db.session.execute(delete(ReadinessScore).where(
        ReadinessScore.organisation_id == organisation.id))
    score = ReadinessScore(
        organisation_id=organisation.id, rubric_id=rubric.id,
        computed_at=computed_at or clock.now(), total=total, health=health,
        tier=organisation.tier, meets_tier=meets_tier, falls_below_on=falls_below_on,
        rubric_version=rubric.version, rubric_hash=rubric.rubric_hash,
        components=[{"key": "certification_coverage", "label": "Certification coverage",
                     "value": 1, "weight": 40, "points": 40, "measured": True,
                     "explanation": "2 of 2 certified."}],
        gaps={"current": {"tier": organisation.tier, "meets": meets_tier,
                          "text": "Meets Gold.", "gaps": []}, "next": None},
        forecast={"sentence": sentence})
    db.session.add(score)
    db.session.flush()
    return score


def complete_track(user, slug: str) -> None:
    """Record a completion of the track's current version (as the catalog would)."""
    from sqlalchemy import select

    from lms.catalog.models import Track, TrackCompletion
    from lms.extensions import db

    track = db.session.scalar(select(Track).where(Track.slug == slug))
    db.session.add(TrackCompletion(user_id=user.id, track_id=track.id,
                                   track_version_id=track.current_version_id))
    db.session.flush()
