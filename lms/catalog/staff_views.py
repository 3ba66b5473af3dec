"""Partner staff pages: partner admins for their own organisation, vendor staff for all.

They live in catalog because they show learning progress and assign tracks; the account
changes themselves are accounts services.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from lms.accounts import scoping
from lms.accounts import service as accounts
from lms.accounts.forms import AssignTrackForm, EmptyForm, InviteForm, JobRoleForm
from lms.accounts.models import User
from lms.accounts.permissions import require
from lms.catalog import reminders, staff_list
from lms.catalog.assignments import assign_manually
from lms.catalog.models import LessonCompletion
from lms.catalog.progress import learner_tracks
from lms.catalog.service import track_choices
from lms.core import clock, sections
from lms.core.errors import DomainError, PermissionDenied
from lms.core.forms import attach_error, options
from lms.core.jobs import commit
from lms.core.params import query_int, query_text
from lms.extensions import db

bp = Blueprint("partner", __name__)



@bp.route("/staff")
@require("my_organisation")
def my_staff():
    return redirect(url_for("partner.staff", organisation_id=current_user.organisation_id))


PER_PAGE = 50


@bp.route("/organisations/<int:organisation_id>/staff")
@require("read_partners", hide=True)
def staff(organisation_id: int):
    organisation = scoping.get_organisation_for(current_user, organisation_id)
    search = query_text("q")
    found = staff_list.staff_page(organisation.id, actor=current_user, search=search,
                                  page=query_int("page", 1, minimum=1), per_page=PER_PAGE)
    return render_template(
        "partner/staff.html", organisation=organisation, found=found, search=search,
        query={"q": search} if search else {},
        figures=staff_list.team_figures(organisation.id, clock.now()),
        can_manage=scoping.can_manage_staff(current_user, organisation.id),
        job_roles=accounts.term_names("job_role"), tiers=accounts.term_names("tier"),
        partner_types=accounts.term_names("partner_type"), regions=accounts.term_names("region"),
        invite_form=_invite_form(),
    )


def _invite_form() -> InviteForm:
    form = InviteForm()
    form.job_role.choices = options(accounts.term_choices("job_role"))
    return form


@bp.route("/organisations/<int:organisation_id>/staff/invite", methods=["GET", "POST"])
@require("manage_team", hide=True)
def invite(organisation_id: int):
    organisation = scoping.get_organisation_for(current_user, organisation_id)
    if not scoping.can_manage_staff(current_user, organisation.id):
        raise PermissionDenied("You cannot invite people to this organisation.")
    form = _invite_form()
    if form.validate_on_submit():
        try:
            user, _secret = accounts.invite_user(
                organisation_id=organisation.id, email=form.email.data,
                full_name=form.full_name.data, job_role=form.job_role.data,
                role=form.role.data, invited_by=current_user)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
            return render_template("partner/invite.html", form=form,
                                   organisation=organisation), error.status
        commit()
        flash(f"Invitation sent to {user.email}. The link works for "
              f"{current_app.config['INVITATION_TTL_DAYS']} days.", "success")
        return redirect(url_for("partner.staff", organisation_id=organisation.id))
    status = 422 if form.errors else 200
    return render_template("partner/invite.html", form=form, organisation=organisation), status


@bp.route("/people/<int:user_id>", methods=["GET", "POST"])
@require("read_partners", hide=True)
def person(user_id: int):
    person = scoping.get_user_for(current_user, user_id)
    can_manage = person.organisation_id is not None and \
        scoping.can_manage_staff(current_user, person.organisation_id)
    role_form = JobRoleForm(prefix="role", job_role=person.job_role)
    role_form.job_role.choices = options(accounts.term_choices("job_role"))
    assign_form = AssignTrackForm(prefix="assign")
    assign_form.track_id.choices = options(track_choices())
    status = 200
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("You cannot change this person.")
        status = _handle_person_post(person, role_form, assign_form)
        if status == 303:
            return redirect(url_for("partner.person", user_id=person.id), code=303)
    now = clock.now()
    # Certificates, attempts and journeys come from the domains above this one.
    filled = sections.fill("person", person=person, now=now)
    learned = db.session.scalar(select(func.max(LessonCompletion.completed_at))
                                .where(LessonCompletion.user_id == person.id))
    moments = [m for m in (person.last_login_at, learned, *(f.last_activity for f in filled))
               if m is not None]
    last_reminded = reminders.last_reminder_at(person)
    return render_template(
        "partner/person.html", person=person, tracks=learner_tracks(person.id),
        can_manage=can_manage, role_form=role_form, assign_form=assign_form,
        action_form=EmptyForm(), job_roles=accounts.term_names("job_role"),
        sections=filled, last_activity=max(moments, default=None), now=now,
        last_reminded=last_reminded,
        reminder_due=last_reminded is None or now - last_reminded >= reminders.EVERY,
    ), status


def _handle_person_post(person: User, role_form: JobRoleForm, assign_form: AssignTrackForm) -> int:
    """Apply the submitted action; 303 on success, the error status to re-render otherwise."""
    action = request.form.get("action")
    try:
        if action == "job_role" and role_form.validate_on_submit():
            accounts.change_job_role(person.id, role_form.job_role.data)
            role_name = accounts.term_names("job_role")[person.job_role]
            flash(f"{person.full_name} is now in {role_name}. "
                  "Their assigned tracks follow the new role.", "success")
        elif action == "assign" and assign_form.validate_on_submit():
            due = assign_form.due_date.data
            due_at = datetime.combine(due, time(23, 59), tzinfo=UTC) if due else None
            assign_manually(user_id=person.id, track_id=assign_form.track_id.data,
                            due_at=due_at, assigned_by=current_user)
            flash("Track assigned.", "success")
        elif action in ("deactivate", "reactivate") and EmptyForm().validate_on_submit():
            accounts.set_active(person.id, action == "reactivate", actor=current_user)
            flash(f"{person.full_name} is {'re' if action == 'reactivate' else 'de'}activated.",
                  "success")
        elif action == "remind" and EmptyForm().validate_on_submit():
            reminders.send_reminder(person.id, actor=current_user, now=clock.now())
            flash(f"A reminder of their unfinished tracks is on its way to {person.email}.",
                  "success")
        elif action == "resend" and EmptyForm().validate_on_submit():
            accounts.resend_invitation(person.id, invited_by=current_user)
            flash(f"A new invitation is on its way to {person.email}.", "success")
        else:
            return 422
    except DomainError as error:
        db.session.rollback()
        attach_error(assign_form if action == "assign" else role_form, error)
        if action not in ("assign", "job_role"):
            flash(error.message, "error")
        return error.status
    commit()
    return 303


