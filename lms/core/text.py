"""Text typed by people and shown to others: bidirectional controls neutralised.

A right-to-left override (U+202E) or an isolate in a name reorders the text around it, so
"Ana\u202Edetoved\u202C" can make a verification page or a certificate say what it does not.
Names refuse these characters on input (`has_bidi_controls`), and every place that shows
text neutralises any already stored: the Jinja `finalize` hook strips them from every printed
string, and the `person_name` filter also isolates the name with <bdi>, so even legitimate
right-to-left names cannot reorder the sentence they sit in.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# Embeddings and overrides, isolates, the LRM/RLM marks and the Arabic letter mark.
BIDI_CONTROLS = ("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                 "\u200e\u200f\u061c")
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")


def has_bidi_controls(text: str | None) -> bool:
    return bool(text) and _BIDI.search(text) is not None


def strip_bidi(text: str | None) -> str:
    """`text` without bidirectional control characters ('' for None)."""
    if not text:
        return ""
    return _BIDI.sub("", text)


def person_name(text: str | None) -> Markup:
    """A name for HTML: controls stripped, isolated from the text around it."""
    return Markup("<bdi>%s</bdi>") % escape(strip_bidi(text))


def finalize(value):
    """Jinja's finalize hook: every plain string a template prints loses bidi controls.
    Markup (already built by a filter or the Markdown renderer) is left as it is."""
    if type(value) is str and _BIDI.search(value):
        return _BIDI.sub("", value)
    return value
