"""Reading metric CSVs (pure): mapping by header, every bad row with its line and reason."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from lms.core.errors import Invalid
from lms.scorecard import upload
from tests.scorecard.support import TODAY, shipped

PARTNERS = {"northwind systems": (1, "Northwind Systems"), "1": (1, "Northwind Systems"),
            "bluepeak integrators": (2, "Bluepeak Integrators"),
            "2": (2, "Bluepeak Integrators")}


@pytest.fixture(scope="module")
def definitions():
    return shipped()


def _check(definitions, text, mapping=None, **kwargs):
    table = upload.read_table(text)
    mapping = mapping or upload.auto_mapping(table.header, definitions)
    assert upload.check_mapping(mapping, definitions, today=TODAY, **kwargs) == []
    return upload.check_table(table, mapping, definitions, partners=PARTNERS, today=TODAY,
                              **kwargs)


def test_known_headers_map_themselves(definitions):
    header = ["Partner name", "Metric code", "Value", "As of", "Notes", "Pipeline velocity",
              "mdf_spend", "enablement_readiness"]
    assert upload.auto_mapping(header, definitions) == [
        "partner", "metric", "value", "as_of", "", "metric:pipeline_velocity",
        "metric:mdf_spend", ""]  # readiness is computed here, never imported
    # A second column with a known header is left for the person to map.
    assert upload.auto_mapping(["partner", "organisation"], definitions) == ["partner", ""]


def test_a_clean_long_file(definitions):
    checked = _check(definitions, "partner,metric,value,as_of\n"
                                  "Northwind Systems,co_sell_success,32.5%,2026-09-30\n"
                                  "\n"
                                  "bluepeak integrators,pipeline_velocity,\"$4,200\",2026-10-01\n"
                                  "2,lead_follow_up_sla,30,2026-10-01\n")
    assert checked.problems == [] and checked.rows == 3
    assert [(v.line, v.organisation_id, v.metric, v.value, v.as_of) for v in checked.values] == [
        (2, 1, "co_sell_success", 32.5, date(2026, 9, 30)),
        (4, 2, "pipeline_velocity", 4200.0, date(2026, 10, 1)),
        (5, 2, "lead_follow_up_sla", 30.0, date(2026, 10, 1))]


def test_every_bad_row_is_reported_with_its_line_and_reason(definitions):
    text = ("partner,metric,value,as_of\n"
            "Northwind Systems,co_sell_success,32,2026-09-30\n"
            "Northwnd Systems,co_sell_success,32,2026-09-30\n"
            "Northwind Systems,co_sell_succes,32,2026-09-30\n"
            "Northwind Systems,mdf_spend,lots,2026-09-30\n"
            "Northwind Systems,mdf_spend,50,30/09/2026\n"
            "Northwind Systems,co_sell_success,33,2026-09-30\n"
            "Northwind Systems,mdf_spend,50,2026-12-31\n"
            "Northwind Systems,enablement_readiness,90,2026-09-30\n"
            ",mdf_spend,,2026-02-30\n")
    checked = _check(definitions, text)
    assert checked.values == []  # all or nothing
    assert [(p.line, p.text) for p in checked.problems] == [
        (3, "unknown partner 'Northwnd Systems' (did you mean Northwind Systems?)"),
        (4, "unknown metric 'co_sell_succes'"),
        (5, "not a number: 'lots'"),
        (6, "bad date '30/09/2026': write it as YYYY-MM-DD"),
        (7, "duplicate: line 2 already gives co_sell_success of Northwind Systems as of "
            "2026-09-30"),
        (8, "bad date '2026-12-31': it is in the future"),
        (9, "enablement_readiness is computed here and cannot be imported"),
        (10, "the partner is empty; bad date '2026-02-30': no such day; the value is empty"),
    ]


def test_a_wide_file_with_a_date_for_the_whole_file(definitions):
    text = ("Partner,Pipeline velocity,MDF spend,Lead follow-up SLA\n"
            "Northwind Systems,5200,,12\n"
            "Bluepeak Integrators,abc,40,\n")
    table = upload.read_table(text)
    mapping = upload.auto_mapping(table.header, definitions)
    assert mapping == ["partner", "metric:pipeline_velocity", "metric:mdf_spend",
                       "metric:lead_follow_up_sla"]
    assert upload.check_mapping(mapping, definitions, today=TODAY) == [
        "No column is mapped to the as-of date, and no date is given for the whole file."]
    checked = upload.check_table(table, mapping, definitions, partners=PARTNERS, today=TODAY,
                                 default_as_of=date(2026, 9, 30))
    assert [(p.line, p.text) for p in checked.problems] == [
        (3, "Pipeline velocity: not a number: 'abc'")]
    fixed = upload.check_table(upload.read_table(text.replace("abc", "1800")), mapping,
                               definitions, partners=PARTNERS, today=TODAY,
                               default_as_of=date(2026, 9, 30))
    assert [(v.line, v.metric, v.value) for v in fixed.values] == [
        (2, "pipeline_velocity", 5200), (2, "lead_follow_up_sla", 12),
        (3, "pipeline_velocity", 1800), (3, "mdf_spend", 40)]


@pytest.mark.parametrize("future", [date(9999, 12, 31), TODAY + timedelta(days=1)])
def test_the_date_for_the_whole_file_is_checked_like_a_cell(definitions, future):
    # A future date given once for the file froze the metric for good (never stale, never
    # replaced); it is refused exactly as the same date in a cell is.
    mapping = ["partner", "metric", "value"]
    problems = upload.check_mapping(mapping, definitions, today=TODAY, default_as_of=future)
    _, cell = upload.parse_date(future.isoformat(), TODAY)
    assert problems == [f"The as-of date for the whole file: {cell}."]
    assert cell == f"bad date '{future.isoformat()}': it is in the future"
    assert upload.check_mapping(mapping, definitions, today=TODAY, default_as_of=TODAY) == []


def test_mapping_problems(definitions):
    assert upload.check_mapping(["partner", "partner", "value"], definitions, today=TODAY) == [
        "Two columns are mapped to Partner (name or ID); choose one.",
        "No column is mapped to the as-of date, and no date is given for the whole file.",
        "A metric code column needs a value column beside it (and the other way round)."]
    assert upload.check_mapping(["as_of", "bogus"], definitions, today=TODAY) == [
        "Column 2: unknown choice 'bogus'.", "No column is mapped to the partner.",
        "No column holds values: map a metric code and a value column, or a column to the "
        "value of a metric."]


def test_semicolons_quotes_and_a_bom(definitions):
    checked = _check(definitions, "\ufeffpartner;metric;value;as_of\n"
                                  "\"Northwind\nSystems\";mdf_spend;50;2026-09-30\n"
                                  "Northwind Systems;pipeline_velocity;\"1,250.5\";2026-09-29\n")
    assert [(p.line, p.text) for p in checked.problems] == [
        (2, "unknown partner 'Northwind\\nSystems' (did you mean Northwind Systems?)")]
    assert checked.rows == 2


def test_extra_cells_are_a_problem_of_their_line(definitions):
    checked = _check(definitions, "partner,metric,value,as_of\n"
                                  "Northwind Systems,mdf_spend,50,2026-09-30,oops\n")
    assert [(p.line, p.text) for p in checked.problems] == [
        (2, "5 values but the header names 4 columns")]


@pytest.mark.parametrize(("text", "message"), [
    ("", "The file is empty."),
    ("partner,metric,value,as_of\n", "The file has a header but no rows to import."),
    ("partner,metric\n\"open,quote\n", "Line 2 cannot be read as CSV: the file ends inside"),
    ("partner\x00\n", "Line 1 contains a NUL character"),
])
def test_unreadable_files(text, message):
    with pytest.raises(Invalid) as error:
        upload.read_table(text)
    assert error.value.message.startswith(message) and error.value.field == "file"


@pytest.mark.parametrize(("raw", "number"), [
    ("12", 12.0), (" -3.5 ", -3.5), ("45%", 45.0), ("$1,200", 1200.0), ("€ 99", 99.0),
    (7, 7.0), (2.5, 2.5), ("1,2", None), ("NaN", None), (True, None), (None, None),
])
def test_numbers(raw, number):
    assert upload.parse_number(raw)[0] == number


# --- bounds: a value a metric cannot have is refused, naming the metric ------------------------

def test_values_out_of_bounds_are_refused_row_by_row(definitions):
    text = ("partner,metric,value,as_of\n"
            "Northwind Systems,co_sell_success,108,2026-09-30\n"
            "Northwind Systems,lead_follow_up_sla,-3,2026-09-30\n"
            "Northwind Systems,partner_contribution_margin,-12.5%,2026-09-30\n"  # min: -100
            "Northwind Systems,joint_roadmap,5.5,2026-09-30\n"
            "Northwind Systems,pipeline_velocity,-0.001,2026-09-30\n"
            "Northwind Systems,mdf_spend,100,2026-09-30\n"  # the bounds themselves are good
            "Northwind Systems,incentive_alignment,0,2026-09-30\n")
    checked = _check(definitions, text)
    assert checked.values == []  # all or nothing: the good rows wait for the bad ones
    assert [(p.line, p.reasons) for p in checked.problems] == [
        (2, [("value", "108 is above the maximum of 100 for Co-sell success (%)")]),
        (3, [("value", "-3 is below the minimum of 0 for Lead follow-up SLA (hours)")]),
        (5, [("value", "5.5 is above the maximum of 5 for Joint roadmap")]),
        (6, [("value", "-0.001 is below the minimum of 0 for Pipeline velocity (USD)")]),
    ]
    good = _check(definitions, "\n".join(line for number, line in enumerate(
        text.splitlines(), 1) if number not in (2, 3, 5, 6)) + "\n")
    assert good.problems == []
    assert [(v.metric, v.value) for v in good.values] == [
        ("partner_contribution_margin", -12.5), ("mdf_spend", 100), ("incentive_alignment", 0)]


def test_bounds_in_a_wide_file_are_problems_of_their_column(definitions):
    text = ("partner,as_of,co_sell_success,mdf_spend\n"
            "Northwind Systems,2026-09-30,1e3,101\n")
    checked = _check(definitions, text)
    assert checked.problems[0].reasons == [
        ("co_sell_success", "1,000 is above the maximum of 100 for Co-sell success (%)"),
        ("mdf_spend", "101 is above the maximum of 100 for MDF spend (%)")]


def _preview_values(text, decimal=None):
    from lms.scorecard import imports
    found = imports.preview(text, shipped(), decimal=decimal, today=TODAY)
    return found, {(v.partner, v.metric): v.value for v in
                   (found.checked.values if found.checked else [])}


def test_a_decimal_comma_file_reads_every_value_with_its_comma(app):
    from tests.factories import make_organisation
    make_organisation("Northwind Systems")
    # Excel in a decimal-comma locale: `sep=;` first, then 1.234,5 numbers. "2,500" used to
    # be read as 2500 although the file's own "31,5" says the comma is the decimal mark.
    text = ("sep=;\n"
            "partner;as_of;co_sell_success;joint_roadmap;pipeline_velocity\n"
            "Northwind Systems;2026-02-27;31,5;2,500;1.234,5\n")
    found, values = _preview_values(text)
    assert found.mapping_problems == [] and found.decimal == upload.COMMA
    assert found.convention.shown_by == (3, "31,5")
    assert values == {("Northwind Systems", "co_sell_success"): 31.5,
                      ("Northwind Systems", "joint_roadmap"): 2.5,
                      ("Northwind Systems", "pipeline_velocity"): 1234.5}
    assert [line for line, _ in found.table.rows] == [3]  # lines still count the sep= line


def test_an_ambiguous_file_asks_for_its_decimal_mark(app):
    from tests.factories import make_organisation
    make_organisation("Northwind Systems")
    text = "partner;as_of;pipeline_velocity\nNorthwind Systems;2026-02-27;2,500\n"
    found, values = _preview_values(text)
    assert found.checked is None and found.mapping_problems == [
        "Line 2 writes '2,500', which is 2.5 with a decimal comma but 2500 with a decimal "
        "point, and no other value says which the file uses: choose its decimal mark."]
    assert _preview_values(text, "comma")[1] == {
        ("Northwind Systems", "pipeline_velocity"): 2.5}
    assert _preview_values(text, "point")[1] == {
        ("Northwind Systems", "pipeline_velocity"): 2500}


def test_a_file_mixing_conventions_is_refused_until_one_is_chosen(app):
    from tests.factories import make_organisation
    make_organisation("Northwind Systems")
    text = ("partner,as_of,co_sell_success,joint_roadmap\n"
            'Northwind Systems,2026-02-27,31.5,"2,5"\n')
    found, _ = _preview_values(text)
    assert found.mapping_problems == [
        "Line 2 writes '31.5' with a decimal point but line 2 writes '2,5' with a decimal "
        "comma: choose the file's decimal mark (the cells that do not follow it are then "
        "marked)."]
    found, values = _preview_values(text, "point")
    assert [p.text for p in found.checked.problems] == [
        "Joint roadmap: '2,5' is written with a decimal comma (1.234,5) but the file uses "
        "a decimal point (1,234.5)"]


def test_header_variants_map_themselves(definitions):
    header = ["Company name", "Quarter End", "Pipeline Velocity (USD)", "Co-sell success %",
              "MDF SPEND [%]", "Lead follow-up SLA (hours)"]
    assert upload.auto_mapping(header, definitions) == [
        "partner", "as_of", "metric:pipeline_velocity", "metric:co_sell_success",
        "metric:mdf_spend", "metric:lead_follow_up_sla"]
    assert upload.auto_mapping(["Partner Name:", "KPI", "Amount", "As-of date"],
                               definitions) == ["partner", "metric", "value", "as_of"]


def test_a_mistyped_partner_is_matched_once_from_the_names_already_loaded(definitions):
    rows = "".join(f"Northwnd Systems,pipeline_velocity,{n},2026-02-27\n" for n in range(50))
    checked = _check_with_problems(definitions, "partner,metric,value,as_of\n" + rows
                                   + "Nobody At All,pipeline_velocity,1,2026-02-27\n")
    texts = {p.text for p in checked.problems}
    assert texts == {"unknown partner 'Northwnd Systems' (did you mean Northwind Systems?)",
                     "unknown partner 'Nobody At All'"}


def _check_with_problems(definitions, text):
    table = upload.read_table(text)
    mapping = upload.auto_mapping(table.header, definitions)
    return upload.check_table(table, mapping, definitions, partners=PARTNERS, today=TODAY)
