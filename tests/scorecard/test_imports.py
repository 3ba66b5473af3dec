"""The CSV import pages: preview with the column mapping, every bad row reported by line,
nothing written until every row is good, then one import recorded with what changed."""

from __future__ import annotations

import html
import io
import re

import pytest
from sqlalchemy import func, select

from lms.accounts.models import Organisation
from lms.extensions import db
from lms.scorecard.models import MetricImport, MetricValue
from tests.factories import login, make_organisation, make_user

GOOD = ("partner,metric,value,as_of\n"
        "Northwind Import,pipeline_velocity,4200,2026-02-27\n"
        "Northwind Import,co_sell_success,31.5%,2026-02-27\n"
        "Bluepeak Import,lead_follow_up_sla,30,2026-02-28\n")
BAD = GOOD.replace("Bluepeak Import,lead_follow_up_sla,30", "Bluepeak Imprt,lead_follow_up_sla,30"
                   ) + "Northwind Import,mdf_spend,lots,2026-02-27\n"


@pytest.fixture
def manager(client, frozen_clock):
    make_organisation("Northwind Import")
    make_organisation("Bluepeak Import")
    person = make_user(role="channel_manager", full_name="Ivy Importer")
    login(client, person)
    return person


def _upload(client, text: str, name="q1.csv", **data):
    return client.post("/scorecard/imports/preview", data={
        "file": (io.BytesIO(text.encode()), name), **data},
        content_type="multipart/form-data")


def _values() -> int:
    return db.session.scalar(select(func.count(MetricValue.id)))


def _hidden(page: str) -> dict:
    text = re.search(r'<textarea name="text" hidden>(.*?)</textarea>', page, re.S).group(1)
    return {"text": html.unescape(text), "file_name": "q1.csv"}


def test_bad_rows_are_all_reported_and_block_the_import(client, manager):
    before = _values()
    response = _upload(client, BAD)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nothing can be imported: 2 rows need fixing." in page
    assert '<tr data-line="4"><td class="num">4</td><td>unknown partner &#39;Bluepeak Imprt&#39;' \
        in page
    assert '<tr data-line="5"><td class="num">5</td><td>not a number: &#39;lots&#39;</td>' in page
    assert 'action="/scorecard/imports/confirm"' not in page  # no import button
    # Forcing the import anyway writes nothing.
    forced = client.post("/scorecard/imports/confirm", data={
        **_hidden(page), "map": ["partner", "metric", "value", "as_of"]})
    assert forced.status_code == 422
    assert _values() == before
    assert db.session.scalar(select(func.count(MetricImport.id))) == 0


def test_after_fixing_the_file_it_imports_and_is_recorded(client, manager):
    assert _upload(client, BAD).status_code == 422
    response = _upload(client, GOOD)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "All 3 rows are good" in page and "3 values</strong> for 2 partners" in page
    mapping = re.findall(r'<select class="input input-short" id="map-\d" name="map">.*?'
                         r'<option value="([^"]*)" selected>', page, re.S)
    assert mapping == ["partner", "metric", "value", "as_of"]
    response = client.post("/scorecard/imports/confirm", data={
        **_hidden(page), "map": mapping})
    assert response.status_code == 303
    record = db.session.scalar(select(MetricImport))
    assert (record.source, record.file_name, record.rows, record.changed, record.actor_id) == (
        "csv", "q1.csv", 3, 3, manager.id)
    assert response.headers["Location"].endswith(f"/scorecard/imports/{record.id}")
    detail = client.get(f"/scorecard/imports/{record.id}").get_data(as_text=True)
    assert "Ivy Importer" in detail and "$4,200" in detail and "31.5%" in detail
    listing = client.get("/scorecard/imports").get_data(as_text=True)
    assert f'data-import="{record.id}"' in listing and "q1.csv" in listing


def test_the_mapping_can_be_changed_and_checked_again(client, manager):
    text = ("Account,KPI,Figure,Reported\n"
            "Northwind Import,mdf_spend,72,2026-02-27\n")
    page = _upload(client, text).get_data(as_text=True)
    assert "The file cannot be read yet" not in page  # account, kpi, figure are known
    odd = "Who,What,How much,When\nNorthwind Import,mdf_spend,72,2026-02-27\n"
    response = _upload(client, odd)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "No column is mapped to the partner." in page
    fixed = client.post("/scorecard/imports/preview", data={
        **_hidden(page), "map": ["partner", "metric", "value", "as_of"]})
    assert fixed.status_code == 200
    fixed_page = fixed.get_data(as_text=True)
    assert "The 1 row is good" in fixed_page and "All 1 rows" not in fixed_page


def test_a_wide_file_with_one_date_for_every_row(client, manager):
    text = "partner,pipeline_velocity,mdf_spend\nNorthwind Import,5100,\nBluepeak Import,,64\n"
    assert _upload(client, text).status_code == 422  # no date anywhere
    response = _upload(client, text, default_as_of="2026-02-28")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "2 values</strong> for 2 partners" in page
    done = client.post("/scorecard/imports/confirm", data={
        **_hidden(page), "default_as_of": "2026-02-28",
        "map": ["partner", "metric:pipeline_velocity", "metric:mdf_spend"]})
    assert done.status_code == 303
    assert _values() == 2


@pytest.mark.parametrize(("data", "message"), [
    (b"", "Choose a CSV file"),
    (b"partner,metric\nNorth\xffwind,x\n", "Line 2 is not UTF-8 text"),
    (b"partner,metric,value,as_of\n", "a header but no rows"),
])
def test_unreadable_uploads(client, manager, data, message):
    response = client.post("/scorecard/imports/preview", data={
        "file": (io.BytesIO(data), "x.csv" if data else "")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_template_lists_every_partner_and_metric(client, manager):
    text = client.get("/scorecard/imports/template.csv").get_data(as_text=True)
    header, *rows = text.splitlines()
    assert header.startswith("partner,as_of,partner_contribution_margin,pipeline_velocity")
    assert "enablement_readiness" not in header
    assert "Northwind Import,,,,,,,,," in rows


# --- values out of bounds, and the preview marking the bad cells ------------------------------

def _rows(page: str) -> dict[int, list[tuple[str, str]]]:
    """The preview's rows: line -> [(class, text)] per cell after the line number."""
    found = {}
    for line, row in re.findall(r'<tr id="line-(\d+)"[^>]*>(.*?)</tr>', page, re.S):
        cells = re.findall(r'<td class="([^"]*)">(.*?)</td>', row, re.S)[1:]
        found[int(line)] = [(css.strip(), " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text))
                                                    .split())) for css, text in cells]
    return found


def test_values_out_of_bounds_block_the_import_and_their_cells_are_marked(client, manager):
    text = ("partner,metric,value,as_of\n"
            "Northwind Import,co_sell_success,108,2026-02-27\n"
            "Northwind Import,pipeline_velocity,4200,2026-02-27\n"
            "Bluepeak Import,lead_follow_up_sla,-3,2026-02-28\n")
    response = _upload(client, text)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nothing can be imported: 2 rows need fixing." in page
    assert ('<tr data-line="2"><td class="num">2</td><td>108 is above the maximum of 100 for '
            'Co-sell success (%)</td>') in page
    assert ('<tr data-line="4"><td class="num">4</td><td>-3 is below the minimum of 0 for '
            'Lead follow-up SLA (hours)</td>') in page
    rows = _rows(page)
    assert rows[2] == [
        ("", "Northwind Import"), ("", "co_sell_success Co-sell success"),
        ("sc-cell-bad",
         "108 ⚠ Problem: 108 is above the maximum of 100 for Co-sell success (%)"),
        ("", "2026-02-27")]
    assert '<mark>108</mark>' in page and '<mark>-3</mark>' in page  # marked, not only tinted
    assert [css for css, _ in rows[3]] == ["", "", "", ""]  # the good row is left alone
    assert [css for css, _ in rows[4]] == ["", "", "sc-cell-bad", ""]
    forced = client.post("/scorecard/imports/confirm", data={
        **_hidden(page), "map": ["partner", "metric", "value", "as_of"]})
    assert forced.status_code == 422 and _values() == 0
    assert db.session.scalar(select(func.count(MetricImport.id))) == 0


def test_the_preview_names_metrics_over_their_columns(client, manager):
    text = ("partner,as_of,co_sell_success,Pipeline velocity,notes\n"
            "Northwind Import,2026-02-27,31,4200,fine\n")
    page = _upload(client, text).get_data(as_text=True)
    headers = re.findall(r'<th scope="col">(.*?)</th>', page, re.S)
    assert headers == [
        '<span class="sc-header">partner</span>', '<span class="sc-header">as_of</span>',
        '<span class="sc-header">Co-sell success</span><br><small class="muted">'
        '<code>co_sell_success</code></small>',
        '<span class="sc-header">Pipeline velocity</span>',  # the header is the name already
        '<span class="sc-header">notes</span>']
    assert "The 1 row is good" in page and "All 1 rows" not in page


def test_bad_cells_further_down_are_shown_marked_and_row_problems_said(client, manager):
    lines = ["partner,metric,value,as_of"] + [
        f"Northwind Import,pipeline_velocity,{4000 + n},2026-02-{n:02d}" for n in range(1, 21)]
    lines[18] = "Northwind Import,mdf_spend,250,2026-02-20"  # line 19
    lines[19] = "Northwind Import,mdf_spend,250,2026-02-20,extra"  # line 20
    page = _upload(client, "\n".join(lines) + "\n").get_data(as_text=True)
    rows = _rows(page)
    assert sorted(rows) == [*range(2, 17), 19, 20]  # the first 15, then the bad ones
    assert ("First 15 of 20 rows shown, then 2 more with problems (every row to fix is "
            "listed above).") in page
    assert rows[19][2] == ("sc-cell-bad", "250 ⚠ Problem: 250 is above the maximum of 100 "
                                          "for MDF spend (%)")
    # Extra cells belong to no column: said under the row as a whole.
    assert "Problem with line 20: </span>5 values but the header names 4 columns" in page


def _import(client, text: str, **data):
    page = _upload(client, text, **data).get_data(as_text=True)
    mapping = re.findall(r'<select class="input input-short" id="map-\d+" name="map">.*?'
                         r'<option value="([^"]*)" selected>', page, re.S)
    response = client.post("/scorecard/imports/confirm", data={
        **_hidden(page), "map": mapping, **data})
    assert response.status_code == 303, response.get_data(as_text=True)
    return db.session.scalars(select(MetricImport).order_by(MetricImport.id.desc())).first()


def _current(name: str, code: str):
    from lms.core import clock
    from lms.scorecard import service
    organisation = db.session.scalar(select(Organisation).where(Organisation.name == name))
    card = service.partner_scorecard(organisation.id, clock.now())
    metric = next(m for m in card["metrics"] if m["code"] == code)
    return metric["value"], metric["as_of"]


def test_a_future_date_for_the_whole_file_is_refused_like_a_cells(client, manager):
    text = "partner,pipeline_velocity\nNorthwind Import,4200\n"
    response = _upload(client, text, default_as_of="9999-12-31")
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "The as-of date for the whole file: bad date '9999-12-31': it is in the future." \
        in page
    assert 'action="/scorecard/imports/confirm"' not in page
    forced = client.post("/scorecard/imports/confirm", data={
        "text": text, "file_name": "q1.csv", "map": ["partner", "metric:pipeline_velocity"],
        "default_as_of": "9999-12-31"})
    assert forced.status_code == 422 and _values() == 0


def test_a_channel_manager_reverts_an_import_after_confirming(client, manager):
    first = _import(client, GOOD)
    later = GOOD.replace("4200,2026-02-27", "9900,2026-02-28").replace(
        "Bluepeak Import,lead_follow_up_sla,30,2026-02-28\n", "")
    second = _import(client, later)
    assert _current("Northwind Import", "pipeline_velocity") == (9900, "2026-02-28")
    values = _values()
    url = f"/scorecard/imports/{second.id}"
    page = client.get(url).get_data(as_text=True)
    assert f'action="{url}/revert"' in page
    unconfirmed = client.post(f"{url}/revert", data={})
    assert unconfirmed.status_code == 422 and "Tick the box to confirm." in \
        unconfirmed.get_data(as_text=True)
    assert db.session.get(MetricImport, second.id).reverted_at is None
    done = client.post(f"{url}/revert", data={"confirm": "y"})
    assert done.status_code == 303
    # What the import replaced is back; its values stay as history, marked reverted.
    assert _current("Northwind Import", "pipeline_velocity") == (4200, "2026-02-27")
    assert _values() == values
    record = db.session.get(MetricImport, second.id)
    assert record.reverted_at is not None and record.reverted_by_id == manager.id
    page = client.get(url).get_data(as_text=True)
    assert "Reverted" in page and "Ivy Importer" in page and f'action="{url}/revert"' \
        not in page
    again = client.post(f"{url}/revert", data={"confirm": "y"})
    assert again.status_code == 409 and "already reverted" in again.get_data(as_text=True)
    assert first.reverted_at is None
    listing = client.get("/scorecard/imports").get_data(as_text=True)
    assert "Reverted" in listing


def test_a_future_value_can_be_reverted_so_it_no_longer_freezes_the_metric(client, manager):
    # Values dated in the future before this check existed froze a metric for good.
    from datetime import date

    from lms.scorecard import imports, upload
    northwind = db.session.scalar(select(Organisation).where(
        Organisation.name == "Northwind Import"))
    _import(client, GOOD)
    frozen = imports.apply([upload.Value(0, northwind.id, "Northwind Import",
                                         "pipeline_velocity", 1.0, date(9999, 12, 31))],
                           actor_id=manager.id, source="api")
    db.session.commit()
    assert _current("Northwind Import", "pipeline_velocity") == (1.0, "9999-12-31")
    assert client.post(f"/scorecard/imports/{frozen.id}/revert",
                       data={"confirm": "y"}).status_code == 303
    assert _current("Northwind Import", "pipeline_velocity") == (4200, "2026-02-27")


def test_an_ambiguous_decimal_mark_is_chosen_on_the_preview_and_kept_to_the_import(
        client, manager):
    text = "sep=;\npartner;as_of;joint_roadmap\nNorthwind Import;2026-02-27;2,500\n"
    page = html.unescape(_upload(client, text).get_data(as_text=True))
    assert "which is 2.5 with a decimal comma but 2500 with a decimal point" in page
    assert "Choose: the file does not say." in page
    chosen = client.post("/scorecard/imports/preview", data={
        "text": text, "file_name": "q1.csv", "map": ["partner", "as_of",
                                                      "metric:joint_roadmap"],
        "decimal": "comma"})
    page = chosen.get_data(as_text=True)
    assert chosen.status_code == 200 and '<input type="hidden" name="decimal" value="comma">' \
        in page
    response = client.post("/scorecard/imports/confirm", data={
        "text": text, "file_name": "q1.csv",
        "map": ["partner", "as_of", "metric:joint_roadmap"], "decimal": "comma"})
    assert response.status_code == 303
    assert db.session.scalar(select(MetricValue.value)) == 2.5


def test_the_last_mapping_of_a_source_is_preselected_next_time(client, manager):
    text = ("Who,Metric,Figure (USD),Period\n"
            "Northwind Import,pipeline_velocity,4200,2026-02-27\n")
    page = _upload(client, text).get_data(as_text=True)
    assert "data-remembered" not in page
    chosen = ["partner", "metric", "value", "as_of"]  # "Who" and "Period" chosen by hand
    response = client.post("/scorecard/imports/confirm", data={
        "text": text, "file_name": "crm.csv", "map": chosen})
    assert response.status_code == 303
    later = text.replace("4200", "4300").replace("2026-02-27", "2026-02-28")
    page = _upload(client, later, name="crm-next.csv").get_data(as_text=True)
    assert "data-remembered" in page and "The 1 row is good" in page
    mapping = re.findall(r'<select class="input input-short" id="map-\d+" name="map">.*?'
                         r'<option value="([^"]*)" selected>', page, re.S)
    assert mapping == chosen
    other = _upload(client, "partner,metric,value,as_of\nNorthwind Import,mdf_spend,72,"
                            "2026-02-27\n").get_data(as_text=True)
    assert "data-remembered" not in other  # another layout: another source


def test_a_typo_in_a_partner_name_is_answered_with_the_nearest_name(client, manager,
                                                                   count_queries):
    rows = "".join(f"Northwind Imprt,pipeline_velocity,{4000 + n},2026-02-{n + 1:02d}\n"
                   for n in range(20))
    with count_queries() as few:
        _upload(client, "partner,metric,value,as_of\nNorthwind Import,mdf_spend,1,2026-02-27\n")
    with count_queries() as many:
        page = html.unescape(_upload(client, "partner,metric,value,as_of\n" + rows)
                             .get_data(as_text=True))
    assert "unknown partner 'Northwind Imprt' (did you mean Northwind Import?)" in page
    assert len(many.statements) <= len(few.statements)  # no query per row
