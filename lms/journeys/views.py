"""Journey pages: a learner's timeline, a partner's onboarding with sign-offs and staff
journeys, one journey in full, and the vendor's overview of every partner."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from lms.accounts import scoping
from lms.accounts import service as accounts
from lms.accounts.models import User
from lms.accounts.permissions import require
from lms.core import clock
from lms.core.downloads import serve_upload
from lms.core.errors import DomainError, Invalid
from lms.core.forms import attach_error, options
from lms.core.jobs import commit
from lms.core.params import query_int
from lms.extensions import db
from lms.journeys import overview, service, timeline
from lms.journeys.forms import DueDateForm, SignOffForm, StartJourneyForm
from lms.journeys.models import Journey

bp = Blueprint("journeys", __name__)



@bp.app_template_global("evidence_visible")
def _evidence_visible(milestone) -> bool:
    return service.evidence_visible_to(current_user, milestone)

PER_PAGE = 50
SCOPE_LABELS = {"organisation": "the organisation", "person": "a person"}


@bp.route("/onboarding/mine")
@require("learn")
def mine():
    """The signed-in person's own journey(s) as a timeline."""
    journeys = service.journeys_of(current_user.id)
    if len(journeys) == 1:
        return redirect(url_for("journeys.journey", journey_id=journeys[0].id))
    return render_template("journeys/mine.html", journeys=journeys, now=clock.now(),
                           build=timeline.build)


@bp.route("/journeys/<int:journey_id>")
@require("read_journeys", hide=True)
def journey(journey_id: int):
    return _journey_page(service.get_journey_for(current_user, journey_id))


def _journey_page(journey: Journey, *, sign_off_forms: dict | None = None,
                  due_form: DueDateForm | None = None, due_milestone_id: int | None = None,
                  status: int = 200):
    now = clock.now()
    state = timeline.build(journey.milestones, now)
    subject = db.session.get(User, journey.user_id) if journey.user_id else None
    forms = sign_off_forms or {}
    signable = {m.id: forms.get(m.id) or SignOffForm(prefix=f"m{m.id}")
                for m in journey.milestones if service.may_sign_off(current_user, m)}
    return render_template(
        "journeys/journey.html", journey=journey, state=state, subject=subject,
        organisation=journey_organisation(journey), now=now, signable=signable,
        due_form=due_form or DueDateForm(), due_milestone_id=due_milestone_id,
        can_change_due=current_user.role == "vendor_admin",
        stalled=timeline.stalled(completed_at=journey.completed_at,
                                 stalls_at=journey.stalls_at, now=now),
        history=service.history(journey.id), owner_label=service.owner_label,
        on_time=timeline.on_time, days_between=timeline.days_between), status


def journey_organisation(journey: Journey):
    return scoping.get_organisation_for(current_user, journey.organisation_id) \
        if current_user.role != "learner" else None


@bp.route("/journeys/milestones/<int:milestone_id>/sign-off", methods=["POST"])
@require("sign_off", hide=True)
def sign_off(milestone_id: int):
    milestone = service.get_milestone_for(current_user, milestone_id)
    journey = milestone.journey
    form = SignOffForm(prefix=f"m{milestone.id}")
    if not form.validate_on_submit():
        return _refused_sign_off(journey, milestone.id, form, 422)
    upload = None
    file = form.evidence_file.data
    if file and file.filename:
        upload = service.Upload(filename=file.filename, content_type=file.mimetype or "",
                                data=file.read(service.MAX_EVIDENCE_BYTES + 1))
    try:
        service.sign_off(milestone.id, actor=current_user, note=form.note.data or "",
                         upload=upload)
    except DomainError as error:
        db.session.rollback()
        if not isinstance(error, Invalid):
            raise  # not the owner, already done, automatic: the error page says so
        attach_error(form, error)
        journey = service.get_journey_for(current_user, journey.id)
        return _refused_sign_off(journey, milestone.id, form, error.status)
    commit()
    flash(f"Signed off: {milestone.title}.", "success")
    return redirect(_back_to(journey) + f"#milestone-{milestone.id}", code=303)


def _refused_sign_off(journey: Journey, milestone_id: int, form: SignOffForm, status: int):
    """Show the form again, with the message and the note as typed, on the page it was on."""
    if _from_organisation_page(journey):
        organisation = scoping.get_organisation_for(current_user, journey.organisation_id)
        return _organisation_page(organisation, sign_off_forms={milestone_id: form},
                                  status=status)
    return _journey_page(journey, sign_off_forms={milestone_id: form}, status=status)


def _from_organisation_page(journey: Journey) -> bool:
    return request.form.get("return_to") == "organisation" and journey.scope == "organisation"


def _back_to(journey: Journey) -> str:
    """Where a sign-off on `journey` returns: the page the button was on."""
    if _from_organisation_page(journey):
        return url_for("journeys.organisation", organisation_id=journey.organisation_id)
    return url_for("journeys.journey", journey_id=journey.id)


@bp.route("/journeys/milestones/<int:milestone_id>/evidence")
@require("read_journeys", hide=True)
def evidence(milestone_id: int):
    file = service.get_evidence_file_for(current_user, milestone_id)
    return serve_upload(file.data, filename=file.filename, content_type=file.content_type)


@bp.route("/journeys/milestones/<int:milestone_id>/due", methods=["POST"])
@require("administer", hide=True)
def change_due(milestone_id: int):
    milestone = service.get_milestone_for(current_user, milestone_id)
    form = DueDateForm()
    if form.validate_on_submit():
        try:
            service.change_due_date(milestone.id, due_on=form.due_on.data,
                                    reason=form.reason.data, actor=current_user)
        except Invalid as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            commit()
            flash(f"{milestone.title} is now due {form.due_on.data:%d %b %Y}.", "success")
            return redirect(url_for("journeys.journey", journey_id=milestone.journey_id)
                            + f"#milestone-{milestone.id}", code=303)
    journey = service.get_journey_for(current_user, milestone.journey_id)
    return _journey_page(journey, due_form=form, due_milestone_id=milestone.id, status=422)


@bp.route("/organisations/<int:organisation_id>/onboarding")
@require("read_partners", hide=True)
def organisation(organisation_id: int):
    return _organisation_page(scoping.get_organisation_for(current_user, organisation_id))


def _organisation_page(organisation, *, start_form: StartJourneyForm | None = None,
                       sign_off_forms: dict | None = None, status: int = 200):
    now = clock.now()
    journeys = service.organisation_journeys(organisation.id)
    forms = sign_off_forms or {}
    left_behind = service.evidence_left_behind(organisation.id)
    return render_template(
        "journeys/organisation.html", organisation=organisation, journeys=journeys,
        left_behind=left_behind, names=_names({m.journey.user_id for m in left_behind}),
        states={j.id: timeline.build(j.milestones, now) for j in journeys},
        staff=overview.staff_journeys(organisation.id, now,
                                      page=query_int("page", 1, minimum=1), per_page=PER_PAGE),
        now=now,
        signable={m.id: forms.get(m.id) or SignOffForm(prefix=f"m{m.id}")
                  for j in journeys for m in j.milestones
                  if service.may_sign_off(current_user, m)},
        stalled={j.id: timeline.stalled(completed_at=j.completed_at, stalls_at=j.stalls_at,
                                         now=now) for j in journeys},
        start_form=start_form or _start_form()
        if current_user.role == "vendor_admin" else None,
        owner_label=service.owner_label, on_time=timeline.on_time), status


def _names(user_ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in user_ids if i is not None}
    return dict(db.session.execute(
        select(User.id, User.full_name).where(User.id.in_(ids))).tuples().all()) if ids else {}


def _start_form() -> StartJourneyForm:
    form = StartJourneyForm()
    form.template_id.choices = options(
        (t.id, f"{t.current_version.name} (for {SCOPE_LABELS[t.scope]})")
        # Organisation journeys first: the form opens on a valid pair with "the organisation".
        for t in sorted(service.live_templates(), key=lambda t: t.scope != "organisation"))
    return form


@bp.route("/organisations/<int:organisation_id>/onboarding/start", methods=["POST"])
@require("administer", hide=True)
def start(organisation_id: int):
    organisation = scoping.get_organisation_for(current_user, organisation_id)
    form = _start_form()
    if form.validate_on_submit():
        try:
            journey = service.start(form.template_id.data, organisation_id=organisation.id,
                                    user_id=form.user_id.data or None, actor=current_user)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            commit()
            flash(f"Started {journey.template_version.name}.", "success")
            return redirect(url_for("journeys.journey", journey_id=journey.id), code=303)
    return _organisation_page(organisation, start_form=form, status=422)


@bp.route("/onboarding")
@require("list_partners", hide=True)
def vendor_overview():
    args = request.args
    stage = query_int("stage")
    data = overview.vendor_overview(
        template_id=query_int("template", minimum=1), stage=stage,
        overdue=args.get("overdue") == "1", stalled=args.get("stalled") == "1",
        page=query_int("page", 1, minimum=1), per_page=PER_PAGE, now=clock.now())
    return render_template("journeys/overview.html", data=data, stage=stage,
                           tiers=accounts.term_names("tier"),
                           regions=accounts.term_names("region"),
                           overdue=args.get("overdue") == "1",
                           stalled=args.get("stalled") == "1")


