"""PDF documents from HTML with WeasyPrint, and QR codes as inline SVG with segno."""

from __future__ import annotations

import threading

import segno
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

# Building a FontConfiguration loads fontconfig's view of every system font; sharing one keeps
# warm renders fast. Pango font maps are not documented as thread-safe, and PDFs are rare
# enough that rendering one at a time per process costs nothing noticeable.
_font_config = FontConfiguration()
_lock = threading.Lock()
# A render inside a request must never wait on the network (on `flask run`, fetching one of our
# own URLs would wait on ourselves), and a document must not be a way to reach other hosts
# or the server's files: everything a template needs is inline.
_PROTOCOLS = frozenset({"data"})


def render_pdf(html: str, *, title: str, author: str, subject: str,
               base_url: str | None = None) -> bytes:
    """Render an HTML document to PDF bytes, with these Title, Author and Subject fields."""
    with _lock:
        fetcher = URLFetcher(allowed_protocols=_PROTOCOLS)  # holds per-request state
        document = HTML(string=html, base_url=base_url, url_fetcher=fetcher)
        rendered = document.render(font_config=_font_config)
        # Set through the metadata API so the arguments win over whatever <title> and <meta>
        # the template carries (WeasyPrint writes description as the PDF Subject).
        rendered.metadata.title = title
        rendered.metadata.authors = [author]
        rendered.metadata.description = subject
        return rendered.write_pdf()


def qr_svg(data: str, *, dark: str = "#000", title: str | None = None) -> Markup:
    """A QR code for `data` as inline SVG that scales to whatever size CSS gives it."""
    # Level M survives a crease or a smudge on a printed page; never a Micro QR, which few
    # phone scanners read. The 4-module quiet zone is kept, light, so it scans on any paper.
    code = segno.make_qr(data, error="m", boost_error=True)
    svg = code.svg_inline(dark=dark, light="#fff", omitsize=True, title=title,
                          svgclass="qr", lineclass=None)
    return Markup(svg)
