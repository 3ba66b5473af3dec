"""Item types: one class each, knowing how to build, show, read and score a response.

A stored definition holds the answer key; `public()` is the only view of an item that
may reach a browser before the attempt is graded, and it carries no key, no feedback
and no explanation. Option ids are opaque hashes, so not even their order gives away
an answer.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Mapping

from lms.core.errors import Invalid
from lms.core.numbers import format_number

Answer = dict
FormData = Mapping[str, list[str]]  # field name -> submitted values


class ItemError(ValueError):
    """A problem in an item's source, naming the field it is in."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def opaque_id(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:12]


def _first(data: FormData, name: str) -> str:
    values = data.get(name) or []
    return values[0].strip() if values and isinstance(values[0], str) else ""


def normalise_text(value: str) -> str:
    """For short answers: NFKC folds full-width forms, then case and spacing are ignored."""
    folded = unicodedata.normalize("NFKC", value or "").casefold()
    return re.sub(r"\s+", " ", folded).strip()


class ItemType:
    name = ""
    label = ""

    def build(self, key: str, raw: dict) -> dict:
        """The stored definition from an item's YAML (already shape-checked)."""
        raise NotImplementedError

    def shuffle_ids(self, definition: dict) -> list[str]:
        """Ids whose display order is shuffled per attempt (empty: fixed order)."""
        return []

    def public(self, definition: dict, order: list[str]) -> dict:
        raise NotImplementedError

    def parse(self, definition: dict, data: FormData) -> Answer:
        """A submitted answer, checked against the item; Invalid names the field."""
        raise NotImplementedError

    def score(self, definition: dict, answer: Answer) -> float:
        """The fraction of the item earned, 0..1."""
        raise NotImplementedError

    def chosen_options(self, definition: dict, answer: Answer) -> list[str]:
        return []

    def form_values(self, answer: Answer) -> dict[str, list[str]]:
        """A stored answer as the form fields that would submit it (to pre-fill the page)."""
        return {key: [str(value)] for key, value in answer.items()}

    def review(self, definition: dict, answer: Answer | None) -> dict:
        """What the learner may see after grading, when the feedback policy allows."""
        return {"explanation": definition.get("explanation", "")}

    # helpers shared by types with options
    @staticmethod
    def _ordered(entries: list[dict], order: list[str]) -> list[dict]:
        if not order:
            return entries
        by_id = {entry["id"]: entry for entry in entries}
        return [by_id[i] for i in order if i in by_id]


class SingleChoice(ItemType):
    name, label = "single_choice", "Choose one answer"

    def build(self, key, raw):
        options = raw.get("options") or []
        if not 2 <= len(options) <= 8:
            raise ItemError("options", "give between 2 and 8 options")
        if len({option["text"] for option in options}) != len(options):
            raise ItemError("options", "options must differ from each other")
        correct = sum(bool(option.get("correct")) for option in options)
        self._check_correct(correct)
        return {"prompt": raw["prompt"], "explanation": raw.get("explanation", ""),
                "scoring": raw.get("scoring", "all_or_nothing"),
                # No position in the id: authors often list the right option first.
                "options": [{"id": opaque_id(key, option["text"]),
                             "text": option["text"], "correct": bool(option.get("correct")),
                             "feedback": option.get("feedback", "")}
                            for option in options]}

    def _check_correct(self, correct: int) -> None:
        if correct != 1:
            raise ItemError("options", "mark exactly one option `correct: true`")

    def shuffle_ids(self, definition):
        return [option["id"] for option in definition["options"]]

    def public(self, definition, order):
        return {"prompt": definition["prompt"],
                "options": [{"id": o["id"], "text": o["text"]}
                            for o in self._ordered(definition["options"], order)]}

    def parse(self, definition, data):
        choice = _first(data, "choice")
        if choice not in {option["id"] for option in definition["options"]}:
            raise Invalid("Choose one of the options.", field="choice")
        return {"choice": choice}

    def score(self, definition, answer):
        correct = {o["id"] for o in definition["options"] if o["correct"]}
        return 1.0 if answer.get("choice") in correct else 0.0

    def chosen_options(self, definition, answer):
        return [answer["choice"]] if answer.get("choice") else []

    def review(self, definition, answer):
        chosen = set(self.chosen_options(definition, answer or {}))
        return {"explanation": definition.get("explanation", ""),
                "options": [{"text": o["text"], "correct": o["correct"],
                             "chosen": o["id"] in chosen,
                             "feedback": o["feedback"] if o["id"] in chosen else ""}
                            for o in definition["options"]]}


class MultipleResponse(SingleChoice):
    name, label = "multiple_response", "Choose every correct answer"

    def _check_correct(self, correct):
        if correct < 1:
            raise ItemError("options", "mark at least one option `correct: true`")

    def parse(self, definition, data):
        known = {option["id"] for option in definition["options"]}
        choices = [value for value in (data.get("choices") or []) if value]
        if not choices:
            raise Invalid("Choose at least one option.", field="choices")
        if any(choice not in known for choice in choices):
            raise Invalid("That option does not belong to this question.", field="choices")
        return {"choices": sorted(set(choices))}

    def score(self, definition, answer):
        correct = {o["id"] for o in definition["options"] if o["correct"]}
        chosen = set(answer.get("choices") or [])
        if definition.get("scoring") == "partial":
            # Each right choice earns a share; each wrong one takes a share back.
            earned = len(chosen & correct) - len(chosen - correct)
            return max(0.0, earned / len(correct))
        return 1.0 if chosen == correct else 0.0

    def chosen_options(self, definition, answer):
        return list(answer.get("choices") or [])

    def form_values(self, answer):
        return {"choices": list(answer.get("choices") or [])}


class TrueFalse(ItemType):
    name, label = "true_false", "True or false"

    def build(self, key, raw):
        if not isinstance(raw.get("answer"), bool):
            raise ItemError("answer", "answer must be true or false")
        return {"prompt": raw["prompt"], "explanation": raw.get("explanation", ""),
                "answer": raw["answer"], "feedback": raw.get("feedback", "")}

    def public(self, definition, order):
        return {"prompt": definition["prompt"],
                "options": [{"id": "true", "text": "True"}, {"id": "false", "text": "False"}]}

    def parse(self, definition, data):
        choice = _first(data, "choice")
        if choice not in ("true", "false"):
            raise Invalid("Choose True or False.", field="choice")
        return {"choice": choice}

    def score(self, definition, answer):
        return 1.0 if answer.get("choice") == ("true" if definition["answer"] else "false") \
            else 0.0

    def chosen_options(self, definition, answer):
        return [answer["choice"]] if answer.get("choice") else []

    def review(self, definition, answer):
        wrong = answer is not None and self.score(definition, answer) < 1
        return {"explanation": definition.get("explanation", ""),
                "correct_answer": "True" if definition["answer"] else "False",
                "feedback": definition.get("feedback", "") if wrong else ""}


class Numeric(ItemType):
    name, label = "numeric", "Enter a number"
    _NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")

    def build(self, key, raw):
        answer, tolerance = raw.get("answer"), raw.get("tolerance", 0)
        if isinstance(answer, bool) or not isinstance(answer, int | float):
            raise ItemError("answer", "answer must be a number")
        if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or tolerance < 0:
            raise ItemError("tolerance", "tolerance must be a number of zero or more")
        return {"prompt": raw["prompt"], "explanation": raw.get("explanation", ""),
                "answer": answer, "tolerance": tolerance, "unit": raw.get("unit", "")}

    def public(self, definition, order):
        return {"prompt": definition["prompt"], "unit": definition.get("unit", "")}

    def parse(self, definition, data):
        raw = unicodedata.normalize("NFKC", _first(data, "value")).replace(" ", "")
        if not self._NUMBER.match(raw):
            raise Invalid("Enter a number, like 42 or 3.5.", field="value")
        if re.fullmatch(r"[+-]?\d{1,3},\d{3}", raw):
            # "10,000" is ten thousand to some and ten to others: ask instead of guessing.
            raise Invalid("Write the number without a thousands separator, like 10000 "
                          "(use a point or comma only for decimals).", field="value")
        value = float(raw.replace(",", "."))
        if not math.isfinite(value):  # hundreds of digits overflow to inf
            raise Invalid("Enter a number, like 42 or 3.5.", field="value")
        return {"value": value}

    def form_values(self, answer):
        return {"value": [format_number(answer["value"])]} if "value" in answer else {}

    def score(self, definition, answer):
        value = answer.get("value")
        if value is None:
            return 0.0
        # A hair of slack so 0.1 + 0.2 style float noise never fails a right answer.
        return 1.0 if abs(value - definition["answer"]) <= definition["tolerance"] + 1e-9 \
            else 0.0

    def review(self, definition, answer):
        shown = format_number(definition["answer"])
        if definition["tolerance"]:
            shown += f" (± {format_number(definition['tolerance'])})"
        return {"explanation": definition.get("explanation", ""),
                "correct_answer": f"{shown} {definition.get('unit', '')}".strip()}


class ShortText(ItemType):
    name, label = "short_text", "Type a short answer"

    def build(self, key, raw):
        accepted = [str(a) for a in raw.get("accepted") or [] if str(a).strip()]
        if not accepted:
            raise ItemError("accepted", "list at least one accepted answer")
        return {"prompt": raw["prompt"], "explanation": raw.get("explanation", ""),
                "accepted": accepted}

    def public(self, definition, order):
        return {"prompt": definition["prompt"]}

    def parse(self, definition, data):
        text = _first(data, "text")
        if not text:
            raise Invalid("Type an answer.", field="text")
        if len(text) > 500:
            raise Invalid("Keep the answer under 500 characters.", field="text")
        return {"text": text}

    def score(self, definition, answer):
        given = normalise_text(answer.get("text", ""))
        return 1.0 if given and given in {normalise_text(a) for a in definition["accepted"]} \
            else 0.0

    def review(self, definition, answer):
        return {"explanation": definition.get("explanation", ""),
                "correct_answer": definition["accepted"][0]}


class Ordering(ItemType):
    name, label = "ordering", "Put these in order"

    def build(self, key, raw):
        entries = raw.get("order") or []
        if not 2 <= len(entries) <= 8:
            raise ItemError("order", "give between 2 and 8 entries")
        if len(set(entries)) != len(entries):
            raise ItemError("order", "entries must differ from each other")
        return {"prompt": raw["prompt"], "explanation": raw.get("explanation", ""),
                "scoring": raw.get("scoring", "all_or_nothing"),
                "entries": [{"id": opaque_id(key, text), "text": text} for text in entries]}

    def shuffle_ids(self, definition):
        return [entry["id"] for entry in definition["entries"]]

    def public(self, definition, order):
        return {"prompt": definition["prompt"],
                "entries": [{"id": e["id"], "text": e["text"]}
                            for e in self._ordered(definition["entries"], order)],
                "positions": list(range(1, len(definition["entries"]) + 1))}

    def parse(self, definition, data):
        ids = [entry["id"] for entry in definition["entries"]]
        positions = {}
        for entry_id in ids:
            value = unicodedata.normalize("NFKC", _first(data, f"pos-{entry_id}"))
            if not value.isdecimal() or len(value) > 2 or not 1 <= int(value) <= len(ids):
                raise Invalid("Give every entry a position.", field=f"pos-{entry_id}")
            positions[entry_id] = int(value)
        if sorted(positions.values()) != list(range(1, len(ids) + 1)):
            raise Invalid("Use each position exactly once.", field="order")
        unknown = [key[4:] for key in data if key.startswith("pos-") and key[4:] not in ids]
        if unknown:
            raise Invalid("That entry does not belong to this question.", field="order")
        return {"order": sorted(ids, key=positions.__getitem__)}

    def form_values(self, answer):
        return {f"pos-{entry}": [str(i)] for i, entry in enumerate(answer.get("order", []), 1)}

    def score(self, definition, answer):
        correct = [entry["id"] for entry in definition["entries"]]
        given = answer.get("order") or []
        if definition.get("scoring") == "partial":
            return sum(a == b for a, b in zip(given, correct, strict=False)) / len(correct)
        return 1.0 if given == correct else 0.0

    def review(self, definition, answer):
        return {"explanation": definition.get("explanation", ""),
                "correct_order": [entry["text"] for entry in definition["entries"]]}


class Matching(ItemType):
    name, label = "matching", "Match each item"

    def build(self, key, raw):
        pairs = raw.get("pairs") or []
        if not 2 <= len(pairs) <= 8:
            raise ItemError("pairs", "give between 2 and 8 pairs")
        lefts = [pair["left"] for pair in pairs]
        rights = [pair["right"] for pair in pairs]
        if len(set(lefts)) != len(lefts) or len(set(rights)) != len(rights):
            raise ItemError("pairs", "each left and each right side must be different")
        return {"prompt": raw["prompt"], "explanation": raw.get("explanation", ""),
                "scoring": raw.get("scoring", "all_or_nothing"),
                "pairs": [{"left_id": opaque_id(key, "L", p["left"]), "left": p["left"],
                           "right_id": opaque_id(key, "R", p["right"]), "right": p["right"]}
                          for p in pairs]}

    def shuffle_ids(self, definition):
        return [pair["right_id"] for pair in definition["pairs"]]

    def public(self, definition, order):
        rights = {pair["right_id"]: pair["right"] for pair in definition["pairs"]}
        right_order = order or list(rights)
        return {"prompt": definition["prompt"],
                "lefts": [{"id": p["left_id"], "text": p["left"]} for p in definition["pairs"]],
                "rights": [{"id": i, "text": rights[i]} for i in right_order if i in rights]}

    def parse(self, definition, data):
        rights = {pair["right_id"] for pair in definition["pairs"]}
        matches = {}
        for pair in definition["pairs"]:
            value = _first(data, f"match-{pair['left_id']}")
            if value not in rights:
                raise Invalid("Match every item.", field=f"match-{pair['left_id']}")
            matches[pair["left_id"]] = value
        return {"matches": matches}

    def form_values(self, answer):
        return {f"match-{left}": [right] for left, right in (answer.get("matches") or {}).items()}

    def score(self, definition, answer):
        given = answer.get("matches") or {}
        right = sum(given.get(p["left_id"]) == p["right_id"] for p in definition["pairs"])
        if definition.get("scoring") == "partial":
            return right / len(definition["pairs"])
        return 1.0 if right == len(definition["pairs"]) else 0.0

    def review(self, definition, answer):
        return {"explanation": definition.get("explanation", ""),
                "correct_pairs": [(p["left"], p["right"]) for p in definition["pairs"]]}


REGISTRY: dict[str, ItemType] = {
    cls.name: cls() for cls in (SingleChoice, MultipleResponse, TrueFalse, Numeric, ShortText,
                                Ordering, Matching)
}


def item_type(name: str) -> ItemType:
    return REGISTRY[name]
