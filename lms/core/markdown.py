"""Markdown to safe HTML: markdown-it-py renders, nh3 sanitises."""

from __future__ import annotations

import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

_ALLOWED_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "img", "li", "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead",
    "tr", "ul",
}
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"style"},
    "td": {"style"},
    "code": {"class"},
}


def render(text: str) -> Markup:
    """Render author Markdown to HTML safe to put in a page."""
    return Markup(_render(text or ""))


# What pages render is published content (lesson bodies, questions, explanations): a few
# hundred texts that never change once published, shown on every view. Parsing and
# sanitising one costs milliseconds, more than the rest of a lesson page together, so each
# process keeps the HTML of the texts it rendered last. Keyed by the text itself, it is
# never stale, and it is a cache only: no other process needs it.
@lru_cache(maxsize=512)
def _render(text: str) -> str:
    html = _renderer.render(text)
    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        filter_style_properties={"text-align"},
    )
    return clean


def render_inline(text: str) -> Markup:
    """One line of Markdown (an answer option): code, emphasis, no blocks."""
    return Markup(_render_inline(text or ""))


@lru_cache(maxsize=2048)
def _render_inline(text: str) -> str:
    html = _renderer.renderInline(text)
    return nh3.clean(html, tags={"code", "em", "strong"}, attributes={})


def plain(text: str) -> str:
    """Markdown reduced to its words, for places HTML cannot go (a <select> option)."""
    return re.sub(r"[`*_]", "", text or "")
