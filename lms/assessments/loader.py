"""Read and validate question banks and assessments from content/ (no database).

Problems are reported like the catalog's: `content/banks/x.yml:12: items.3.options: ...`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, NonNegativeInt, PositiveInt, model_validator

from lms.assessments.items import REGISTRY, ItemError
from lms.catalog.loader import SLUG_PATTERN
from lms.core.content_files import Problem, Strict, compose, display, problem_at, read_model

Slug = Annotated[str, Field(pattern=SLUG_PATTERN, max_length=100)]
Text = Annotated[str, Field(min_length=1, max_length=200)]
ItemTypeName = Literal["single_choice", "multiple_response", "true_false", "numeric",
                       "short_text", "ordering", "matching"]

# Fields each type reads besides the common ones; anything else is a mistake worth naming.
TYPE_FIELDS = {
    "single_choice": {"options"},
    "multiple_response": {"options", "scoring"},
    "true_false": {"answer", "feedback"},
    "numeric": {"answer", "tolerance", "unit"},
    "short_text": {"accepted"},
    "ordering": {"order", "scoring"},
    "matching": {"pairs", "scoring"},
}
COMMON_FIELDS = {"id", "type", "prompt", "points", "tags", "explanation"}


class OptionIn(Strict):
    text: Annotated[str, Field(min_length=1, max_length=1000)]
    correct: bool = False
    feedback: str = ""


class PairIn(Strict):
    left: Annotated[str, Field(min_length=1, max_length=300)]
    right: Annotated[str, Field(min_length=1, max_length=300)]


class ItemIn(Strict):
    id: Slug
    type: ItemTypeName
    prompt: Annotated[str, Field(min_length=1)]
    points: PositiveInt = 1
    tags: list[Slug] = []
    explanation: str = ""
    options: list[OptionIn] | None = None
    scoring: Literal["partial", "all_or_nothing"] | None = None
    answer: bool | float | None = None
    tolerance: float | None = None
    unit: str | None = None
    accepted: list[str] | None = None
    order: list[Annotated[str, Field(min_length=1, max_length=300)]] | None = None
    pairs: list[PairIn] | None = None
    feedback: str | None = None


class BankIn(Strict):
    slug: Slug
    title: Text
    items: list[ItemIn] = Field(min_length=1)


class DrawIn(Strict):
    bank: Slug
    tags: list[Slug] = []
    count: PositiveInt


class AssessmentIn(Strict):
    slug: Slug
    title: Text
    description: str = ""
    pass_mark: Annotated[int, Field(ge=1, le=100)]
    time_limit_minutes: PositiveInt | None = None
    max_attempts: PositiveInt | None = None
    cooldown_hours: NonNegativeInt = 0
    shuffle_items: bool = False
    shuffle_options: bool = False
    feedback: Literal["never", "after_submission", "after_passing"] = "after_submission"
    items: list[Annotated[str, Field(pattern=r"^[a-z0-9-]+/[a-z0-9-]+$")]] | None = None
    draw: list[DrawIn] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> AssessmentIn:
        if bool(self.items) == bool(self.draw):
            raise ValueError("give either `items` (a fixed list) or `draw` (pools), not both")
        return self


@dataclass
class LoadedItem:
    bank_slug: str
    key: str
    item_type: str
    points: int
    tags: list[str]
    definition: dict

    @property
    def content_hash(self) -> str:
        return _hash([self.item_type, self.points, self.tags, self.definition])


@dataclass
class LoadedAssessment:
    source: str
    spec: AssessmentIn
    items: list[LoadedItem]
    # For draws: [{"count": n, "items": [(bank, key), ...]}]
    pools: list[dict] | None = None
    path: Path | None = field(default=None, compare=False)  # for problems found later

    @property
    def content_hash(self) -> str:
        spec = self.spec.model_dump(exclude={"slug"})
        return _hash([spec, [[i.bank_slug, i.key, i.content_hash] for i in self.items],
                      self.pools])


@dataclass
class AssessmentProgram:
    assessments: list[LoadedAssessment] = field(default_factory=list)
    invalid: set[str] = field(default_factory=set)  # files with problems (reported)

    @property
    def slugs(self) -> set[str]:
        return {assessment.spec.slug for assessment in self.assessments}

    @property
    def known(self) -> set[str]:
        """What other files may refer to without being told it is unknown."""
        return self.slugs | self.invalid


def _hash(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def load(root: Path, problems: list[Problem]) -> AssessmentProgram:
    """Load banks and assessments under `root`, appending every problem found."""
    invalid_banks: set[str] = set()
    banks = _load_banks(root, problems, invalid_banks)
    program = AssessmentProgram()
    seen: dict[str, str] = {}
    for path in sorted((root / "assessments").glob("*.yml")) \
            if (root / "assessments").is_dir() else []:
        spec = read_model(path, AssessmentIn, problems, invalid=program.invalid)
        if spec is None:
            continue
        node = compose(path)
        if spec.slug in seen:
            problems.append(problem_at(path, node, ("slug",),
                                       f"duplicate assessment slug '{spec.slug}' "
                                       f"(also in {seen[spec.slug]})"))
            continue
        seen[spec.slug] = display(path)
        before = len(problems)
        loaded = _resolve(path, node, spec, banks, problems, invalid_banks)
        if len(problems) == before:
            program.assessments.append(loaded)
        else:
            program.invalid.add(spec.slug)
    return program


def _load_banks(root: Path, problems: list[Problem],
                invalid: set[str]) -> dict[str, dict[str, LoadedItem]]:
    banks: dict[str, dict[str, LoadedItem]] = {}
    sources: dict[str, str] = {}
    for path in sorted((root / "banks").glob("*.yml")) if (root / "banks").is_dir() else []:
        spec = read_model(path, BankIn, problems, invalid=invalid)
        if spec is None:
            continue
        node = compose(path)
        if spec.slug in banks:
            problems.append(problem_at(path, node, ("slug",),
                                       f"duplicate bank slug '{spec.slug}' "
                                       f"(also in {sources[spec.slug]})"))
            continue
        sources[spec.slug] = display(path)
        items: dict[str, LoadedItem] = {}
        for index, item in enumerate(spec.items):
            loc = ("items", index)
            if item.id in items:
                problems.append(problem_at(path, node, (*loc, "id"),
                                           f"duplicate item id '{item.id}' in this bank"))
                continue
            raw = item.model_dump(exclude_none=True)
            stray = set(raw) - COMMON_FIELDS - TYPE_FIELDS[item.type]
            for name in sorted(stray):
                problems.append(problem_at(path, node, (*loc, name),
                                           f"not used by {item.type} items"))
            try:
                definition = REGISTRY[item.type].build(f"{spec.slug}/{item.id}", raw)
            except ItemError as error:
                problems.append(problem_at(path, node, (*loc, error.field), error.message))
                continue
            items[item.id] = LoadedItem(spec.slug, item.id, item.type, item.points,
                                        list(item.tags), definition)
        banks[spec.slug] = items
    return banks


def _resolve(path: Path, node, spec: AssessmentIn, banks: dict, problems: list[Problem],
             invalid_banks: set[str]):
    if spec.items:
        items: list[LoadedItem] = []
        for index, reference in enumerate(spec.items):
            bank, key = reference.split("/", 1)
            if bank in invalid_banks and bank not in banks:
                continue  # the bank's own problems are reported
            if bank not in banks:
                problems.append(problem_at(path, node, ("items", index),
                                           f"unknown bank '{bank}'"))
            elif key not in banks[bank]:
                problems.append(problem_at(path, node, ("items", index),
                                           f"no item '{key}' in bank '{bank}'"))
            elif any((i.bank_slug, i.key) == (bank, key) for i in items):
                problems.append(problem_at(path, node, ("items", index),
                                           f"'{reference}' is listed twice"))
            else:
                items.append(banks[bank][key])
        return LoadedAssessment(display(path), spec, items, path=path)

    items, pools, taken = [], [], set()
    for index, rule in enumerate(spec.draw):
        if rule.bank in invalid_banks and rule.bank not in banks:
            continue  # the bank's own problems are reported
        if rule.bank not in banks:
            problems.append(problem_at(path, node, ("draw", index, "bank"),
                                       f"unknown bank '{rule.bank}'"))
            continue
        pool = [item for item in banks[rule.bank].values() if set(rule.tags) <= set(item.tags)]
        overlap = [item.key for item in pool if (item.bank_slug, item.key) in taken]
        if overlap:
            problems.append(problem_at(path, node, ("draw", index, "tags"),
                                       f"items already in an earlier pool: {', '.join(overlap)}"))
            continue
        if len(pool) < rule.count:
            problems.append(problem_at(
                path, node, ("draw", index, "count"),
                f"the pool has {len(pool)} item(s) tagged {', '.join(rule.tags) or '(any)'}; "
                f"cannot draw {rule.count}"))
            continue
        taken.update((item.bank_slug, item.key) for item in pool)
        items.extend(pool)
        pools.append({"count": rule.count, "items": [[i.bank_slug, i.key] for i in pool]})
    return LoadedAssessment(display(path), spec, items, pools, path=path)
