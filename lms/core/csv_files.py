"""Uploaded CSV files: bytes to text, and a reader that finds the separator.

Every upload page (certificate checks, scorecard metrics) accepts the same encodings and
names the same mistakes by their line; what a file's rows mean is the caller's business.
"""

from __future__ import annotations

import codecs
import csv
import io
import re

from lms.core.errors import Invalid

_SEP_LINE = re.compile(r"^sep=([,;\t|])\s*$", re.IGNORECASE)


def decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM, as Excel's "CSV UTF-8" writes it) or BOM-marked UTF-16."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass  # reported below as not UTF-8, with the line
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise Invalid(f"Line {line} is not UTF-8 text (it has the byte "
                      f"0x{data[error.start]:02X}). Save the file as UTF-8 (in Excel: "
                      "\u201cCSV UTF-8\u201d) and upload it again.", field="file") from None


def reader(text: str, *, empty: str):
    """A strict csv.reader over `text` (a BOM left by decoding dropped). The separator is
    the one Excel's `sep=;` first line names (that line is then skipped, and line numbers
    still count it), else the first of comma, semicolon or tab on the first line (Excel
    writes semicolons in some locales). Invalid with `empty` for a file with nothing in it,
    and naming the line of a NUL character (a binary file chosen by mistake)."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise Invalid(empty, field="file")
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        raise Invalid(f"Line {line} contains a NUL character: is this really a CSV file?",
                      field="file")
    first = text.splitlines()[0]
    declared = _SEP_LINE.match(first)
    if declared:
        rest = text.split("\n", 1)[1] if "\n" in text else ""
        if not rest.strip():
            raise Invalid(empty, field="file")
        delimiter = declared.group(1)
    else:
        delimiter = next((d for d in ",;\t" if d in first), ",")
    found = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    if declared:
        next(found)  # the sep= line itself; line_num goes on counting from it
    return found

