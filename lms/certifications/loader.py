"""Read and validate certification programs from content/certifications/*.yml (no database).

Cross-references (tracks, assessments, job roles, other programs) are checked against what
the rest of content/ defines, and problems name the file, the line and the field.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, NonNegativeInt, PositiveInt, field_validator, model_validator

from lms.catalog.loader import SLUG_PATTERN
from lms.core.content_files import Problem, Strict, compose, display, problem_at, read_model

Slug = Annotated[str, Field(pattern=SLUG_PATTERN, max_length=100)]
DEFAULT_REMINDERS = [90, 30, 7, 0]


class RequirementsIn(Strict):
    tracks: list[Slug] = []
    assessments: list[Slug] = []
    certifications: list[Slug] = []

    @model_validator(mode="after")
    def _something(self) -> RequirementsIn:
        if not (self.tracks or self.assessments or self.certifications):
            raise ValueError("name at least one track, assessment or certification")
        return self


class RenewalIn(Strict):
    assessment: Slug | None = None
    tracks: list[Slug] = []

    @model_validator(mode="after")
    def _something(self) -> RenewalIn:
        if not (self.assessment or self.tracks):
            raise ValueError("a renewal needs an assessment, tracks, or both")
        return self


class ProgramIn(Strict):
    code: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    level: Literal["Associate", "Professional", "Expert"]
    description: str = ""
    requirements: RequirementsIn
    validity_months: Annotated[int, Field(ge=1, le=120)]
    renewal_window_days: PositiveInt = 90
    grace_days: NonNegativeInt = 30
    renewal: RenewalIn
    delta_track: Slug | None = None
    reminder_days: list[NonNegativeInt] = Field(default_factory=lambda: list(DEFAULT_REMINDERS))
    job_roles: list[Slug] = []

    @field_validator("reminder_days")
    @classmethod
    def _distinct(cls, days: list[int]) -> list[int]:
        if len(set(days)) != len(days):
            raise ValueError("each day may appear once")
        return sorted(days, reverse=True)


@dataclass
class LoadedProgram:
    source: str
    spec: ProgramIn

    @property
    def requirements_hash(self) -> str:
        return _hash(self.spec.requirements.model_dump())

    @property
    def content_hash(self) -> str:
        return _hash(self.spec.model_dump(exclude={"code"}))


@dataclass
class CertificationProgram:
    programs: list[LoadedProgram] = field(default_factory=list)
    invalid: set[str] = field(default_factory=set)  # files with problems (reported)

    @property
    def codes(self) -> set[str]:
        return {program.spec.code for program in self.programs}

    @property
    def known(self) -> set[str]:
        """What other files may refer to without being told it is unknown."""
        return self.codes | self.invalid


def _hash(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def load(root: Path, problems: list[Problem], *, tracks: set[str], assessments: set[str],
         job_roles: set[str]) -> CertificationProgram:
    """Load every program under `root`/certifications, appending each problem found."""
    folder = root / "certifications"
    result = CertificationProgram()
    seen: dict[str, str] = {}
    paths = sorted(folder.glob("*.yml")) if folder.is_dir() else []
    for path in paths:
        spec = read_model(path, ProgramIn, problems, invalid=result.invalid, key="code")
        if spec is None:
            continue
        node = compose(path)
        if spec.code in seen:
            problems.append(problem_at(path, node, ("code",),
                                       f"duplicate program code '{spec.code}' "
                                       f"(also in {seen[spec.code]})"))
            continue
        seen[spec.code] = display(path)
        before = len(problems)
        _check_references(path, node, spec, problems, tracks, assessments, job_roles)
        if len(problems) == before:
            result.programs.append(LoadedProgram(display(path), spec))
        else:
            result.invalid.add(spec.code)
    _check_program_references(result, paths, problems)
    return result


def _check_references(path, node, spec: ProgramIn, problems, tracks, assessments, job_roles):
    def refuse(loc: tuple, message: str) -> None:
        problems.append(problem_at(path, node, loc, message))

    # Checked here rather than in a model validator, so the problem names its field and line.
    if spec.renewal_window_days >= spec.validity_months * 28:
        refuse(("renewal_window_days",),
               f"must be shorter than the validity ({spec.validity_months} month(s))")
    for index, code in enumerate(spec.requirements.certifications):
        if code == spec.code:
            refuse(("requirements", "certifications", index), "a program cannot require itself")

    for index, slug in enumerate(spec.requirements.tracks):
        if slug not in tracks:
            refuse(("requirements", "tracks", index), f"unknown track '{slug}'")
    for index, slug in enumerate(spec.requirements.assessments):
        if slug not in assessments:
            refuse(("requirements", "assessments", index), f"unknown assessment '{slug}'")
    if spec.renewal.assessment and spec.renewal.assessment not in assessments:
        refuse(("renewal", "assessment"), f"unknown assessment '{spec.renewal.assessment}'")
    for index, slug in enumerate(spec.renewal.tracks):
        if slug not in tracks:
            refuse(("renewal", "tracks", index), f"unknown track '{slug}'")
    if spec.delta_track and spec.delta_track not in tracks:
        refuse(("delta_track",), f"unknown track '{spec.delta_track}'")
    for index, role in enumerate(spec.job_roles):
        if role not in job_roles:
            refuse(("job_roles", index),
                   f"unknown job role '{role}' (program.yml lists: {', '.join(sorted(job_roles))})")


def _check_program_references(result: CertificationProgram, paths, problems) -> None:
    """Required certifications must exist and must not go round in a circle."""
    by_code = {program.spec.code: program for program in result.programs}
    for program in list(result.programs):
        path = Path(program.source)
        for index, code in enumerate(program.spec.requirements.certifications):
            if code in result.invalid and code not in by_code:
                continue  # its own problems are reported
            if code not in by_code:
                problems.append(problem_at(path, compose(path),
                                           ("requirements", "certifications", index),
                                           f"unknown certification program '{code}'"))
            elif _reaches(by_code, code, program.spec.code, set()):
                problems.append(problem_at(path, compose(path),
                                           ("requirements", "certifications", index),
                                           f"'{code}' requires '{program.spec.code}' in turn "
                                           "(a circle nobody can complete)"))


def _reaches(by_code: dict, start: str, target: str, seen: set[str]) -> bool:
    if start == target:
        return True
    if start in seen or start not in by_code:
        return False
    seen.add(start)
    return any(_reaches(by_code, code, target, seen)
               for code in by_code[start].spec.requirements.certifications)
