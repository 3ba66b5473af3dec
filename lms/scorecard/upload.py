"""Reading metric values from a CSV file or an API body (pure: no database).

A file is read into a header and rows; each column is mapped, by its header, to what it
holds: the partner, the metric code, the value, the as-of date, or the value of one
particular metric (a "wide" file with a column per metric). People can change the mapping
before importing. Every bad row is reported with its line and reason, so one upload is
enough to see everything to fix; the import itself is all or nothing.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import math
import re
from dataclasses import dataclass, field
from datetime import date

from lms.core import csv_files
from lms.core.errors import Invalid
from lms.core.numbers import format_number
from lms.scorecard import wording
from lms.scorecard.loader import Definitions, Metric

MAX_ROWS = 50_000
IGNORE, PARTNER, METRIC, VALUE, AS_OF = "", "partner", "metric", "value", "as_of"
ROW = "row"  # a problem of the row as a whole, not of one of its cells
METRIC_COLUMN = "metric:"  # + code: the column holds that metric's values
TARGET_LABELS = {IGNORE: "Ignore this column", PARTNER: "Partner (name or ID)",
                 METRIC: "Metric code", VALUE: "Value", AS_OF: "As of (date)"}
# Header names people use, lower-cased with spaces and dashes as underscores.
ALIASES = {
    PARTNER: {"partner", "partner_name", "organisation", "organisation_name", "organization",
              "organization_name", "partner_id", "organisation_id", "organization_id",
              "account", "account_name", "company", "company_name", "partner_company",
              "reseller", "reseller_name", "partner_account", "customer_name"},
    METRIC: {"metric", "metric_code", "metric_name", "kpi", "kpi_code", "measure", "code"},
    VALUE: {"value", "metric_value", "amount", "figure", "result", "actual", "score"},
    AS_OF: {"as_of", "as_of_date", "as_at", "date", "period_end", "measured_on", "reported",
            "reported_on", "quarter_end", "quarter_end_date", "period_ending", "month_end",
            "period_end_date", "report_date", "snapshot_date", "valid_as_of", "as_at_date"},
}
# How a metric's unit reads after its name in messages ("Co-sell success (%)").
UNIT_LABELS = {"percent": "%", "days": "days", "hours": "hours"}
# A file writes its numbers one way: 1,234.5 (a decimal point) or 1.234,5 (a decimal comma).
POINT, COMMA = "point", "comma"
DECIMAL_MARKS = {POINT: "decimal point (1,234.5)", COMMA: "decimal comma (1.234,5)"}
_GROUPED = {POINT: re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$"),
            COMMA: re.compile(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$")}
_NUMERAL = re.compile(r"^-?[\d.,]*\d[\d.,]*$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line number in the file, cells)


@dataclass(frozen=True)
class Value:
    """One checked value, ready to import."""

    line: int  # line in the file, or index in the API body
    organisation_id: int
    partner: str
    metric: str
    value: float
    as_of: date


@dataclass
class RowProblem:
    line: int
    reasons: list[tuple[str, str]] = field(default_factory=list)  # (what, message)

    @property
    def text(self) -> str:
        return "; ".join(message for _, message in self.reasons)


@dataclass
class Checked:
    values: list[Value]
    problems: list[RowProblem]
    rows: int  # rows read (blank lines skipped)


def normalise(header: str) -> str:
    """A header as the aliases list it: case, punctuation and a unit in brackets or after
    the name ("Pipeline Velocity (USD)", "Co-sell success %", "Quarter End:") do not
    matter."""
    text = re.sub(r"[(\[{][^)\]}]*[)\]}]", " ", header.strip().lower())
    text = re.sub(r"\b(usd|eur|gbp|jpy|percent)\s*$|[%$€£¥#]", " ", text.strip())
    return re.sub(r"[^\w]+", "_", text).strip("_")


def layout_key(header: list[str]) -> str:
    """What identifies a file's layout (its source): its headers, normalised, in order."""
    return hashlib.sha256("\x1f".join(normalise(h) for h in header).encode()).hexdigest()


def suggest_partner(name: str, partners: dict[str, tuple[int, str]],
                    found: dict[str, str | None]) -> str | None:
    """The partner name closest to a mistyped one, from the names already loaded (no query);
    `found` remembers each answer, so a name repeated on many rows is compared once."""
    key = name.strip().lower()
    if key not in found:
        # Partners are keyed by name and by id; only names can be near a typo.
        names = [k for k, (partner_id, _name) in partners.items() if k != str(partner_id)]
        close = difflib.get_close_matches(key, names, n=1, cutoff=0.8)
        found[key] = partners[close[0]][1] if close else None
    return found[key]


# --- the file -------------------------------------------------------------------------------

def read_table(text: str, limit: int = MAX_ROWS) -> Table:
    """Header and rows of a CSV (commas, semicolons or tabs); Invalid when it cannot be read."""
    reader = csv_files.reader(text, empty="The file is empty. Put a header line first "
                                          "(partner, metric, value, as_of), then one row per "
                                          "value.")
    rows: list[tuple[int, list[str]]] = []
    line = 0
    try:
        header = [cell.strip() for cell in next(reader)]
        line = reader.line_num
        for cells in reader:
            start, line = line + 1, reader.line_num  # a quoted value may span lines
            if any(cell.strip() for cell in cells):
                rows.append((start, cells))
                if len(rows) > limit:
                    raise Invalid(f"The file has more than {limit:,} rows; split it and "
                                  "import the parts one by one.", field="file")
    except csv.Error as error:
        reason = {"unexpected end of data": "the file ends inside quotes (a \" opened here "
                                            "is never closed)"}.get(
            str(error), f"{error} (a quoted value must end at a separator)")
        raise Invalid(f"Line {line + 1} cannot be read as CSV: {reason}.", field="file") \
            from None
    if not any(header):
        raise Invalid("Line 1 should be the header (partner, metric, value, as_of) but "
                      "it is empty.", field="file")
    if not rows:
        raise Invalid("The file has a header but no rows to import.", field="file")
    return Table(header, rows)


def mapping_choices(definitions: Definitions) -> list[tuple[str, str]]:
    """(target, label) for the mapping selects: the fields, then one per importable metric."""
    return list(TARGET_LABELS.items()) + [
        (METRIC_COLUMN + metric.code, f"Value of {metric.name}")
        for metric in definitions.importable]


def auto_mapping(header: list[str], definitions: Definitions) -> list[str]:
    """The target of each column, from its header; unknown headers are ignored."""
    by_name = {}
    for metric in definitions.importable:
        by_name[metric.code] = by_name[normalise(metric.name)] = METRIC_COLUMN + metric.code
    mapping: list[str] = []
    for name in (normalise(cell) for cell in header):
        target = next((t for t, names in ALIASES.items() if name in names), None)
        target = target or by_name.get(name, IGNORE)
        mapping.append(IGNORE if target != IGNORE and target in mapping else target)
    return mapping


def check_mapping(mapping: list[str], definitions: Definitions, *,
                  today: date, default_as_of: date | None = None) -> list[str]:
    """What is wrong with a mapping as a whole (nothing can be read until it is fixed)."""
    known = {target for target, _ in mapping_choices(definitions)}
    problems = [f"Column {i + 1}: unknown choice {t!r}." for i, t in enumerate(mapping)
                if t not in known]
    if default_as_of is not None:
        _, message = parse_date(default_as_of, today)
        if message:
            problems.append(f"The as-of date for the whole file: {message}.")
    chosen = [t for t in mapping if t]
    problems += [f"Two columns are mapped to {_label(t, definitions)}; choose one."
                 for t in sorted(set(chosen)) if chosen.count(t) > 1]
    wide = [t for t in chosen if t.startswith(METRIC_COLUMN)]
    if PARTNER not in chosen:
        problems.append("No column is mapped to the partner.")
    if AS_OF not in chosen and default_as_of is None:
        problems.append("No column is mapped to the as-of date, and no date is given for "
                        "the whole file.")
    if (METRIC in chosen) != (VALUE in chosen):
        problems.append("A metric code column needs a value column beside it (and the "
                        "other way round).")
    elif METRIC not in chosen and not wide:
        problems.append("No column holds values: map a metric code and a value column, or "
                        "a column to the value of a metric.")
    return problems


def _label(target: str, definitions: Definitions) -> str:
    if target in TARGET_LABELS:
        return TARGET_LABELS[target]
    metric = definitions.metric(target.removeprefix(METRIC_COLUMN))
    return f"the value of {metric.name}" if metric else target


def check_table(table: Table, mapping: list[str], definitions: Definitions, *,
                partners: dict[str, tuple[int, str]], today: date,
                default_as_of: date | None = None, decimal: str = POINT) -> Checked:
    """Every row checked; `partners` maps a lower-cased name or an id (as text) to
    (organisation id, name)."""
    def cell(cells: list[str], target: str) -> str | None:
        if target not in mapping:
            return None
        index = mapping.index(target)
        return cells[index].strip() if index < len(cells) else ""

    values, problems, seen, suggestions = [], [], {}, {}
    wide = [t.removeprefix(METRIC_COLUMN) for t in mapping if t.startswith(METRIC_COLUMN)]
    width = len(table.header)
    for line, cells in table.rows:
        problem = RowProblem(line)
        extra = [c for c in cells[width:] if c.strip()]
        if extra:
            problem.reasons.append((ROW, f"{len(cells)} values but the header names "
                                         f"{width} columns"))
        items = []  # (metric code, raw value, column)
        if METRIC in mapping:
            items.append((cell(cells, METRIC), cell(cells, VALUE), VALUE))
        for code in wide:
            raw = cell(cells, METRIC_COLUMN + code)
            if raw:  # in a wide file an empty cell is simply no value for that metric
                items.append((code, raw, code))
        raw_date = cell(cells, AS_OF)
        checked = check_value(cell(cells, PARTNER) or "", items, raw_date, definitions,
                              partners=partners, today=today, default_as_of=default_as_of,
                              decimal=decimal, suggestions=suggestions)
        for found in checked[1]:
            problem.reasons.append(found)
        for code, organisation_id, partner, number, as_of in checked[0]:
            key = (organisation_id, code, as_of)
            if key in seen:
                problem.reasons.append((ROW, f"duplicate: line {seen[key]} already gives "
                                             f"{code} of {partner} as of {as_of}"))
                continue
            seen[key] = line
            values.append(Value(line, organisation_id, partner, code, number, as_of))
        if problem.reasons:
            problems.append(problem)
    if not values and not problems:
        problems.append(RowProblem(table.rows[0][0], [(ROW, "no values in any row")]))
    return Checked(values if not problems else [], problems, len(table.rows))


def check_value(partner: str, items: list[tuple[str | None, object, str]], raw_date,
                definitions: Definitions, *, partners: dict[str, tuple[int, str]],
                today: date, default_as_of: date | None = None, decimal: str = POINT,
                suggestions: dict[str, str | None] | None = None):
    """Check one row: ([(metric, organisation id, partner name, value, as_of)],
    [(what, problem)]) where `what` is partner, metric, value or as_of."""
    problems: list[tuple[str, str]] = []
    found = partners.get(str(partner).strip().lower()) if partner != "" else None
    if partner in ("", None):
        problems.append((PARTNER, "the partner is empty"))
    elif found is None:
        close = suggest_partner(str(partner), partners,
                                suggestions if suggestions is not None else {})
        problems.append((PARTNER, f"unknown partner {str(partner)!r}"
                                  + (f" (did you mean {close}?)" if close else "")))
    as_of = default_as_of
    if raw_date not in (None, ""):
        as_of, message = parse_date(raw_date, today)
        if message:
            problems.append((AS_OF, message))
    elif default_as_of is None:
        problems.append((AS_OF, "the as-of date is empty"))
    good = []
    for code, raw, column in items:
        metric = definitions.metric(code or "")
        if not code:
            problems.append((METRIC, "the metric code is empty"))
        elif metric is None:
            problems.append((METRIC, f"unknown metric {code!r}"))
        elif not metric.importable:
            problems.append((METRIC, f"{code} is computed here and cannot be imported"))
        number, message = parse_number(raw, decimal)
        if message:
            # A wide file has a column per metric: say which, by the name people know it by.
            label = metric.name if metric is not None else code
            problems.append((column, message if column == VALUE else f"{label}: {message}"))
        elif metric is not None and metric.importable:
            message = out_of_range(metric, number, definitions.currency)
            if message:
                problems.append((column, message))
                number = None
        if metric is not None and metric.importable and number is not None and found \
                and as_of is not None:
            good.append((metric.code, found[0], found[1], number, as_of))
    return (good if not problems else []), problems


def out_of_range(metric: Metric, number: float, currency: str) -> str | None:
    """Why a value is outside the metric's bounds, naming the metric; None when inside."""
    low, high = metric.bounds
    unit = UNIT_LABELS.get(metric.unit, currency if metric.unit == "currency" else "")
    name = f"{metric.name} ({unit})" if unit else metric.name
    if low is not None and number < low:
        return f"{_figure(number)} is below the minimum of {_figure(low)} for {name}"
    if high is not None and number > high:
        return f"{_figure(number)} is above the maximum of {_figure(high)} for {name}"
    return None


def _figure(value: float) -> str:
    return wording.number(value, 6)  # enough places that -0.001 never reads as "-0"


def _bare(text: str) -> str:
    return text.strip().removesuffix("%").strip().lstrip("$€£¥").strip()


def mark_of(cell: str) -> str | None:
    """The decimal mark a cell shows: POINT, COMMA, "either" when it reads as a number both
    ways ("2,500": 2.5 or 2500), or None when it says nothing (no separator, not a number)."""
    text = _bare(cell)
    if not _NUMERAL.match(text):
        return None
    digits = text.lstrip("-")
    if "," in digits and "." in digits:
        return COMMA if digits.rindex(",") > digits.rindex(".") else POINT
    for separator, other in ((",", COMMA), (".", POINT)):
        if separator not in digits:
            continue
        if digits.count(separator) > 1:  # only thousands repeat: the other is the decimal
            return POINT if other == COMMA else COMMA
        whole, fraction = digits.split(separator)
        if len(fraction) != 3 or whole in ("", "0"):
            return other
        return "either"
    return None


@dataclass(frozen=True)
class NumberConvention:
    """What the value cells of a file say about its decimal mark, read once for all."""

    mark: str | None  # POINT or COMMA when some cell shows it, and none shows the other
    shown_by: tuple[int, str] | None = None  # (line, cell) that shows it
    conflict: tuple[tuple[int, str], tuple[int, str]] | None = None  # a point, a comma
    either: tuple[int, str] | None = None  # the first cell that reads both ways


def number_convention(table: Table, mapping: list[str]) -> NumberConvention:
    columns = [i for i, target in enumerate(mapping)
               if target == VALUE or target.startswith(METRIC_COLUMN)]
    first: dict[str, tuple[int, str]] = {}
    for line, cells in table.rows:
        for index in columns:
            if index < len(cells):
                found = mark_of(cells[index])
                if found and found not in first:
                    first[found] = (line, cells[index].strip())
    if POINT in first and COMMA in first:
        return NumberConvention(None, conflict=(first[POINT], first[COMMA]),
                                either=first.get("either"))
    mark = POINT if POINT in first else COMMA if COMMA in first else None
    return NumberConvention(mark, first.get(mark) if mark else None,
                            either=first.get("either"))


def decimal_problem(convention: NumberConvention) -> str | None:
    """Why the file's decimal mark must be chosen by hand; None when the file says it."""
    if convention.conflict:
        (point_line, point), (comma_line, comma) = convention.conflict
        return (f"Line {point_line} writes {point!r} with a decimal point but line "
                f"{comma_line} writes {comma!r} with a decimal comma: choose the file's "
                "decimal mark (the cells that do not follow it are then marked).")
    if convention.mark is None and convention.either:
        line, cell = convention.either
        return (f"Line {line} writes {cell!r}, which is {_either(cell, COMMA)} with a decimal "
                f"comma but {_either(cell, POINT)} with a decimal point, and no other value "
                "says which the file uses: choose its decimal mark.")
    return None


def _either(cell: str, mark: str) -> str:
    number, _ = parse_number(cell, mark)
    # Bare digits: "2,500" here must not read back as either convention.
    return format_number(number) if number is not None else cell


def parse_number(raw, mark: str = POINT) -> tuple[float | None, str | None]:
    """A number from a cell or JSON: "1,234.5", "32%", "$5000" are read (with COMMA:
    "1.234,5"); anything else says why."""
    if isinstance(raw, bool):
        return None, "not a number (true/false)"
    if isinstance(raw, int | float):
        number = float(raw)
    else:
        text = str(raw if raw is not None else "").strip()
        if not text:
            return None, "the value is empty"
        cleaned = _bare(text)
        if _GROUPED[mark].match(cleaned):
            cleaned = cleaned.replace("," if mark == POINT else ".", "")
        shown = mark_of(text)
        if shown in (POINT, COMMA) and shown != mark:
            return None, (f"{text!r} is written with a {DECIMAL_MARKS[shown]} but the file "
                          f"uses a {DECIMAL_MARKS[mark]}")
        if mark == COMMA:
            cleaned = cleaned.replace(",", ".")
        try:
            number = float(cleaned)
        except ValueError:
            return None, f"not a number: {text!r}"
    if math.isnan(number) or math.isinf(number):
        return None, "not a number: infinite or NaN"
    return number, None


def parse_date(raw, today: date) -> tuple[date | None, str | None]:
    """A YYYY-MM-DD date not in the future, or why not: the one check of an as-of date,
    whether a cell, an API value or the date given for the whole file."""
    text = raw.isoformat() if isinstance(raw, date) else str(raw).strip()
    if not _ISO_DATE.match(text):
        return None, f"bad date {text!r}: write it as YYYY-MM-DD"
    try:
        value = date.fromisoformat(text)
    except ValueError:
        return None, f"bad date {text!r}: no such day"
    if value > today:
        # A future date would never go stale and no later import could replace it.
        return None, f"bad date {text!r}: it is in the future"
    return value, None
