"""Uploads leave the app as downloads: neutral type, attachment, nosniff, sandboxing CSP,
through the one helper every file route uses."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lms.config import PROJECT_ROOT
from lms.core.downloads import content_disposition, safe_filename, served_type


@pytest.mark.parametrize(("declared", "served"), [
    ("text/javascript", "application/octet-stream"),
    ("text/html; charset=utf-8", "application/octet-stream"),
    ("image/svg+xml", "application/octet-stream"),
    ("application/xhtml+xml", "application/octet-stream"),
    ("", "application/octet-stream"),
    (None, "application/octet-stream"),
    ("application/pdf", "application/pdf"),
    ("IMAGE/PNG", "image/png"),
    ("image/jpeg", "image/jpeg"),
])
def test_only_inert_types_keep_their_declared_type(declared, served):
    assert served_type(declared) == served


@pytest.mark.parametrize(("given", "safe"), [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\ana\\plan.pdf", "plan.pdf"),
    ('a"b.pdf', "ab.pdf"),
    ("evil\u202efdp.exe", "evilfdp.exe"),
    ("line\r\nbreak.txt", "linebreak.txt"),
    ("...", "download"),
    ("", "download"),
    ("x" * 300 + ".pdf", "x" * 146 + ".pdf"),
])
def test_file_names_are_made_safe(given, safe):
    assert safe_filename(given) == safe


def test_a_non_ascii_name_has_an_ascii_fallback_and_the_exact_name():
    value = content_disposition("plan été 100%.pdf")
    assert value.startswith('attachment; filename="plan ete 100_.pdf"')
    assert "filename*=UTF-8''plan%20%C3%A9t%C3%A9%20100%25.pdf" in value


def test_no_view_serves_stored_bytes_except_through_serve_upload():
    """send_file, or a Response built from a stored file, would skip the safe headers."""
    offenders = []
    for path in (PROJECT_ROOT / "lms").rglob("*.py"):
        if path.name == "downloads.py" and path.parent.name == "core":
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in ("send_file", "send_from_directory"):
                    offenders.append(f"{Path(path).relative_to(PROJECT_ROOT)}:{node.lineno}")
                if name == "Response" and node.args and isinstance(node.args[0], ast.Attribute) \
                        and node.args[0].attr == "data":
                    offenders.append(f"{Path(path).relative_to(PROJECT_ROOT)}:{node.lineno}")
    assert offenders == []
