"""Metric imports: upload a CSV, preview it with its column mapping and every bad row,
import all or nothing; the record of every import."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user

from lms.accounts.permissions import require
from lms.core import clock, csv_files
from lms.core.errors import DomainError, Invalid
from lms.core.forms import attach_error
from lms.core.jobs import commit
from lms.core.pages import window
from lms.core.params import query_int, query_text
from lms.extensions import db
from lms.scorecard import exports, imports, service, upload
from lms.scorecard.forms import PreviewForm, RevertImportForm, UploadForm
from lms.scorecard.views import bp, download

UPLOAD_BYTES = 5 * 1024 * 1024
SHOWN_ROWS = 15  # of the file, in the preview
BAD_ROWS_SHOWN = 50  # further rows with problems shown below those, their cells marked
PER_PAGE = 50  # imports in the list
CHANGES_PER_PAGE = 50  # changes on an import's page


@bp.url_value_preprocessor
def _room_for_files(endpoint, values):
    # Before anything reads the form: the file rides along in a hidden field between the
    # preview and the import, and is larger than Flask's 500 kB default for a field.
    if endpoint in ("scorecard.preview", "scorecard.confirm_import"):
        request.max_form_memory_size = UPLOAD_BYTES * 2


def _page(form: UploadForm, status: int = 200, problems=None):
    listed = window(db.session, imports.listed(), page=query_int("page", 1, minimum=1),
                    per_page=PER_PAGE, scalars=True)
    return render_template("scorecard/imports.html", form=form, imports=listed.rows,
                           listed=listed, definitions=service.definitions(),
                           problems=problems), status


@bp.route("/imports")
@require("import_metrics", hide=True)
def imports_page():
    return _page(UploadForm(formdata=None))


@bp.route("/imports/template.csv")
@require("import_metrics", hide=True)
def import_template():
    """A wide file to fill in: one row per partner, one column per importable metric.

    Streamed like the exports: the header goes out at once, the partners' names follow
    as they are fetched in batches, so a platform of thousands never builds the file."""
    codes = [metric.code for metric in service.definitions().importable]
    return download(stream_with_context(exports.template_lines(imports.partner_names(), codes)),
                    "scorecard-metrics-template.csv", "text/csv")


@bp.route("/imports/preview", methods=["POST"])
@require("import_metrics", hide=True)
def preview():
    """From the upload form (a file) or the preview itself (text, and a changed mapping)."""
    upload_form = UploadForm()
    if "text" in request.form:
        form = PreviewForm()
        text, file_name = form.text.data or "", form.file_name.data or "pasted.csv"
        if not form.validate():
            return _preview_page(form, None, status=422)
    else:
        if not upload_form.validate():
            return _page(upload_form, 422)
        try:
            text, file_name = _read_file(upload_form)
        except Invalid as error:
            attach_error(upload_form, error)
            return _page(upload_form, error.status)
        form = PreviewForm(formdata=None, text=text, file_name=file_name,
                           default_as_of=upload_form.default_as_of.data)
    return _preview_page(form, request.form.getlist("map") or None)


@bp.route("/imports/confirm", methods=["POST"])
@require("import_metrics", hide=True)
def confirm_import():
    """Check the file again with its mapping and import it, only if every row is good."""
    form = PreviewForm()
    if not form.validate():
        return _preview_page(form, None, status=422)
    definitions = service.definitions()
    try:
        found = imports.preview(form.text.data or "", definitions,
                                mapping=request.form.getlist("map"),
                                default_as_of=form.default_as_of.data,
                                decimal=form.decimal.data or None,
                                today=clock.now().date())
    except Invalid as error:
        return _page(UploadForm(formdata=None), error.status, problems=[error.message])
    if not found.importable:
        return _preview_page(form, found.mapping, status=422, found=found)
    record = imports.apply_preview(found, actor_id=current_user.id,
                                   file_name=form.file_name.data or None,
                                   definition_version=definitions.version)
    commit()
    flash(f"Imported {record.rows} value{'s' if record.rows != 1 else ''} from "
          f"{record.file_name or 'the file'}: {record.changed} changed, "
          f"{record.rows - record.changed} unchanged.", "success")
    return redirect(url_for("scorecard.import_detail", import_id=record.id), code=303)


def _read_file(form: UploadForm) -> tuple[str, str]:
    data = form.file.data
    if not getattr(data, "filename", ""):
        raise Invalid("Choose a CSV file to upload.", field="file")
    raw = data.read(UPLOAD_BYTES + 1)
    if len(raw) > UPLOAD_BYTES:
        raise Invalid(f"The file is larger than {UPLOAD_BYTES // 1024 // 1024} MB; split it "
                      "and import the parts one by one.", field="file")
    return csv_files.decode(raw), data.filename[:255]


def _preview_page(form: PreviewForm, mapping, *, status: int = 200, found=None):
    definitions = service.definitions()
    if found is None:
        try:
            found = imports.preview(form.text.data or "", definitions, mapping=mapping,
                                    default_as_of=form.default_as_of.data,
                                    decimal=form.decimal.data or None,
                                    today=clock.now().date())
        except Invalid as error:
            db.session.rollback()
            return _page(UploadForm(formdata=None), error.status, problems=[error.message])
    values = found.checked.values if found.checked else []
    if not found.importable:
        status = 422  # bad rows or a mapping that cannot be read: nothing can be imported
    return render_template(
        "scorecard/import_preview.html", form=form, found=found, values=values,
        choices=upload.mapping_choices(definitions), shown=SHOWN_ROWS,
        rows=found.rows_shown(SHOWN_ROWS, BAD_ROWS_SHOWN), marks=found.marks(),
        headings=found.headings(definitions),
        partners=len({v.organisation_id for v in values}), definitions=definitions), status


@bp.route("/imports/<int:import_id>")
@require("import_metrics", hide=True)
def import_detail(import_id: int):
    return _import_page(imports.get(import_id), RevertImportForm(formdata=None))


def _import_page(record, form: RevertImportForm, status: int = 200):
    """An import's record: its counts, then one page of its changes (searched by partner
    name or ID, filtered by metric) or, when refused, why."""
    summary = imports.summary_of(record)
    metric = request.args.get("metric")
    metric = metric if metric in summary.by_metric else None
    search = query_text("q")
    shown = imports.change_page(
        record.id, search=search, metric=metric, page=query_int("page", 1, minimum=1),
        per_page=CHANGES_PER_PAGE,
        total=summary.by_metric[metric][0] if metric else summary.changed)
    query = {key: value for key, value in (("q", search), ("metric", metric)) if value}
    return render_template("scorecard/import.html", record=record, form=form,
                           summary=summary, shown=shown, search=search, metric=metric,
                           query=query, definitions=service.definitions()), status


@bp.route("/imports/<int:import_id>/revert", methods=["POST"])
@require("import_metrics", hide=True)
def revert_import(import_id: int):
    """Put back what the import replaced, once its box is ticked; all or nothing."""
    form = RevertImportForm()
    if not form.validate_on_submit():
        return _import_page(imports.get(import_id), form, 422)
    try:
        record = imports.revert(import_id, actor_id=current_user.id)
    except DomainError as error:
        db.session.rollback()
        attach_error(form, error)
        return _import_page(imports.get(import_id), form, error.status)
    commit()
    flash(f"Import #{record.id} reverted: {record.changed} value"
          f"{'s are' if record.changed != 1 else ' is'} back to what "
          f"{'they were' if record.changed != 1 else 'it was'} before.", "success")
    return redirect(url_for("scorecard.import_detail", import_id=record.id), code=303)
