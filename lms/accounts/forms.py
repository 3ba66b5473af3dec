"""WTForms for accounts. Choices come from the synced vocabularies at request time."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.fields import DateField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from lms.accounts.passwords import MIN_PASSWORD_LENGTH
from lms.core.forms import IdField, options


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email()], filters=[_strip])
    password = PasswordField("Password", validators=[DataRequired()])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email()], filters=[_strip])


class SetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[
        DataRequired(), Length(min=MIN_PASSWORD_LENGTH,
                               message=f"Use at least {MIN_PASSWORD_LENGTH} characters.")])
    confirm = PasswordField("Repeat the password", validators=[
        DataRequired(), EqualTo("password", message="The two passwords differ.")])


class OrganisationForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    partner_type = SelectField("Partner type", validators=[DataRequired()])
    tier = SelectField("Tier", validators=[DataRequired()])
    region = SelectField("Region", validators=[DataRequired()])
    status = SelectField("Status", choices=options([("active", "Active"),
                                                    ("suspended", "Suspended"),
                                                    ("inactive", "Inactive")]))


class InviteForm(FlaskForm):
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired(), Email()], filters=[_strip])
    job_role = SelectField("Job role", validators=[DataRequired()])
    role = SelectField("Access", choices=options([("learner", "Learner"),
                                                  ("partner_admin", "Partner admin")]))


class JobRoleForm(FlaskForm):
    job_role = SelectField("Job role", validators=[DataRequired()])


class AssignTrackForm(FlaskForm):
    track_id = SelectField("Track", coerce=int, validators=[DataRequired()])
    due_date = DateField("Due date", validators=[Optional()])


class UserForm(FlaskForm):
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired(), Email()], filters=[_strip])
    role = SelectField("Role")
    # An ID, not a list of every partner: thousands of options made the page hundreds of KB.
    organisation_id = IdField("Partner ID")
    job_role = SelectField("Job role")
    active = BooleanField("Active", default=True)


class EmptyForm(FlaskForm):
    """CSRF-only form for buttons that change state."""


class EndSessionForm(FlaskForm):
    session_id = HiddenField(validators=[DataRequired(), Length(min=64, max=64)])
