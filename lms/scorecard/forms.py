"""Scorecard forms. The column mapping is read from request.form by the view (one select
per column of the uploaded file), and checked by upload.check_mapping."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from lms.core.forms import options

DECIMAL_CHOICES = options([("", "As the file shows it"), ("point", "Decimal point: 1,234.5"),
                           ("comma", "Decimal comma: 1.234,5")])


class UploadForm(FlaskForm):
    file = FileField("CSV file")
    default_as_of = DateField("As of, for rows without a date", validators=[Optional()])


class PreviewForm(FlaskForm):
    """The file travels back in a hidden field, so the mapping can change and be re-checked."""

    text = TextAreaField()
    file_name = HiddenField(validators=[Length(max=255, message=(
        "The file name is longer than 255 characters; rename the file and upload it again."))])
    default_as_of = DateField("As of, for rows without a date", validators=[Optional()])
    decimal = SelectField("Numbers are written with a", choices=DECIMAL_CHOICES,
                          validators=[Optional()])


class ClosePeriodForm(FlaskForm):
    period = HiddenField(validators=[DataRequired()])
    confirm = BooleanField("I understand that the scorecards of every partner are frozen as "
                           "they are now, and that closing cannot be undone.",
                           validators=[DataRequired("Tick the box to confirm.")])


class RevertImportForm(FlaskForm):
    confirm = BooleanField("I understand that every value this import changed goes back to "
                           "what it was before, for every partner it touched.",
                           validators=[DataRequired("Tick the box to confirm.")])


class WebhookForm(FlaskForm):
    url = StringField("Address (URL)", validators=[DataRequired(), Length(max=500)])
    description = StringField("What receives it", validators=[Optional(), Length(max=200)])


class TokenForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
