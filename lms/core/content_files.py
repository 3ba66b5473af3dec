"""YAML content files validated with pydantic, with problems that name file, line and field.

Shared by every domain that reads `content/`; no domain knowledge here.
"""

from __future__ import annotations

import codecs
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


class _ContentLoader(yaml.SafeLoader):
    """YAML as content files mean it: `2026-02-30` or `2026-02-28` is text, as in YAML 1.2,
    and each field's schema decides what it must be. (PyYAML's 1.1 rules build a date
    while parsing, so an impossible one escaped as a ValueError with no file or line, and a
    title that looks like a date could not be a title.)"""


_ContentLoader.add_constructor("tag:yaml.org,2002:timestamp",
                               lambda loader, node: loader.construct_scalar(node))


def read_text(path: Path, problems: list[Problem], *, field: str = "(file)") -> str | None:
    """The UTF-8 text of a content file, or None with a problem naming the first bad line."""
    data = path.read_bytes()
    try:
        return data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError as error:
        body = data.removeprefix(codecs.BOM_UTF8)
        line = body[:error.start].count(b"\n") + 1
        problems.append(Problem(display(path), line, field,
                                f"not UTF-8 text (byte 0x{body[error.start]:02X} on this "
                                "line): save the file as UTF-8"))
        return None


def load_yaml(path: Path, problems: list[Problem]):
    """The data of a YAML file, or None with a problem naming its line."""
    text = read_text(path, problems)
    if text is None:
        return None
    try:
        return yaml.load(text, Loader=_ContentLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        reason = getattr(error, "problem", None) or str(error)
        problems.append(Problem(display(path), line, "(yaml)", f"not valid YAML: {reason}"))
        return None


def read_model(path: Path, schema: type[BaseModel], problems: list[Problem], *,
               invalid: set[str] | None = None, key: str = "slug"):
    """The validated model of a YAML file, or None with its problems appended.

    A file that exists but fails adds what it is known by to `invalid`: its `key` field as
    written (when the YAML can be read) and its file name. Loaders treat those as known when
    checking what refers to them, so one bad value is reported once, where it is, and not
    again as an "unknown" reference in every file that names the broken one.
    """
    found = _read_model(path, schema, problems)
    if found is None and invalid is not None and path.is_file():
        invalid.update(identifiers(path, key))
    return found


def identifiers(path: Path, key: str) -> set[str]:
    """What a content file is known by: its `key` field as written, and its file name."""
    names = {path.stem}
    try:
        data = yaml.load(path.read_bytes().decode("utf-8"), Loader=_ContentLoader)  # noqa: S506
    except (yaml.YAMLError, UnicodeDecodeError, OSError):
        return names
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, str) and value.strip():
        names.add(value.strip())
    return names


def _read_model(path: Path, schema: type[BaseModel], problems: list[Problem]):
    if not path.is_file():
        problems.append(Problem(display(path), 0, "(file)", "file not found"))
        return None
    before = len(problems)
    data = load_yaml(path, problems)
    if len(problems) > before:
        return None
    if not isinstance(data, dict):
        problems.append(Problem(display(path), 1, "(file)", "expected a mapping of fields"))
        return None
    try:
        return schema.model_validate(data)
    except ValidationError as error:
        node = compose(path)
        for loc, message in validation_problems(error, data):
            problems.append(problem_at(path, node, loc, message))
        return None


def validation_problems(error: ValidationError, data) -> list[tuple[tuple, str]]:
    """(location, message) per value pydantic refused in `data`: one message per value.

    Pydantic reports a value refused by a union once per member (`answer.bool`,
    `answer.float`), with the member's name in the location; a location is therefore read
    against the data itself, and the members' complaints about one value become one
    message ("input should be a valid boolean or a valid number").
    """
    found: dict[tuple, list[str]] = {}
    for detail in error.errors():
        loc = _in_data(data, detail["loc"], detail["type"])
        message = _message(detail)
        if message not in found.setdefault(loc, []):
            found[loc].append(message)
    return [(loc, _joined(messages)) for loc, messages in found.items()]


def _in_data(data, loc: tuple, kind: str) -> tuple:
    """The parts of `loc` that are levels of `data`; the others name union members."""
    path, node = [], data
    for index, part in enumerate(loc):
        level = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node))
        if level:
            node = node[part]
        elif index == len(loc) - 1 and kind == "missing" and isinstance(node, dict):
            node = None  # the missing field itself: named, though it is not in the data
        else:
            continue
        path.append(part)
    return tuple(path)


def _joined(messages: list[str]) -> str:
    prefix = "input should be "
    if len(messages) > 1 and all(m.startswith(prefix) for m in messages):
        return prefix + " or ".join(m.removeprefix(prefix).split(", unable")[0]
                                    for m in messages)
    return "; ".join(messages)


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
        return yaml.compose(Path(path).read_bytes().removeprefix(codecs.BOM_UTF8)
                            .decode("utf-8"), Loader=_ContentLoader)
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
