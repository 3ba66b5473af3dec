"""Taking assessments: start page, one question per page, review, result."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lms.accounts.forms import EmptyForm
from lms.accounts.permissions import can, require
from lms.assessments import answer_keys, service
from lms.assessments.items import item_type
from lms.assessments.models import Assessment, Attempt, AttemptItem
from lms.assessments.outcomes import outcomes
from lms.catalog.progress import knowledge_check_outcomes
from lms.core import clock
from lms.core.errors import DomainError, wants_json
from lms.core.jobs import commit
from lms.core.params import parse_int, query_int, query_text
from lms.extensions import db

bp = Blueprint("assessments", __name__)


@bp.route("/assessments/<slug>")
@login_required
def start_page(slug: str):
    assessment = service.get_live_assessment(slug)
    state = service.standing(current_user, assessment) if not current_user.is_vendor_staff \
        else None
    commit()  # an attempt whose time ran out was finalised just now
    preview, reviews = None, []
    if can("item_statistics"):  # who reads item statistics reads the key
        # Authors check what learners will see, key included, a page of items at a time.
        preview = service.preview_page(assessment.current_version,
                                       query_int("page", 1, minimum=1))
        first = (preview.page - 1) * service.PREVIEW_PER_PAGE + 1
        reviews = [_preview(item, number) for number, item in enumerate(preview.items, first)]
    return render_template("assessments/start.html", assessment=assessment,
                           version=assessment.current_version, state=state, form=EmptyForm(),
                           preview=preview, reviews=reviews,
                           feedback_help=answer_keys.FEEDBACK_HELP)


def _preview(item, number: int) -> dict:
    """An item as a learner sees it (options in their written order), with its key."""
    kind = item_type(item.item_type)
    return {"position": number, "item": item,
            "public": kind.public(item.definition, kind.shuffle_ids(item.definition)),
            "review": kind.review(item.definition, None), "answer": None, "score": 0.0}


@bp.route("/assessments/<slug>/start", methods=["POST"])
@require("learn")
def start(slug: str):
    service.get_live_assessment(slug)  # an unknown exam is a 404 here, not after a redirect
    try:
        attempt = service.start_attempt(current_user, slug)
    except DomainError as error:
        db.session.rollback()
        if wants_json():
            raise
        flash(error.message, "error")
        return redirect(url_for("assessments.start_page", slug=slug), code=303)
    commit()
    return redirect(url_for("assessments.resume", public_id=attempt.public_id), code=303)


def _own(public_id: str) -> Attempt:
    attempt = service.get_own_attempt(current_user, public_id)
    commit()  # keep a finalisation that happened on touch
    return attempt


@bp.route("/attempts/<public_id>")
@login_required
def resume(public_id: str):
    attempt = _own(public_id)
    if attempt.finished:
        return redirect(url_for("assessments.result", public_id=public_id))
    answered = service.answered_positions(attempt)
    first_open = next((i.position for i in attempt.items if i.position not in answered), None)
    if first_open is None:
        return redirect(url_for("assessments.review", public_id=public_id))
    return redirect(url_for("assessments.question", public_id=public_id, position=first_open))


def _question_context(attempt: Attempt, attempt_item: AttemptItem, answered: set[int]) -> dict:
    item = attempt_item.item
    kind = item_type(item.item_type)
    return {
        "attempt": attempt, "version": attempt.version, "attempt_item": attempt_item,
        "kind": kind, "public": kind.public(item.definition, attempt_item.option_order),
        "values": kind.form_values(attempt_item.response.answer) if attempt_item.response
        else {},
        "answered": answered, "total": len(attempt.items), "form": EmptyForm(),
        "server_now": clock.now(),
    }


@bp.route("/attempts/<public_id>/questions/<int:position>", methods=["GET", "POST"])
@login_required
def question(public_id: str, position: int):
    attempt = _own(public_id)
    if attempt.finished:
        # Whoever arrives after the deadline (a late answer, the timer's reload) finds the
        # attempt already finalised: say that time ran out, not just "submitted".
        late = attempt.status == "expired"
        error = service.TimeUp("Time is up. Your attempt was submitted with the answers saved "
                               "before the deadline.") if late else \
            service.Conflict("This attempt is already submitted.")
        if wants_json():
            return jsonify(**error.to_dict(),
                           result=url_for("assessments.result", public_id=public_id)), 409
        flash(error.message, "error" if late else "info")
        return redirect(url_for("assessments.result", public_id=public_id))
    attempt_item = next((i for i in attempt.items if i.position == position), None)
    if attempt_item is None:
        raise service.NotFound("This attempt has no such question.")
    if request.method == "POST":
        data = {key: request.form.getlist(key) for key in request.form if key != "csrf_token"}
        if "go" in request.form and not wants_json() and _blank(data):
            # A button (Previous, Save and review, Save and next, a question number) with
            # nothing filled in: the learner is skipping or going back. Move on without
            # saving, and without an error; an earlier answer to this question stands.
            return redirect(_after_save(public_id, position, len(attempt.items)), code=303)
        try:
            service.save_answer(attempt, position, data)
        except service.TimeUp as error:
            commit()  # the late answer was not stored; the finalised attempt is kept
            if wants_json():
                return jsonify(error.to_dict()), error.status
            flash(error.message, "error")
            return redirect(url_for("assessments.result", public_id=public_id))
        except DomainError as error:
            db.session.rollback()
            if wants_json():
                return jsonify(error.to_dict()), error.status
            context = _question_context(attempt, attempt_item, service.answered_positions(attempt))
            context["error"] = error
            context["values"] = data  # show what they typed, next to the message
            return render_template("assessments/question.html", **context), error.status
        commit()
        answered = sorted(service.answered_positions(attempt))
        if wants_json():
            return jsonify(saved=True, position=position, answered=answered)
        return redirect(_after_save(public_id, position, len(attempt.items)), code=303)
    context = _question_context(attempt, attempt_item, service.answered_positions(attempt))
    return render_template("assessments/question.html", **context)


def _blank(data: dict[str, list[str]]) -> bool:
    """No answer field filled in at all (a half-done ordering or matching is not blank)."""
    return not any(value.strip() for key, values in data.items() if key != "go"
                   for value in values)


def _after_save(public_id: str, position: int, total: int) -> str:
    go = request.form.get("go", "next")
    if go == "review" or (go == "next" and position >= total):
        return url_for("assessments.review", public_id=public_id)
    if go == "previous":
        return url_for("assessments.question", public_id=public_id, position=max(1, position - 1))
    try:
        wanted = parse_int(go, "go", minimum=1, maximum=total)
    except DomainError:
        wanted = None  # not one of the question numbers: on to the next question
    if wanted is not None:
        return url_for("assessments.question", public_id=public_id, position=wanted)
    return url_for("assessments.question", public_id=public_id, position=position + 1)


@bp.route("/attempts/<public_id>/review")
@login_required
def review(public_id: str):
    attempt = _own(public_id)
    if attempt.finished:
        return redirect(url_for("assessments.result", public_id=public_id))
    return render_template("assessments/review.html", attempt=attempt, version=attempt.version,
                           answered=service.answered_positions(attempt), form=EmptyForm(),
                           server_now=clock.now())


@bp.route("/attempts/<public_id>/submit", methods=["POST"])
@login_required
def submit(public_id: str):
    attempt = _own(public_id)
    service.submit(attempt)
    commit()
    if wants_json():
        return jsonify(status=attempt.status, percent=attempt.percent, passed=attempt.passed)
    return redirect(url_for("assessments.result", public_id=public_id), code=303)


@bp.route("/attempts/<public_id>/result")
@login_required
def result(public_id: str):
    attempt = _own(public_id)
    if not attempt.finished:
        return redirect(url_for("assessments.resume", public_id=public_id))
    # The attempt's own assessment, archived or not: a result outlives its exam's content.
    assessment = db.session.get(Assessment, attempt.assessment_id)
    live = assessment.archived_at is None and assessment.current_version_id is not None
    # Where the person stands (try again, attempts left) only means something while the
    # assessment can still be taken.
    state = service.standing(current_user, assessment) if live else None
    history = state.attempts if state else service.history(current_user.id, assessment.id)
    certifies = service.certifying_programs(assessment.slug)
    show_feedback = service.feedback_allowed(attempt, state, certifies)
    reviews = [_review(attempt_item) for attempt_item in _graded_items(attempt)] \
        if show_feedback else []
    checks = knowledge_check_outcomes(current_user, assessment.slug) if attempt.passed else []
    return render_template("assessments/result.html", attempt=attempt, version=attempt.version,
                           outcomes=outcomes(attempt), checks=checks,
                           assessment=assessment, live=live, state=state, history=history,
                           show_feedback=show_feedback, reviews=reviews, certifies=certifies)


def _graded_items(attempt: Attempt) -> list[AttemptItem]:
    """The attempt's items with their question and response, in one query."""
    return list(db.session.scalars(
        select(AttemptItem).where(AttemptItem.attempt_id == attempt.id)
        .options(joinedload(AttemptItem.item), joinedload(AttemptItem.response))
        .order_by(AttemptItem.position)).unique())


def _review(attempt_item: AttemptItem) -> dict:
    """One graded item as the learner may see it once the feedback policy allows."""
    item, response = attempt_item.item, attempt_item.response
    kind = item_type(item.item_type)
    public = kind.public(item.definition, attempt_item.option_order)
    answer = response.answer if response else None
    review = kind.review(item.definition, answer)
    if answer and item.item_type == "ordering":
        # The learner's order as texts, each marked right when it is in its place.
        texts = {entry["id"]: entry["text"] for entry in public["entries"]}
        correct = review.get("correct_order") or []
        given = [texts.get(entry_id, "?") for entry_id in answer.get("order") or []]
        review["your_order"] = [(text, index < len(correct) and text == correct[index])
                                for index, text in enumerate(given)]
    elif answer and item.item_type == "matching":
        rights = {right["id"]: right["text"] for right in public["rights"]}
        correct = dict(review.get("correct_pairs") or [])
        matches = answer.get("matches") or {}
        review["your_pairs"] = [
            (left["text"], rights.get(matches.get(left["id"]), "—"),
             rights.get(matches.get(left["id"])) == correct.get(left["text"]))
            for left in public["lefts"]]
    return {"position": attempt_item.position, "item": item, "public": public,
            "review": review, "answer": answer,
            "score": response.score if response and response.score is not None else 0.0}


# --- lists and statistics --------------------------------------------------------------------

@bp.route("/assessments")
@login_required
def index():
    page = query_int("page", 1, minimum=1)
    if current_user.is_vendor_staff:
        search = query_text("q")
        return render_template("assessments/index_vendor.html", search=search,
                               found=service.overview_page(page=page, search=search))
    return render_template("assessments/index.html",
                           found=service.exams_page(current_user, page=page))


def _version_for_stats(slug: str):
    assessment = service.get_live_assessment(slug)
    versions = service.versions(assessment.id)
    wanted = query_int("version", minimum=1)
    version = next((v for v in versions if v.number == wanted), assessment.current_version)
    return assessment, version, versions


@bp.route("/assessments/<slug>/statistics")
@require("item_statistics")
def statistics(slug: str):
    from lms.assessments.stats import version_stats

    assessment, version, versions = _version_for_stats(slug)
    stats = version_stats(version, page=query_int("page", 1, minimum=1))
    return render_template("assessments/statistics.html", assessment=assessment,
                           version=version, versions=versions, stats=stats)


@bp.route("/assessments/<slug>/statistics.csv")
@require("item_statistics")
def statistics_csv(slug: str):
    import csv
    import io

    from lms.assessments.stats import as_csv_rows, version_stats

    assessment, version, _ = _version_for_stats(slug)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(as_csv_rows(version_stats(version)))
    name = f"{assessment.slug}-v{version.number}-item-statistics.csv"
    return buffer.getvalue(), 200, {"Content-Type": "text/csv; charset=utf-8",
                                    "Content-Disposition": f'attachment; filename="{name}"'}
