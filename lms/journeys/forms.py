"""WTForms for journey pages: sign-off with evidence, a new due date, starting by hand."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from lms.core.forms import IdField


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class SignOffForm(FlaskForm):
    note = TextAreaField("Note", filters=[_strip], validators=[Length(max=4000)])
    evidence_file = FileField("Evidence file (up to 10 MB)")


class DueDateForm(FlaskForm):
    due_on = DateField("New due date", validators=[DataRequired("Choose the new due date.")])
    reason = TextAreaField("Reason", filters=[_strip], validators=[
        DataRequired("Say why the due date changes; it is logged."), Length(max=1000)])


class StartJourneyForm(FlaskForm):
    template_id = SelectField("Journey", coerce=int,
                              validators=[DataRequired("Choose a journey.")])
    # A person's ID rather than a list of the partner's staff (thousands at a large partner);
    # empty (or 0) means the organisation itself.
    user_id = IdField("Person ID", minimum=0)
