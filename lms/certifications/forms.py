"""WTForms for certification pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class RevokeForm(FlaskForm):
    reason = TextAreaField(
        "Reason", filters=[_strip],
        validators=[DataRequired("Give the reason for revoking; it is logged and the holder "
                                 "is told."), Length(max=2000)])
    confirm = BooleanField(
        "I understand that revoking is permanent: the verification page, the API and any "
        "fresh PDF will say this certificate was revoked.",
        validators=[DataRequired("Tick the box to confirm.")])
