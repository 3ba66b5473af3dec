"""Read and validate onboarding journey templates from content/journeys/*.yml (no database).

A milestone names its kind by the one key it carries (`track`, `assessment`,
`certification`, `certified_staff` or `manual`), so a template reads like the plan it is.
Cross-references are checked against the rest of content/, and every problem names the
file, the line and the field.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, PositiveInt, model_validator

from lms.catalog.loader import SLUG_PATTERN
from lms.core.content_files import Problem, Strict, compose, display, problem_at, read_model

Slug = Annotated[str, Field(pattern=SLUG_PATTERN, max_length=100)]
Title = Annotated[str, Field(min_length=1, max_length=200)]

SCOPES = ("organisation", "person")
OWNERS = ("person", "partner_admin", "vendor")
KINDS = ("track", "assessment", "certification", "certified_staff", "manual")
PERSON_KINDS = {"track", "assessment", "certification"}
DEFAULT_STALLED_AFTER_DAYS = 14
# Audience field -> the program.yml vocabulary it draws on.
AUDIENCE_TERMS = {"partner_types": "partner_type", "tiers": "tier", "regions": "region",
                  "job_roles": "job_role"}


class CertifiedStaffIn(Strict):
    program: Slug
    count: Annotated[int, Field(ge=1, le=1000)]


class ManualIn(Strict):
    evidence: Literal["none", "note", "file", "note_or_file"] = "none"
    instructions: str = ""


class MilestoneIn(Strict):
    key: Slug
    title: Title
    due_days: Annotated[int, Field(ge=0, le=3650)]
    owner: Literal["person", "partner_admin", "vendor"]
    track: Slug | None = None
    assessment: Slug | None = None
    certification: Slug | None = None
    certified_staff: CertifiedStaffIn | None = None
    manual: ManualIn | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> MilestoneIn:
        given = [kind for kind in KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of track, assessment, certification, "
                             f"certified_staff or manual (found: {', '.join(given) or 'none'})")
        return self

    @property
    def kind(self) -> str:
        return next(kind for kind in KINDS if getattr(self, kind) is not None)

    @property
    def target(self) -> str | None:
        """The slug or program code the evidence must match (None for a manual task)."""
        if self.certified_staff is not None:
            return self.certified_staff.program
        return getattr(self, self.kind) if self.kind != "manual" else None


class StageIn(Strict):
    name: Title
    milestones: Annotated[list[MilestoneIn], Field(min_length=1)]


class AudienceIn(Strict):
    partner_types: list[Slug] = []
    tiers: list[Slug] = []
    regions: list[Slug] = []
    job_roles: list[Slug] = []


class JourneyIn(Strict):
    code: Slug
    name: Title
    description: str = ""
    scope: Literal["organisation", "person"]
    audience: AudienceIn = AudienceIn()
    stalled_after_days: PositiveInt = DEFAULT_STALLED_AFTER_DAYS
    stages: Annotated[list[StageIn], Field(min_length=1)]


@dataclass
class LoadedJourney:
    source: str
    spec: JourneyIn

    @property
    def content_hash(self) -> str:
        data = self.spec.model_dump(exclude={"code"})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@dataclass
class JourneyProgram:
    journeys: list[LoadedJourney] = field(default_factory=list)

    @property
    def codes(self) -> set[str]:
        return {journey.spec.code for journey in self.journeys}


def load(root: Path, problems: list[Problem], *, tracks: set[str], assessments: set[str],
         programs: set[str], terms: dict[str, set[str]]) -> JourneyProgram:
    """Load every template under `root`/journeys, appending each problem found.

    `terms` maps partner_type, tier, region and job_role to the codes program.yml defines.
    """
    folder = root / "journeys"
    result = JourneyProgram()
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.yml")) if folder.is_dir() else []:
        spec = read_model(path, JourneyIn, problems)
        if spec is None:
            continue
        node = compose(path)
        if spec.code in seen:
            problems.append(problem_at(path, node, ("code",),
                                       f"duplicate journey code '{spec.code}' "
                                       f"(also in {seen[spec.code]})"))
            continue
        seen[spec.code] = display(path)
        before = len(problems)
        _check(path, node, spec, problems, tracks=tracks, assessments=assessments,
               programs=programs, terms=terms)
        if len(problems) == before:
            result.journeys.append(LoadedJourney(display(path), spec))
    return result


def _check(path, node, spec: JourneyIn, problems, *, tracks, assessments, programs, terms):
    def refuse(loc: tuple, message: str) -> None:
        problems.append(problem_at(path, node, loc, message))

    audience_fields = {"organisation": ("partner_types", "tiers", "regions"),
                       "person": ("job_roles",)}[spec.scope]
    for name in AUDIENCE_TERMS:
        values = getattr(spec.audience, name)
        if values and name not in audience_fields:
            refuse(("audience", name), f"{spec.scope} journeys cannot be chosen by {name} "
                                       f"(use {', '.join(audience_fields)})")
            continue
        known = terms.get(AUDIENCE_TERMS[name], set())
        for index, code in enumerate(values):
            if known and code not in known:
                refuse(("audience", name, index),
                       f"unknown code '{code}' (program.yml lists: {', '.join(sorted(known))})")

    keys: dict[str, tuple] = {}
    for s_index, stage in enumerate(spec.stages):
        for m_index, milestone in enumerate(stage.milestones):
            loc = ("stages", s_index, "milestones", m_index)
            if milestone.key in keys:
                refuse(loc + ("key",), f"duplicate milestone key '{milestone.key}'")
            keys[milestone.key] = loc
            kind = milestone.kind
            if spec.scope == "organisation" and kind in PERSON_KINDS:
                refuse(loc + (kind,), f"an organisation journey cannot wait for one person's "
                                      f"{kind}; use certified_staff or manual")
            if spec.scope == "person" and kind == "certified_staff":
                refuse(loc + (kind,), "certified_staff counts an organisation's staff; "
                                      "use certification in a person's journey")
            if spec.scope == "organisation" and milestone.owner == "person":
                refuse(loc + ("owner",), "an organisation journey has no single person to own "
                                         "a step; use partner_admin or vendor")
            if kind == "track" and milestone.track not in tracks:
                refuse(loc + ("track",), f"unknown track '{milestone.track}'")
            if kind == "assessment" and milestone.assessment not in assessments:
                refuse(loc + ("assessment",), f"unknown assessment '{milestone.assessment}'")
            if kind == "certification" and milestone.certification not in programs:
                refuse(loc + ("certification",),
                       f"unknown certification program '{milestone.certification}'")
            if kind == "certified_staff" and milestone.certified_staff.program not in programs:
                refuse(loc + ("certified_staff", "program"),
                       f"unknown certification program '{milestone.certified_staff.program}'")
            if kind != "manual" and milestone.owner != "person" and spec.scope == "person":
                refuse(loc + ("owner",), f"only the person can complete a {kind}; "
                                         "set owner: person")
