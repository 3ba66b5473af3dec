"""Serving files people uploaded (evidence, lesson assets): always as a download.

An upload's declared type is the uploader's word. Served inline as `text/javascript` or
`text/html` from our own origin, it would be a script or page that the site's CSP trusts.
So every stored file leaves through `serve_upload`: an attachment, a neutral type unless the
type is on a short allow-list of formats browsers never run, no sniffing, and a sandboxing
CSP in case a browser renders it anyway.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from flask import Response

# Kept as declared: still attachments, and none of these can run script in a browser.
SAFE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})
NEUTRAL_TYPE = "application/octet-stream"
UPLOAD_CSP = "sandbox; default-src 'none'"
MAX_NAME = 150


def served_type(declared: str | None) -> str:
    """The Content-Type an upload is served with: its own only if on the allow-list."""
    base = (declared or "").split(";", 1)[0].strip().lower()
    return base if base in SAFE_TYPES else NEUTRAL_TYPE


def safe_filename(name: str | None, fallback: str = "download") -> str:
    """A file name without folders, control or format characters, quotes or backslashes."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    # Cc: controls (CR/LF would split the header); Cf: format characters, e.g. the bidi
    # overrides that make "evil\u202Efdp.exe" display as "evilexe.pdf".
    name = "".join(ch for ch in name
                   if unicodedata.category(ch) not in ("Cc", "Cf") and ch not in '"')
    name = name.strip().lstrip(".").strip()
    if len(name) > MAX_NAME:
        stem, dot, extension = name.rpartition(".")
        name = (stem[:MAX_NAME - len(extension) - 1] + "." + extension
                if dot and len(extension) <= 10 else name[:MAX_NAME])
    return name or fallback


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266)."""
    ascii_name = (unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
                  .replace("%", "_").strip() or "download")
    value = f'attachment; filename="{ascii_name}"'
    if ascii_name != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


def serve_upload(data: bytes, *, filename: str | None, content_type: str | None) -> Response:
    """The one way a stored upload is sent to a browser."""
    response = Response(data, mimetype=served_type(content_type))
    response.headers["Content-Disposition"] = content_disposition(safe_filename(filename))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = UPLOAD_CSP
    return response
