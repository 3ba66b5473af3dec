"""Sign-in, invitations, password reset; partner staff management; vendor administration."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from lms.accounts import lists, scoping, service, sessions
from lms.accounts.forms import (
    EmptyForm,
    EndSessionForm,
    ForgotPasswordForm,
    LoginForm,
    OrganisationForm,
    SetPasswordForm,
    UserForm,
)
from lms.accounts.models import ROLE_LABELS, ROLES, Organisation, User
from lms.accounts.navigation import main_navigation
from lms.accounts.permissions import can, require
from lms.core import clock, sections, tokens
from lms.core.errors import DomainError
from lms.core.forms import attach_error, options
from lms.core.jobs import commit
from lms.core.params import query_int, query_text
from lms.extensions import db, login_manager

bp = Blueprint("accounts", __name__)


@login_manager.user_loader
def _load_user(secret: str) -> User | None:
    """The cookie's session must still be recorded and live (see lms.accounts.sessions)."""
    return sessions.resolve(secret)


def sign_in(user: User) -> None:
    """Start a recorded session for `user` and put its secret in the cookie, not the id."""
    secret = sessions.start(user, user_agent=request.headers.get("User-Agent", ""),
                            ip_address=request.remote_addr or "")
    commit()
    session.clear()  # nothing from before sign-in carries over (session fixation)
    login_user(user)
    session["_user_id"] = secret


def sign_out() -> None:
    sessions.end(session.get("_user_id", ""))
    commit()
    logout_user()


admin_bp = Blueprint("admin", __name__, url_prefix="/admin")
# Templates show a link or an action only to those whose rights open it.
bp.add_app_template_global(can, "can")
bp.add_app_template_global(main_navigation, "main_navigation")

def _choices(kind: str) -> list:
    return options(service.term_choices(kind))


# --- sign-in ---------------------------------------------------------------------------------

@bp.route("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    if current_user.role == "partner_admin":
        return redirect(url_for("partner.staff", organisation_id=current_user.organisation_id))
    if current_user.role == "learner":
        return redirect(url_for("catalog.my_learning"))
    if current_user.role == "author":
        return redirect(url_for("catalog.catalogue"))
    return redirect(url_for("admin.organisations"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("accounts.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = service.authenticate(form.email.data, form.password.data,
                                        ip_address=request.remote_addr or "unknown")
        except DomainError as error:
            commit()  # the failed attempt is recorded: it feeds the rate limit
            attach_error(form, error)
            return render_template("accounts/login.html", form=form), error.status, error.headers
        commit()
        sign_in(user)
        return redirect(_safe_next() or url_for("accounts.home"))
    return render_template("accounts/login.html", form=form), 422 if form.errors else 200


def _safe_next() -> str | None:
    """A local path to return to after sign-in, or None: never another host."""
    target = request.args.get("next", "")
    # Browsers drop tabs and newlines and read "\\" as "/", so "/\t/evil" means "//evil".
    cleaned = "".join(ch for ch in target if ch.isprintable() and not ch.isspace())
    cleaned = cleaned.replace("\\", "/")
    parts = urlsplit(cleaned)
    if not cleaned.startswith("/") or cleaned.startswith("//") or parts.scheme or parts.netloc:
        return None
    return cleaned


@bp.route("/logout", methods=["POST"])
def logout():
    sign_out()
    flash("You are signed out.", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            service.request_password_reset(form.email.data,
                                           ip_address=request.remote_addr or "unknown")
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
            return render_template("accounts/forgot.html", form=form), error.status, \
                error.headers
        commit()
        flash("If an account uses that address, a reset link is on its way. "
              "It works once, within the hour.", "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    service.find_password_reset(token)  # a dead link says why before anyone types a password
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = service.reset_password(token, form.password.data)
        except DomainError as error:
            attach_error(form, error)
            return render_template("accounts/reset.html", form=form), error.status
        commit()
        flash(f"Your password is changed, {user.full_name}. Sign in with it now.", "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    invitation = service.find_invitation(token)
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = service.accept_invitation(token, form.password.data)
        except DomainError as error:
            attach_error(form, error)
            return render_template("accounts/invitation.html", form=form,
                                   invitation=invitation), error.status
        commit()
        sign_out()
        sign_in(user)
        flash(f"Welcome, {user.full_name}. Your learning plan is ready.", "success")
        return redirect(url_for("accounts.home"))
    return render_template("accounts/invitation.html", form=form, invitation=invitation)


# --- one's own sessions ----------------------------------------------------------------------

@bp.route("/account/sessions")
@login_required
def my_sessions():
    """Where one is signed in, with a button to end any other session (or all of them)."""
    listed = sessions.active(current_user.id, current_secret=session.get("_user_id"))
    return render_template("accounts/sessions.html", sessions=listed, end_form=EndSessionForm(),
                           end_others_form=EmptyForm(),
                           idle_minutes=current_app.config["SESSION_IDLE_MINUTES"],
                           max_hours=current_app.config["SESSION_MAX_HOURS"])


@bp.route("/account/sessions/end", methods=["POST"])
@login_required
def end_session():
    form = EndSessionForm()
    if not form.validate_on_submit():
        flash("Choose the session to end.", "error")
        return redirect(url_for("accounts.my_sessions"), code=303)
    current = form.session_id.data == _current_session_key()
    sessions.end_one(current_user.id, form.session_id.data)
    commit()
    if current:
        logout_user()
        flash("You are signed out.", "info")
        return redirect(url_for("accounts.login"), code=303)
    flash("That session has ended: the browser using it is signed out.", "success")
    return redirect(url_for("accounts.my_sessions"), code=303)


@bp.route("/account/sessions/end-others", methods=["POST"])
@login_required
def end_other_sessions():
    if EmptyForm().validate_on_submit():
        ended = sessions.end_all(current_user.id, except_secret=session.get("_user_id"))
        commit()
        flash(f"Signed out everywhere else ({ended} session{'' if ended == 1 else 's'} ended).",
              "success")
    return redirect(url_for("accounts.my_sessions"), code=303)


def _current_session_key() -> str | None:
    secret = session.get("_user_id")
    return tokens.digest(secret) if secret else None


# --- vendor administration -------------------------------------------------------------------

PER_PAGE = 50


@admin_bp.route("/organisations")
@require("list_partners")
def organisations():
    tiers, partner_types, regions = (service.term_names(kind)
                                     for kind in ("tier", "partner_type", "region"))
    # Only known codes filter: anything else would just empty the list without saying why.
    filters = {key: value if value in names else None for key, names, value in (
        ("tier", tiers, request.args.get("tier")),
        ("partner_type", partner_types, request.args.get("partner_type")),
        ("region", regions, request.args.get("region")))}
    search = query_text("q")
    found = lists.organisations_page(search=search, **filters,
                                     page=query_int("page", 1, minimum=1), per_page=PER_PAGE)
    query = {key: value for key, value in {**filters, "q": search}.items() if value}
    return render_template(
        "admin/organisations.html", found=found, filters=filters, search=search, query=query,
        tiers=tiers, partner_types=partner_types, regions=regions)


def _organisation_form(organisation: Organisation | None = None) -> OrganisationForm:
    form = OrganisationForm(obj=organisation)
    form.partner_type.choices = _choices("partner_type")
    form.tier.choices = _choices("tier")
    form.region.choices = _choices("region")
    return form


@admin_bp.route("/organisations/new", methods=["GET", "POST"])
@require("administer")
def new_organisation():
    form = _organisation_form()
    if form.validate_on_submit():
        try:
            organisation = service.create_organisation(
                name=form.name.data, partner_type=form.partner_type.data, tier=form.tier.data,
                region=form.region.data, status=form.status.data)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
            return render_template("admin/organisation_form.html", form=form,
                                   organisation=None), error.status
        commit()
        flash(f"{organisation.name} created. Invite its first partner admin now.", "success")
        return redirect(url_for("partner.staff", organisation_id=organisation.id))
    status = 422 if form.errors else 200
    return render_template("admin/organisation_form.html", form=form, organisation=None), status


@admin_bp.route("/organisations/<int:organisation_id>/edit", methods=["GET", "POST"])
@require("administer")
def edit_organisation(organisation_id: int):
    organisation = scoping.get_organisation_for(current_user, organisation_id)
    form = _organisation_form(organisation)
    if form.validate_on_submit():
        proposed = {key: getattr(form, key).data for key in ASSIGNING_FIELDS}
        if _needs_confirmation(organisation, proposed):
            # Show what the change does (tracks gained and lost, the new tier's demands)
            # before anything is saved; Confirm posts the same values again.
            preview = sections.fill("organisation_change", organisation=organisation,
                                    proposed=proposed, now=clock.now())
            return render_template("admin/organisation_form.html", form=form,
                                   organisation=organisation, preview=preview,
                                   fingerprint=_fingerprint(proposed))
        try:
            service.update_organisation(
                organisation.id, name=form.name.data, partner_type=form.partner_type.data,
                tier=form.tier.data, region=form.region.data, status=form.status.data)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
            return render_template("admin/organisation_form.html", form=form,
                                   organisation=organisation), error.status
        commit()
        flash(f"{organisation.name} saved. Assignments were re-evaluated.", "success")
        return redirect(url_for("partner.staff", organisation_id=organisation.id))
    status = 422 if form.errors else 200
    return render_template("admin/organisation_form.html", form=form,
                           organisation=organisation), status


# The fields that decide which tracks staff are assigned and what readiness asks of them.
ASSIGNING_FIELDS = ("partner_type", "tier", "region")


def _fingerprint(proposed: dict) -> str:
    return "|".join(proposed[key] or "" for key in ASSIGNING_FIELDS)


def _needs_confirmation(organisation: Organisation, proposed: dict) -> bool:
    """A change of type, tier or region is saved only once confirmed for these values."""
    changed = any(proposed[key] != getattr(organisation, key) for key in ASSIGNING_FIELDS)
    return changed and request.form.get("confirm") != _fingerprint(proposed)


@admin_bp.route("/users")
@require("administer")
def users():
    search = query_text("q")
    role = request.args.get("role") if request.args.get("role") in ROLES else None
    organisation_id = query_int("organisation", minimum=1)
    found = lists.people_page(search=search, role=role, organisation_id=organisation_id,
                              page=query_int("page", 1, minimum=1), per_page=PER_PAGE)
    query = {key: value for key, value in
             {"q": search, "role": role, "organisation": organisation_id}.items() if value}
    return render_template("admin/users.html", found=found, search=search, role=role,
                           organisation_id=organisation_id, query=query,
                           role_labels=ROLE_LABELS, job_roles=service.term_names("job_role"))


def _user_form(user: User | None = None) -> UserForm:
    form = UserForm(obj=user)
    form.role.choices = options((role, ROLE_LABELS[role]) for role in ROLES)
    form.job_role.choices = options([("", "—")] + service.term_choices("job_role"))
    return form


@admin_bp.route("/users/new", methods=["GET", "POST"])
@require("administer")
def new_user():
    form = _user_form()
    if form.validate_on_submit():
        try:
            user, _ = service.invite_user(
                organisation_id=form.organisation_id.data, email=form.email.data,
                full_name=form.full_name.data, job_role=form.job_role.data or None,
                role=form.role.data, invited_by=current_user)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
            return render_template("admin/user_form.html", form=form, user=None), error.status
        commit()
        flash(f"{user.full_name} invited: a link to set a password was emailed.", "success")
        return redirect(url_for("admin.users"))
    status = 422 if form.errors else 200
    return render_template("admin/user_form.html", form=form, user=None), status


@admin_bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@require("administer")
def edit_user(user_id: int):
    user = scoping.get_user_for(current_user, user_id)
    form = _user_form(user)
    form.email.data = user.email  # shown, never changed here: it is the sign-in
    form.email.render_kw = {"readonly": True}
    if form.validate_on_submit():
        try:
            service.update_user(user.id, actor=current_user, full_name=form.full_name.data,
                                role=form.role.data,
                                organisation_id=form.organisation_id.data,
                                job_role=form.job_role.data or None, active=form.active.data)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
            return render_template("admin/user_form.html", form=form, user=user), error.status
        commit()
        flash(f"{user.full_name} saved.", "success")
        return redirect(url_for("admin.users"))
    status = 422 if form.errors else 200
    return render_template("admin/user_form.html", form=form, user=user), status


@admin_bp.route("/outbox")
@require("administer")
def outbox():
    from lms.core.mail import OUTBOX_STATUSES, outbox_page

    args = request.args
    status = args.get("status") if args.get("status") in OUTBOX_STATUSES else None

    filters = {"template": query_text("template", 100), "recipient": query_text("recipient", 320),
               "status": status}
    found = outbox_page(**filters, page=query_int("page", 1, minimum=1), per_page=50)
    return render_template("admin/outbox.html", found=found, filters=filters,
                           query={k: v for k, v in filters.items() if v},
                           statuses=OUTBOX_STATUSES,
                           smtp=bool(current_app.config.get("SMTP_URL")))
