"""Form helpers: a domain error shown next to the field it names, select options, and a
field for a typed ID."""

from __future__ import annotations

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.fields.choices import SelectChoice

from lms.core.errors import DomainError, Invalid
from lms.core.params import parse_int


def attach_error(form: FlaskForm, error: DomainError) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, error.message] if isinstance(field.errors, list) \
            else [error.message]
    else:
        form.form_errors.append(error.message)


def options(pairs: Iterable[tuple[object, str]]) -> list[SelectChoice]:
    """(value, label) pairs as select options."""
    return [SelectChoice(value, label) for value, label in pairs]


class IdField(StringField):
    """A record's ID typed by someone (a partner's or a person's), or None when blank.

    Parsed like every number from a request (lms.core.params.parse_int): ASCII digits, at
    most the largest ID a column holds, so no typed value overflows or reaches SQL unbounded.
    """

    def __init__(self, label=None, validators=None, *, minimum: int = 1, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.minimum = minimum

    def process_formdata(self, valuelist):
        try:
            self.data = parse_int(valuelist[0] if valuelist else None, self.name,
                                  minimum=self.minimum)
        except Invalid:
            self.data = None
            raise ValueError(self.gettext("Give the ID as a whole number, such as 42.")) \
                from None

    def _value(self) -> str:
        return "" if self.data is None else str(self.data)
