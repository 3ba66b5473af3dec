"""The app's JSON reader: every request body parsed as JSON (`request.get_json`, also the
forms' own JSON path) goes through it, so no endpoint can meet a document the database or
the code after it cannot take.

Refused, with the path of the value (`values[0].partner`) as the field: nesting deeper than
MAX_DEPTH, text with NUL or a lone surrogate (PostgreSQL stores neither), integers beyond
what a float holds exactly, and NaN or infinite numbers.
"""

from __future__ import annotations

import math

from flask.json.provider import DefaultJSONProvider

from lms.core.errors import Invalid

MAX_DEPTH = 20  # the deepest body the API takes is 3 levels
MAX_SAFE_INT = 2**53  # beyond it, a float (metric values) is no longer exact


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "Text cannot contain NUL characters."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Text must be valid Unicode: it contains a lone surrogate (\\ud800-\\udfff)."
    return None


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def check(document) -> None:
    """Raise Invalid naming the first unacceptable value of a parsed document."""
    stack = [(document, "", 0)]
    while stack:  # iterative: a deep document must not exhaust the Python stack here
        value, path, depth = stack.pop()
        field = path or "body"
        if depth > MAX_DEPTH:
            raise Invalid(f"The JSON nests deeper than {MAX_DEPTH} levels.",
                          field=path.split(".")[0].split("[")[0] or "body")
        if isinstance(value, dict):
            for key, item in value.items():
                problem = _text_problem(key)
                if problem:
                    raise Invalid(problem, field=field)
                stack.append((item, _join(path, key), depth + 1))
        elif isinstance(value, list):
            stack.extend((item, _join(path, index), depth + 1)
                         for index, item in enumerate(value))
        elif isinstance(value, str):
            problem = _text_problem(value)
            if problem:
                raise Invalid(problem, field=field)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if abs(value) > MAX_SAFE_INT:
                raise Invalid(f"The number is too large (more than {MAX_SAFE_INT:,}).",
                              field=field)
        elif isinstance(value, float) and not math.isfinite(value):
            raise Invalid("Numbers must be finite (not NaN or Infinity).", field=field)


class GuardedJSONProvider(DefaultJSONProvider):
    def loads(self, s, **kwargs):
        try:
            document = super().loads(s, **kwargs)
        except RecursionError:
            # As unreadable as any malformed body: `get_json(silent=True)` sees None, and
            # each endpoint names the field it expected.
            raise ValueError("The JSON nests too deeply to be read.") from None
        check(document)
        return document
