"""Show a domain error next to the form field it names."""

from __future__ import annotations

from flask_wtf import FlaskForm

from lms.core.errors import DomainError


def attach_error(form: FlaskForm, error: DomainError) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, error.message] if isinstance(field.errors, list) \
            else [error.message]
    else:
        form.form_errors.append(error.message)
