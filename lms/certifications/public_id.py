"""Certificate IDs people can read aloud, type and check: 135 random bits plus a check character.

Crockford's base32 alphabet (no I, L, O or U, so nothing looks alike), seven groups of
four. The last character is a Luhn mod 32 check over the others, which catches every
single mistyped character and almost every swap of two neighbours before any lookup.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import unquote

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_CHARS = 27  # 27 x 5 = 135 bits, more than the 128 the issue asks for
LENGTH = RANDOM_CHARS + 1
GROUP = 4
_VALUE = {char: value for value, char in enumerate(ALPHABET)}
# What people type for what they mean: Crockford's decoding of look-alikes.
_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_IGNORED = str.maketrans("", "", " -_.\t\u00a0\u2010\u2011\u2012\u2013\u2014")
# A verification link pasted whole (https://host/verify/ID, with or without the scheme):
# the ID is the path segment after /verify/.
_IN_LINK = re.compile(r"/verify/([^/?#\s]+)", re.IGNORECASE)


class MalformedId(ValueError):
    """Cannot be a certificate ID at all (wrong length or characters)."""


class MistypedId(ValueError):
    """Looks like a certificate ID, but the check character says a character is wrong."""


def check_character(body: str) -> str:
    """Luhn mod N over `body` (N = 32), in the alphabet."""
    total, factor = 0, 2
    for char in reversed(body):
        addend = factor * _VALUE[char]
        total += addend // 32 + addend % 32
        factor = 1 if factor == 2 else 2
    return ALPHABET[(32 - total % 32) % 32]


def generate() -> str:
    """A new canonical ID (28 characters, no dashes)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_CHARS))
    return body + check_character(body)


def from_link(typed: str) -> str:
    """The ID part of a pasted verification link; anything else as it was."""
    found = _IN_LINK.search(typed)
    return unquote(found.group(1)) if found else typed


def compact(typed: str) -> str:
    """What was typed as an ID's characters would be compared: upper case, no separators,
    look-alikes read as Crockford does (no length or check character test)."""
    return from_link(typed or "").upper().translate(_IGNORED).translate(_LOOK_ALIKES)


def normalise(typed: str) -> str:
    """The canonical ID for what someone typed: any case, spaces or dashes, O for 0, I/L for 1.

    Raises MalformedId when it cannot be an ID, MistypedId when the check character fails.
    """
    text = compact(typed)
    if len(text) != LENGTH:
        raise MalformedId(f"A certificate ID has {LENGTH} letters and digits; "
                          f"this one has {len(text)}.")
    bad = sorted({char for char in text if char not in ALPHABET})
    if bad:
        raise MalformedId(f"A certificate ID never contains {', '.join(bad)}.")
    if check_character(text[:-1]) != text[-1]:
        raise MistypedId("This ID has a typing mistake: its last character does not match "
                         "the rest. Check each character against the certificate.")
    return text


def display(canonical: str) -> str:
    """Grouped for reading: 7K3M-9QPX-...-JA5E."""
    return "-".join(canonical[i:i + GROUP] for i in range(0, len(canonical), GROUP))
