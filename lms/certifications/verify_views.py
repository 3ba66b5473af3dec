"""Public verification (no account needed), and the CSV check for vendor staff.

Every answer is built from `verification.statement`, so the page, the JSON and the PDF
always say the same thing. Lookups are rate-limited per client; the hit is committed
before the lookup, so an unknown ID counts as much as a known one.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import TextAreaField

from lms.accounts.permissions import require
from lms.certifications import public_id as ids
from lms.certifications import verification
from lms.certifications.models import Program
from lms.core import clock, csv_files
from lms.core.errors import Invalid, NotFound, wants_json
from lms.core.forms import attach_error
from lms.core.jobs import commit
from lms.extensions import db

bp = Blueprint("verify", __name__)

# Order and wording of the statuses wherever they are counted or charted.
STATUS_LABELS = {
    "active": "Valid", "expiring": "Expiring", "expired": "Expired", "revoked": "Revoked",
    "superseded": "Superseded", "mistyped": "Mistyped ID", "not_found": "Not found",
}
UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PROBLEMS = 10  # listed per upload; the rest are counted


def _no_store(response: Response) -> Response:
    # A certificate's status changes (expiry, revocation): no cache may keep an answer.
    response.headers["Cache-Control"] = "no-store"
    return response


def throttle(cost: int = 1) -> None:
    """Count this lookup against the client's per-minute limit, and commit the count."""
    verification.throttle(verification.client_key(request.remote_addr),
                          limit=current_app.config["VERIFY_RATE_LIMIT_PER_MINUTE"], cost=cost)
    if not current_app.config.get("REDIS_URL"):
        commit()  # counted in the database: the count stands even if the lookup fails


@bp.errorhandler(verification.RateLimited)
def rate_limited(error: verification.RateLimited):
    """429 with Retry-After: JSON for machines, a page for people (the API registers it too)."""
    db.session.rollback()
    if wants_json():
        response = jsonify(error.to_dict())
    else:
        response = Response(render_template("certifications/verify_problem.html",
                                            kind="limited", message=error.message,
                                            retry_after=error.retry_after))
    response.status_code = 429
    response.headers.update(error.headers)
    return _no_store(response)


# --- the public pages --------------------------------------------------------------------


@bp.route("/verify")
def search():
    """"Check a certificate": type or paste an ID, land on its page."""
    typed = (request.args.get("id") or "").strip()
    if not typed:
        return _no_store(Response(render_template("certifications/verify.html")))
    try:
        canonical = verification.canonical(typed)
    except Invalid as error:
        return _mistyped(typed, error)
    except NotFound:
        return _not_found(typed)
    return redirect(url_for("verify.certificate", public_id=ids.display(canonical)), code=303)


@bp.route("/verify/<public_id>")
def certificate(public_id: str):
    """The statement: status first, then the facts. JSON too, for `Accept: application/json`."""
    throttle()
    try:
        said = verification.statement_for(public_id)
    except Invalid as error:
        if wants_json():
            raise
        return _mistyped(public_id, error)
    except NotFound:
        if wants_json():
            raise
        return _not_found(public_id)
    if wants_json():
        return _no_store(jsonify(said.as_json()))
    if public_id != said.public_id:
        # However it was typed, the address bar ends up showing the form printed on it.
        return _no_store(redirect(url_for("verify.certificate", public_id=said.public_id)))
    renewal_url = (url_for("verify.certificate", public_id=said.superseded_by)
                   if said.superseded_by else None)
    return _no_store(Response(render_template(
        "certifications/verify_certificate.html", said=said, renewal_url=renewal_url,
        long_date=verification.long_date)))


def _mistyped(typed: str, error: Invalid) -> Response:
    letters = "".join(char for char in ids.from_link(typed).upper() if char.isalnum())
    response = Response(render_template(
        "certifications/verify_problem.html", kind="mistyped", message=error.message,
        typed=typed, grouped=ids.display(letters)), status=422)
    return _no_store(response)


ECHOED_CHARACTERS = 200  # of what was typed, on the not-found page


def _not_found(typed: str) -> Response:
    # Unknown and malformed IDs get the same page, status and message (a prober learns
    # only "no such certificate"); what was typed is shown back, escaped, to be corrected.
    response = Response(render_template("certifications/verify_problem.html", kind="not_found",
                                        message=verification.NOT_FOUND,
                                        typed=typed[:ECHOED_CHARACTERS]), status=404)
    return _no_store(response)


# --- the CSV check (vendor staff) --------------------------------------------------------


class CheckFileForm(FlaskForm):
    file = FileField("CSV file")
    text = TextAreaField("Or paste the rows")


@bp.url_value_preprocessor
def _room_for_pasted_files(endpoint, values):
    # Runs before any before_request reads the form: a pasted (or re-sent, for the
    # download) 10,000-row file is larger than Flask's 500 kB default for a form field.
    if endpoint == "verify.check_file":
        request.max_form_memory_size = UPLOAD_BYTES + 1024 * 1024


@bp.route("/verify/csv", methods=["GET", "POST"])
@require("list_partners")
def check_file():
    """Upload IDs (or emails with a program code); see a summary, download the results."""
    form = CheckFileForm()
    if not form.validate_on_submit():
        status = 422 if form.errors else 200
        return _no_store(Response(render_template("certifications/verify_csv.html", form=form),
                                  status=status))
    text = None
    try:
        text = _uploaded_text(form)
        upload = read_upload(text, programs=set(db.session.scalars(select(Program.code))))
        now = clock.now()
        if upload.mode == "id":
            results = verification.bulk([row[0] for _, row in upload.rows],
                                        limit=verification.FILE_LIMIT, now=now)
        else:
            results = verification.latest_for([row for _, row in upload.rows], now=now)
    except Invalid as error:
        db.session.rollback()
        if not _file_chosen(form):
            error.field = "text"  # the pasted rows were at fault, not a file
        attach_error(form, error)
        if text is not None:
            form.text.data = text  # what they sent stays in the box, ready to correct
        return _no_store(Response(render_template(
            "certifications/verify_csv.html", form=form, problems=error.reasons,
            problem_field=error.field), status=error.status))
    if "download" in request.form:
        name = f"certificate-check-{now:%Y%m%d-%H%M}.csv"
        return _no_store(Response(results_csv(upload.mode, results), headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{name}"'}))
    counts = summary(upload.mode, results)
    return _no_store(Response(render_template(
        "certifications/verify_csv.html", form=CheckFileForm(formdata=None), sent=text,
        mode=upload.mode, results=results, counts=counts, checked_at=now,
        labels=STATUS_LABELS, outcome=outcome, shown=100)))


def _file_chosen(form: CheckFileForm) -> bool:
    return bool(getattr(form.file.data, "filename", ""))


def _uploaded_text(form: CheckFileForm) -> str:
    if _file_chosen(form):
        data = form.file.data.read(UPLOAD_BYTES + 1)
        if len(data) > UPLOAD_BYTES:
            raise Invalid(f"The file is larger than {UPLOAD_BYTES // 1024 // 1024} MB; split "
                          "it and check the parts one by one.", field="file")
        return csv_files.decode(data)
    if (form.text.data or "").strip():
        return form.text.data
    raise Invalid("Choose a CSV file, or paste the rows into the box.", field="file")


# --- reading an upload (pure) ------------------------------------------------------------

# Header names people use for the columns, after lower-casing and spaces to underscores.
COLUMNS = {"id": "id", "certificate_id": "id", "certificate": "id", "email": "email",
           "e-mail": "email", "email_address": "email", "program": "program",
           "program_code": "program"}


@dataclass
class Upload:
    mode: str  # "id" (one ID a row) or "email" (email, program code)
    rows: list[tuple[int, tuple[str, ...]]]  # (line number, values)


def _looks_like_an_id(cell: str) -> bool:
    try:
        ids.normalise(cell)
    except ids.MistypedId:
        return True
    except ids.MalformedId:
        return False
    return True


def read_upload(text: str, *, programs: set[str] | None = None,
                limit: int = verification.FILE_LIMIT) -> Upload:
    """The rows of an uploaded CSV; Invalid naming the lines when it cannot be read.

    The header names either an `id` column, or `email` and `program` columns. A bare list
    of IDs without a header is taken too. Blank lines are skipped. With `programs`, the
    known program codes, an unknown code is a problem of its line (a typo there would
    fail every row).
    """
    reader = csv_files.reader(text, empty="The file is empty. Put a header line (id, or "
                                          "email,program) first, then one row per certificate.")
    try:
        header = next(reader)
        names = [cell.strip().lower().replace(" ", "_") for cell in header]
        filled = [index for index, name in enumerate(names) if name]
        rows: list[tuple[int, tuple[str, ...]]] = []
        problems: list[str] = []
        bare = len(filled) == 1 and _looks_like_an_id(header[filled[0]])
        if bare:  # a plain list of IDs: the first line is already one
            mode, columns = "id", {"id": filled[0]}
            rows.append((1, (header[filled[0]].strip(),)))
        else:
            mode, columns = _columns(names)
        wanted = ["id"] if mode == "id" else ["email", "program"]
        named = {index for index, name in enumerate(names) if name}
        total = len(rows)
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            total += 1
            if total > limit:
                continue  # counted for the message, not read
            extra = [c for i, c in enumerate(cells) if i not in named and c.strip()]
            if extra and not bare:
                problems.append(f"Line {line} has {len(cells)} values; the header names "
                                f"{len(named)} column{'s' if len(named) != 1 else ''}.")
                continue
            values = tuple((cells[columns[c]] if columns[c] < len(cells) else "").strip()
                           for c in wanted)
            empty = [c for c, value in zip(wanted, values, strict=True) if not value]
            if empty:
                problems.append(f"Line {line}: the {' and the '.join(empty)} "
                                f"{'is' if len(empty) == 1 else 'are'} empty.")
                continue
            if mode == "email" and programs is not None and values[1] not in programs:
                problems.append(f"Line {line}: no program has the code {values[1]!r}.")
                continue
            rows.append((line, values))
    except csv.Error as error:
        reason = {"unexpected end of data": "the file ends inside quotes (a \" is never closed)"
                  }.get(str(error), f"{error} (a quoted value must end at a separator)")
        raise Invalid(f"Line {reader.line_num} cannot be read as CSV: {reason}.",
                      field="file") from None
    if total > limit:
        raise Invalid(f"The file has {total:,} rows; up to {limit:,} can be checked at a time. "
                      "Split it and check the parts one by one.", field="file")
    if problems:
        unknown_code = any("no program has the code" in problem for problem in problems)
        raise _problems(problems, hint=f"Program codes: {', '.join(sorted(programs))}."
                        if unknown_code and programs else "")
    if not rows:
        raise Invalid("The file has a header but no rows to check.", field="file")
    return Upload(mode, rows)


def _columns(names: list[str]) -> tuple[str, dict[str, int]]:
    """Which column holds what, from the header (line 1)."""
    columns: dict[str, int] = {}
    unknown = []
    for index, name in enumerate(names):
        if not name:
            continue  # a trailing comma or an empty spreadsheet column
        meaning = COLUMNS.get(name)
        if meaning is None:
            unknown.append(name)
        elif meaning in columns:
            raise Invalid(f"Line 1 (the header) names the {meaning} column twice.", field="file")
        else:
            columns[meaning] = index
    expected = "Name an id column, or an email and a program column."
    if unknown:
        raise Invalid(f"Line 1 (the header) has unknown column{'s' if len(unknown) > 1 else ''}"
                      f" {', '.join(repr(u) for u in unknown)}. {expected}", field="file")
    if "id" in columns and ("email" in columns or "program" in columns):
        raise Invalid("Line 1 (the header) names both an id and an email or program column: "
                      "check either by ID or by email and program, one per file.",
                      field="file")
    if "id" in columns:
        return "id", columns
    missing = [name for name in ("email", "program") if name not in columns]
    if len(missing) == 2:
        raise Invalid(f"Line 1 (the header) names no columns. {expected}", field="file")
    if missing:
        raise Invalid(f"Line 1 (the header) has no {missing[0]} column: looking someone up "
                      "needs both their email and the program code.", field="file")
    return "email", columns


def _problems(problems: list[str], hint: str = "") -> Invalid:
    shown = problems[:MAX_PROBLEMS]
    if len(problems) > MAX_PROBLEMS:
        shown.append(f"… and {len(problems) - MAX_PROBLEMS:,} more.")
    count = f"{len(problems):,} row{'s' if len(problems) != 1 else ''}"
    return Invalid(f"Nothing was checked: {count} need{'s' if len(problems) == 1 else ''} "
                   f"correcting first. {hint}".strip(), field="file", reasons=shown)


# --- results -----------------------------------------------------------------------------

RESULT_COLUMNS = ["found", "status", "headline", "holder", "organisation", "program", "level",
                  "issued_on", "expires_on", "verification_url", "certificate_id", "note"]


def outcome(result: dict) -> str:
    """A result's status, or why there is none (for counting and the chart)."""
    if result["found"]:
        return result["status"]
    return "not_found" if result["error"] in (verification.NOT_FOUND,
                                              verification.NO_CERTIFICATE) else "mistyped"


def summary(mode: str, results: list[dict]) -> dict[str, int]:
    counts = Counter(outcome(result) for result in results)
    shown = [key for key in STATUS_LABELS if mode == "id" or key != "mistyped"]
    return {key: counts.get(key, 0) for key in shown}


def _cell(value) -> str:
    """Spreadsheet-safe: a holder named "=HYPERLINK(...)" stays text when the file is opened."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def results_csv(mode: str, results: list[dict]) -> str:
    """One line per uploaded row, in order; the query columns echo what was uploaded."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    query_columns = ["query"] if mode == "id" else ["email", "program_code"]
    writer.writerow(query_columns + RESULT_COLUMNS)
    for result in results:
        query = [result["query"]] if mode == "id" else [result["email"], result["program_code"]]
        if result["found"]:
            row = ["yes", result["status"], result["headline"], result["holder"]["name"],
                   result["holder"]["organisation"], result["program"]["name"],
                   result["program"]["level"], result["issued_on"], result["expires_on"],
                   result["verification_url"], result["id"], ""]
        else:
            row = ["no"] + [""] * (len(RESULT_COLUMNS) - 2) + [result["error"]]
        writer.writerow([_cell(value) for value in query + row])
    return buffer.getvalue()
