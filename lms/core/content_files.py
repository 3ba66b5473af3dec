"""YAML content files validated with pydantic, with problems that name file, line and field.

Shared by every domain that reads `content/`; no domain knowledge here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError


class Strict(BaseModel):
    """Content schemas refuse unknown fields (a typo is an error, not a silent default)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


class ContentError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s) in content")
        self.problems = problems


def read_model(path: Path, schema: type[BaseModel], problems: list[Problem]):
    if not path.is_file():
        problems.append(Problem(display(path), 0, "(file)", "file not found"))
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        problems.append(Problem(display(path), 0, "(file)", "not UTF-8 text"))
        return None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        reason = getattr(error, "problem", None) or str(error)
        problems.append(Problem(display(path), line, "(yaml)", f"not valid YAML: {reason}"))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(display(path), 1, "(file)", "expected a mapping of fields"))
        return None
    try:
        return schema.model_validate(data)
    except ValidationError as error:
        node = compose(path)
        for detail in error.errors():
            loc = tuple(part for part in detail["loc"] if not isinstance(part, str)
                        or not part.startswith(("function-", "[")))
            problems.append(problem_at(path, node, loc, _message(detail)))
        return None


def _message(detail: dict) -> str:
    kind, message = detail["type"], detail["msg"]
    if kind == "value_error":  # our own validators: the message without "Value error, "
        return str(detail["ctx"]["error"])
    if kind == "missing":
        return "this field is required"
    if kind == "extra_forbidden":
        return "unknown field (check the spelling against docs/content-format.md)"
    if kind == "string_pattern_mismatch":
        if "https" in str(detail.get("ctx", {}).get("pattern", "")):
            return "must be an https:// link"
        return "use lowercase letters, digits and dashes (like 'sales-foundations')"
    return message[0].lower() + message[1:] if message else kind


def compose(path: Path):
    try:
        return yaml.compose(Path(path).read_text(encoding="utf-8"))
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return None


def problem_at(path: Path, node, loc: tuple, message: str) -> Problem:
    return Problem(display(path), _line_of(node, loc), _field(loc), message)


def _field(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(file)"


def _line_of(node, loc: tuple) -> int:
    """1-based line of the deepest node along `loc` that exists in the YAML tree."""
    if node is None:
        return 0
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == part:
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def display(path: Path) -> str:
    """Path as the author typed it: relative to the working directory when inside it."""
    resolved, cwd = Path(path).resolve(), Path.cwd()
    return str(resolved.relative_to(cwd)) if resolved.is_relative_to(cwd) else str(resolved)
