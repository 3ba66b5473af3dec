"""Numbers shown back to people."""

from decimal import Decimal


def format_number(value: float) -> str:
    """A number as a person would type it back: every digit, no exponent, no trailing .0."""
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
