"""Importing metric values: all or nothing, and every import recorded with what it changed.

The CSV page and the API check values with the same pure functions (upload.py) and apply
them with `apply`. Explicit arguments only; flushes, never commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, case, func, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer, joinedload

from lms.accounts.models import Organisation
from lms.core import clock, jobs
from lms.core.errors import Conflict, Invalid, NotFound
from lms.core.pages import Window, window
from lms.extensions import db
from lms.scorecard import service, upload
from lms.scorecard.gather import current_values
from lms.scorecard.loader import Definitions
from lms.scorecard.models import ImportChange, ImportMapping, MetricImport, MetricValue

NAMES_BATCH = 1000


class RowsInvalid(Invalid):
    """Some rows are wrong: nothing was imported. `problems` name each row and field."""

    def __init__(self, message: str, problems: list[dict], *, field: str | None = None):
        super().__init__(message, field=field)
        self.problems = problems

    def to_dict(self) -> dict:
        return super().to_dict() | {"problems": self.problems}


def partner_lookup() -> dict[str, tuple[int, str]]:
    """Lower-cased name and id (as text) -> (organisation id, name), for every partner."""
    found = {}
    for organisation_id, name in db.session.execute(
            select(Organisation.id, Organisation.name)):
        found[name.lower()] = found[str(organisation_id)] = (organisation_id, name)
    return found


def partner_names() -> Iterator[str]:
    """Every partner's name in name order, fetched in batches (the template streams them)."""
    yield from db.session.scalars(select(Organisation.name).order_by(Organisation.name_key)
                                  .execution_options(yield_per=NAMES_BATCH))


@dataclass
class Preview:
    table: upload.Table
    mapping: list[str]
    mapping_problems: list[str]
    checked: upload.Checked | None  # None until the mapping is usable
    convention: upload.NumberConvention | None = None  # what the file's numbers show
    decimal: str | None = None  # the decimal mark every value was read with
    remembered: bool = False  # the mapping is the one last imported with this layout

    @property
    def importable(self) -> bool:
        return not self.mapping_problems and self.checked is not None \
            and not self.checked.problems and bool(self.checked.values)

    def marks(self) -> dict[int, dict[int | None, list[str]]]:
        """line -> column index -> reasons, for marking the bad cells of the preview.

        Reasons that belong to no one column (a duplicate row, extra cells, a missing as-of
        date with no column for it) are kept under None, for the row as a whole.
        """
        found: dict[int, dict[int | None, list[str]]] = {}
        for problem in self.checked.problems if self.checked else []:
            cells = found.setdefault(problem.line, {})
            for what, message in problem.reasons:
                target = what if what in upload.TARGET_LABELS else upload.METRIC_COLUMN + what
                column = self.mapping.index(target) \
                    if what != upload.ROW and target in self.mapping else None
                cells.setdefault(column, []).append(message)
        return found

    def headings(self, definitions: Definitions) -> list[tuple[str, str | None]]:
        """(title, note) per column: the metric's name over a column of its values, with
        the file's header as the note; any other column is titled by its header."""
        found = []
        for header, target in zip(self.table.header, self.mapping, strict=False):
            metric = definitions.metric(target.removeprefix(upload.METRIC_COLUMN)) \
                if target.startswith(upload.METRIC_COLUMN) else None
            if metric is None:
                found.append((header or "(no header)", None))
            else:
                found.append((metric.name, header if header != metric.name else None))
        return found

    def rows_shown(self, first: int, bad: int) -> list[tuple[int, list[str]]]:
        """The first rows of the file, then up to `bad` more that have problems."""
        lines = {problem.line for problem in self.checked.problems} if self.checked else set()
        later = [row for row in self.table.rows[first:] if row[0] in lines]
        return self.table.rows[:first] + later[:bad]


def preview(text: str, definitions: Definitions, *, mapping: list[str] | None = None,
            default_as_of: date | None = None, decimal: str | None = None,
            today: date) -> Preview:
    """Read a file and check every row against the mapping (the header's, unless given).

    The decimal mark is read once for the whole file from its value cells (or as chosen)
    and every value is read with it: "2,500" is 2.5 in a file that writes "31,5".
    """
    table = upload.read_table(text)
    remembered = False
    if mapping is None or len(mapping) != len(table.header):
        mapping = remembered_mapping(table.header, definitions)
        remembered = mapping is not None
        mapping = mapping or upload.auto_mapping(table.header, definitions)
    problems = upload.check_mapping(mapping, definitions, default_as_of=default_as_of,
                                    today=today)
    convention = upload.number_convention(table, mapping)
    if decimal not in upload.DECIMAL_MARKS:
        decimal = None
        unclear = upload.decimal_problem(convention)
        if unclear:
            problems.append(unclear)
        else:
            decimal = convention.mark or upload.POINT
    checked = None if problems else upload.check_table(
        table, mapping, definitions, partners=partner_lookup(), today=today,
        default_as_of=default_as_of, decimal=decimal)
    return Preview(table, mapping, problems, checked, convention, decimal, remembered)


def remembered_mapping(header: list[str], definitions: Definitions) -> list[str] | None:
    """The mapping last imported with a file of this layout, while every choice in it
    still exists (a metric may have gone since)."""
    stored = db.session.scalar(select(ImportMapping.mapping).where(
        ImportMapping.layout == upload.layout_key(header)))
    known = {target for target, _ in upload.mapping_choices(definitions)}
    if not stored or len(stored) != len(header) or not set(stored) <= known:
        return None
    return list(stored)


def remember_mapping(header: list[str], mapping: list[str], *, now: datetime) -> None:
    """Keep `mapping` for the next file with this layout (the same source's next export)."""
    layout = upload.layout_key(header)
    try:
        with db.session.begin_nested():
            stored = db.session.scalar(select(ImportMapping).where(
                ImportMapping.layout == layout))
            if stored is None:
                db.session.add(ImportMapping(layout=layout, mapping=list(mapping),
                                             used_at=now))
            else:
                stored.mapping, stored.used_at = list(mapping), now
            db.session.flush()
    except IntegrityError:
        # Someone imported the same layout at the same moment: theirs is as good as ours.
        pass


def check_api_values(items, definitions: Definitions, *, today: date) -> list[upload.Value]:
    """The values of an API body ({"values": [...]}); RowsInvalid naming each bad one."""
    if not isinstance(items, list) or not items:
        raise Invalid('"values" must be a non-empty list of {"partner", "metric", "value", '
                      '"as_of"} objects.', field="values")
    if len(items) > upload.MAX_ROWS:
        raise Invalid(f"Up to {upload.MAX_ROWS:,} values per call.", field="values")
    partners, values, problems, seen, suggestions = partner_lookup(), [], [], {}, {}
    for index, item in enumerate(items):
        where = f"values[{index}]"
        if not isinstance(item, dict):
            problems.append({"index": index, "field": where, "message": "not an object"})
            continue
        unknown = sorted(set(item) - {"partner", "partner_id", "metric", "value", "as_of"})
        for name in unknown:
            problems.append({"index": index, "field": f"{where}.{name}",
                             "message": "unknown field"})
        partner = item.get("partner_id", item.get("partner"))
        good, found = upload.check_value(
            "" if partner is None else str(partner),
            [(item.get("metric"), item.get("value"), upload.VALUE)], item.get("as_of"),
            definitions, partners=partners, today=today, suggestions=suggestions)
        for what, message in found:
            name = "partner" if what == upload.PARTNER and "partner_id" not in item \
                else "partner_id" if what == upload.PARTNER else what
            problems.append({"index": index, "field": f"{where}.{name}", "message": message})
        for code, organisation_id, name, number, as_of in good if not unknown else []:
            key = (organisation_id, code, as_of)
            if key in seen:
                problems.append({"index": index, "field": where,
                                 "message": f"duplicate of values[{seen[key]}] (same partner, "
                                            "metric and as_of)"})
                continue
            seen[key] = index
            values.append(upload.Value(index, organisation_id, name, code, number, as_of))
    if problems:
        count = len({p["index"] for p in problems})
        raise RowsInvalid(f"Nothing was imported: {count} value{'s' if count != 1 else ''} "
                          f"need{'s' if count == 1 else ''} correcting first.", problems,
                          field=problems[0]["field"])
    return values


def apply_preview(found: Preview, *, actor_id: int | None, file_name: str | None,
                  definition_version: int | None = None) -> MetricImport:
    """Import a checked CSV preview and keep its column mapping for the next file of the
    same layout, so every way a file is imported remembers it."""
    record = apply(found.checked.values, actor_id=actor_id, source="csv", file_name=file_name,
                   definition_version=definition_version)
    remember_mapping(found.table.header, found.mapping, now=record.created_at)
    return record


def apply(values: list[upload.Value], *, actor_id: int | None, source: str,
          file_name: str | None = None, token_id: int | None = None,
          definition_version: int | None = None, now: datetime | None = None) -> MetricImport:
    """Record the import and write every value that is new or different, in one go."""
    now = now or clock.now()
    record = MetricImport(actor_id=actor_id, token_id=token_id, source=source,
                          file_name=file_name, created_at=now, status="applied",
                          rows=len(values), definition_version=definition_version)
    db.session.add(record)
    db.session.flush()
    pairs = sorted({(v.organisation_id, v.metric) for v in values})
    current = _current(pairs)
    same_day = _on_dates({(v.organisation_id, v.metric, v.as_of) for v in values})
    changes, rows = [], []
    for value in sorted(values, key=lambda v: (v.partner.lower(), v.metric, v.as_of)):
        if same_day.get((value.organisation_id, value.metric, value.as_of)) == value.value:
            continue  # the same figure again: nothing changed, nothing written
        old = current.get((value.organisation_id, value.metric))
        rows.append({"organisation_id": value.organisation_id, "metric": value.metric,
                     "value": value.value, "as_of": value.as_of, "recorded_at": now,
                     "import_id": record.id})
        changes.append({
            "import_id": record.id, "organisation_id": value.organisation_id,
            "partner": value.partner, "name_key": value.partner.lower(),
            "metric": value.metric, "as_of": value.as_of, "new": value.value,
            "old": old[0] if old else None, "old_as_of": old[1] if old else None,
            # An older date than the current value's fills in history; it changes no score.
            "current": old is None or value.as_of >= old[1]})
    if rows:
        db.session.execute(MetricValue.__table__.insert(), rows)
        db.session.execute(ImportChange.__table__.insert(), changes)
    record.changed = len(changes)
    record.summary = _summary(changes)
    db.session.flush()
    touched = sorted({change["organisation_id"] for change in changes})
    if touched:
        # Health and flags; a change queues its webhooks' first attempt after the job's
        # own commit (jobs.commit runs jobs that jobs queue).
        jobs.enqueue(service.recompute_partners, touched)
    return record


def _summary(changes: list[dict]) -> dict[str, list[int]]:
    """{metric: [changes, new values, history only]}, as change_summary counts them."""
    found: dict[str, list[int]] = {}
    for change in changes:
        counts = found.setdefault(change["metric"], [0, 0, 0])
        counts[0] += 1
        counts[1] += change["old"] is None
        counts[2] += not change["current"]
    return found


def reject(problems: list[dict], *, actor_id: int | None, source: str, rows: int,
           token_id: int | None = None, file_name: str | None = None) -> MetricImport:
    """Record a refused API call (integrators ask "did our 3 a.m. push arrive?")."""
    record = MetricImport(actor_id=actor_id, token_id=token_id, source=source,
                          file_name=file_name, status="rejected", rows=rows,
                          problems=problems[:200])
    db.session.add(record)
    db.session.flush()
    return record


def _current(pairs: list[tuple[int, str]]) -> dict[tuple[int, str], tuple[float, date]]:
    """(organisation, metric) -> (value, as_of) as it stands before the import."""
    if not pairs:
        return {}
    wanted = set(pairs)
    organisations = sorted({organisation_id for organisation_id, _ in pairs})
    found = current_values(lambda column: column.in_(organisations))
    return {(organisation_id, metric): (observed.value, observed.as_of)
            for organisation_id, metrics in found.items()
            for metric, observed in metrics.items() if (organisation_id, metric) in wanted}


def _on_dates(keys: set[tuple[int, str, date]]) -> dict[tuple[int, str, date], float]:
    """The value recorded last for each (organisation, metric, as_of) already stored."""
    found: dict[tuple[int, str, date], float] = {}
    key_list = sorted(keys)
    for start in range(0, len(key_list), 500):
        chunk = key_list[start:start + 500]
        for row in db.session.execute(
                select(MetricValue.organisation_id, MetricValue.metric, MetricValue.as_of,
                       MetricValue.value)
                .where(tuple_(MetricValue.organisation_id, MetricValue.metric,
                              MetricValue.as_of).in_(chunk), MetricValue.counted())
                .order_by(MetricValue.recorded_at, MetricValue.id)):
            found[(row.organisation_id, row.metric, row.as_of)] = row.value
    return found


def revert(import_id: int, *, actor_id: int | None, now: datetime | None = None
           ) -> MetricImport:
    """Stop counting an import's values: each falls back to what it replaced. The import
    and its values stay, marked reverted (who and when), so the evidence log still shows
    them. Conflict when it was refused or is already reverted."""
    record = db.session.scalar(select(MetricImport).where(MetricImport.id == import_id)
                               .with_for_update())
    if record is None:
        raise NotFound("No such import.")
    if record.status != "applied":
        raise Conflict("A refused import brought no values: there is nothing to revert.")
    if record.reverted_at is not None:
        raise Conflict(f"Import #{record.id} was already reverted on "
                       f"{record.reverted_at:%d %b %Y}.")
    record.reverted_at, record.reverted_by_id = now or clock.now(), actor_id
    db.session.flush()
    touched = list(db.session.scalars(
        select(ImportChange.organisation_id).where(ImportChange.import_id == record.id)
        .distinct().order_by(ImportChange.organisation_id)))
    if touched:
        jobs.enqueue(service.recompute_partners, touched)
    return record


def listed() -> Select:
    """Every import, newest first, to page through (without what each changed, which has
    rows of its own, or why a refused one was refused)."""
    return (select(MetricImport)
            .options(joinedload(MetricImport.actor),  # named on the page
                     defer(MetricImport.problems))
            .order_by(MetricImport.id.desc()))


def get(import_id: int) -> MetricImport:
    record = db.session.scalar(select(MetricImport).where(MetricImport.id == import_id)
                               .options(joinedload(MetricImport.actor),
                                        joinedload(MetricImport.reverted_by)))
    if record is None:
        raise NotFound("No such import.")
    return record


def organisations_of(ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(ids))
    if not ids:
        return {}
    return dict(db.session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all())


# --- what an import changed ------------------------------------------------------------------

CHANGE_FIELDS = ("organisation_id", "partner", "metric", "as_of", "new", "old", "old_as_of",
                 "current")


def _in_order(statement: Select) -> Select:
    """By partner name, then metric and date: as the import read them (index order)."""
    return statement.order_by(ImportChange.name_key, ImportChange.metric, ImportChange.as_of,
                              ImportChange.id)


def changes_of(import_id: int) -> list[dict]:
    """Every change of an import as the API answers it (dates as ISO text), in order."""
    columns = [getattr(ImportChange, name) for name in CHANGE_FIELDS]
    return [{name: value.isoformat() if isinstance(value, date) else value
             for name, value in zip(CHANGE_FIELDS, row, strict=True)}
            for row in db.session.execute(_in_order(
                select(*columns).where(ImportChange.import_id == import_id)))]


@dataclass(frozen=True)
class ChangeSummary:
    """What an import changed, counted: per metric (changes, values that were new, values
    older than the current one), and the totals."""

    by_metric: dict[str, tuple[int, int, int]]

    @property
    def changed(self) -> int:
        return sum(counts[0] for counts in self.by_metric.values())

    @property
    def new(self) -> int:
        return sum(counts[1] for counts in self.by_metric.values())

    @property
    def history_only(self) -> int:
        return sum(counts[2] for counts in self.by_metric.values())


def summary_of(record: MetricImport) -> ChangeSummary:
    """What the import changed, counted when it was written (no query)."""
    return ChangeSummary({metric: tuple(counts)
                          for metric, counts in sorted((record.summary or {}).items())})


def change_summary(import_id: int) -> ChangeSummary:
    """The same counted again from the change rows, in one grouped aggregate (a row per
    metric): what the stored summary must always equal."""
    rows = db.session.execute(
        select(ImportChange.metric, func.count(),
               func.count(case((ImportChange.old.is_(None), 1))),
               func.count(case((ImportChange.current.is_(False), 1))))
        .where(ImportChange.import_id == import_id)
        .group_by(ImportChange.metric).order_by(ImportChange.metric))
    return ChangeSummary({metric: (changed, new, history)
                          for metric, changed, new, history in rows})


def change_page(import_id: int, *, search: str | None, metric: str | None, page: int,
                per_page: int, total: int) -> Window:
    """One page of an import's changes, searched by partner name or ID and filtered by
    metric. `total` is the count of the unsearched list (from the stored summary):
    searching costs one more COUNT."""
    statement = select(ImportChange).where(ImportChange.import_id == import_id)
    if metric is not None:
        statement = statement.where(ImportChange.metric == metric)
    if search:
        named = ImportChange.name_key.contains(search.lower(), autoescape=True)
        # Digits may also be a partner's ID (ASCII only: int() refuses "²").
        is_id = re.fullmatch(r"[0-9]{1,9}", search)
        statement = statement.where(
            or_(named, ImportChange.organisation_id == int(search)) if is_id else named)
    return window(db.session, _in_order(statement), page=page, per_page=per_page,
                  total=None if search else total, scalars=True)
