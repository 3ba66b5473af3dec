"""The partner scorecard in the browser (issue 6, acceptance 1).

The channel manager opens the Scorecard, uploads a metrics CSV with one bad row (the
preview names its line and reason, and nothing can be imported), fixes the file and
imports it; the table then shows each partner's health colour and risk flags. They close
the current quarter (with its confirmation box), new data arrives for a partner, and the
closed quarter's snapshot still shows the old value while the scorecard shows the new one.

The values are chosen from content/scorecard/metrics.yml so that one demo partner comes
out green, one yellow and one red, whatever its enablement readiness is when the test runs
(read from the page first): the demo and the readiness rules may change, the arithmetic
of the scorecard does not.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml
from playwright.sync_api import expect

from tests.e2e.conftest import PROJECT_ROOT, SCREENSHOTS
from tests.e2e.support import log_in, query

CHANNEL_MANAGER = "channel@vendor.example"  # Daniel Okafor in the demo
DEFINITIONS = yaml.safe_load((PROJECT_ROOT / "content" / "scorecard" / "metrics.yml")
                             .read_text())
METRICS = DEFINITIONS["metrics"]
IMPORTED = [code for code, metric in METRICS.items() if metric.get("source") != "readiness"]
READINESS = next(code for code, metric in METRICS.items() if metric.get("source") == "readiness")
POINTS = {"green": 100, "yellow": 50, "red": 0}  # lms.scorecard.scoring.STATUS_POINTS
# Demo partners, and the health each should show after the import.
TARGETS = {"Northwind Systems": "green", "Bluepeak Integrators": "yellow",
           "Harbor Managed Services": "red"}
BAD_PARTNER = "Bluepeak Integrators"  # its row in the first file has a word for a number
BAD_METRIC = "co_sell_success"
CHANGED_PARTNER = "Harbor Managed Services"  # its compliance score changes after the close
COMPLIANCE = "compliance_score"
OLD_COMPLIANCE, NEW_COMPLIANCE = 60.0, 92.0  # red (fails the audit checkpoint), then green
AUDIT_FLAG = "checkpoint_failed:compliance-audit-passed"  # compliance_checkpoints in the yml
SHOTS = SCREENSHOTS / "scorecard"  # besides the conftest's one shot per page, shots mid-test


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def main_nav(page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def sub_nav(page, name: str) -> None:
    page.get_by_role("navigation", name="Scorecard").get_by_role(
        "link", name=name, exact=True).click()


def _today() -> date:
    """The served app's day: it runs on UTC."""
    return datetime.now(UTC).date()


def _quarter(day: date) -> str:
    """The review period containing `day`, named as lms.scorecard.periods names it."""
    assert DEFINITIONS["review_period"] == "quarter"
    return f"{day.year} Q{(day.month - 1) // 3 + 1}"


# --- choosing values ---------------------------------------------------------------------

def value_for(code: str, status: str) -> float:
    """A value of an imported metric that reads as `status` against its thresholds."""
    metric = METRICS[code]
    green, yellow = float(metric["green"]), float(metric["yellow"])
    if metric["direction"] == "higher_is_better":
        return {"green": green + (green - yellow) / 2, "yellow": (green + yellow) / 2,
                "red": yellow / 2}[status]
    return {"green": green / 2, "yellow": (green + yellow) / 2, "red": yellow * 2}[status]


def expected(statuses: dict[str, str]) -> tuple[float, str]:
    """(score, health) as lms.scorecard.scoring computes them from fresh metric statuses."""
    fresh = {code: status for code, status in statuses.items() if status in POINTS}
    weight = sum(METRICS[code]["weight"] for code in fresh)
    total = sum(metric["weight"] for metric in METRICS.values())
    score = round(sum(POINTS[s] * METRICS[c]["weight"] for c, s in fresh.items()) / weight, 1)
    health = DEFINITIONS["health"]
    if weight / total * 100 < health["min_coverage"]:
        return score, "unknown"
    if score >= health["green"]:
        return score, "green"
    return score, "yellow" if score >= health["yellow"] else "red"


def statuses_for(target: str, readiness: str, fixed: dict[str, str]) -> dict[str, str]:
    """Statuses of the imported metrics that make the overall health `target`, given the
    readiness status the page shows: as many metrics as possible in the target colour."""
    free = [code for code in IMPORTED if code not in fixed]
    combos = sorted(itertools.product(("green", "yellow", "red"), repeat=len(free)),
                    key=lambda combo: sum(status != target for status in combo))
    for combo in combos:
        statuses = {**dict(zip(free, combo, strict=True)), **fixed}
        if expected({READINESS: readiness, **statuses})[1] == target:
            return statuses
    raise AssertionError(f"no metric values give {target} with readiness {readiness}")


def number(value: float) -> str:
    """A value as written in the CSV: no trailing ".0"."""
    return f"{value:g}"


def wide_csv(path: Path, rows: dict[str, dict[str, float | str]], as_of: date) -> Path:
    """One row per partner, one column per metric (the template's layout)."""
    lines = [",".join(["partner", "as_of", *IMPORTED])]
    for partner, values in rows.items():
        cells = [values[code] if isinstance(values[code], str) else number(values[code])
                 for code in IMPORTED]
        lines.append(",".join([partner, as_of.isoformat(), *cells]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- the pages ---------------------------------------------------------------------------

def scorecard_row(page, partner: str):
    table = page.get_by_role("table", name="Partner scorecard")
    return table.locator("tr[data-partner]").filter(
        has=page.get_by_role("link", name=partner, exact=True))


def metric_cell(row, code: str):
    return row.locator(f'td[data-metric="{code}"]')


def shown_value(row, code: str):
    """The value in a metric's cell (the cell also holds its status for screen readers)."""
    return metric_cell(row, code).locator(".sc-value")


def cells(row) -> list[str]:
    """What a partner's row shows, cell by cell after the partner's name: health, score,
    each metric, risk flags (the current table and a snapshot link the name differently)."""
    expect(row).to_have_count(1)
    return [" ".join(cell.inner_text().split()) for cell in row.locator("td").all()]


def upload(page, path: Path):
    """From the imports page: choose the file and preview it; returns the response."""
    page.get_by_label("CSV file").set_input_files(str(path))
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Preview: {path.name}")
    return navigation.value


def import_previewed(page, values: int, file_name: str) -> None:
    """Press Import on a good preview; land on the import's record."""
    confirm = page.locator("form.sc-confirm")
    expect(confirm.get_by_role("heading")).to_have_text(
        f"Import {values} value{'s' if values != 1 else ''}")
    confirm.get_by_role("button", name="Import", exact=True).click()
    expect(page).to_have_url(re.compile(r"/scorecard/imports/\d+$"))
    expect(page.locator(".flash-success")).to_contain_text(
        f"Imported {values} value{'s' if values != 1 else ''} from {file_name}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(file_name)


def stored(database: Path) -> dict:
    [counts] = query(database, """
        SELECT (SELECT count(*) FROM scorecard_metric_value) AS metric_values,
               (SELECT count(*) FROM scorecard_import) AS metric_imports,
               (SELECT count(*) FROM scorecard_period) AS review_periods""")
    return counts


# --- acceptance 1 ------------------------------------------------------------------------

def test_a_channel_manager_imports_metrics_closes_the_quarter_and_the_snapshot_stays(
        page, live_server, live_database, tmp_path):
    log_in(page, CHANNEL_MANAGER)
    main_nav(page, "Scorecard")
    expect(page).to_have_url(f"{live_server}/scorecard")
    expect(page.get_by_role("heading", level=1)).to_have_text("Partner scorecard")
    rows = {partner: scorecard_row(page, partner) for partner in TARGETS}
    for row in rows.values():
        expect(row).to_have_count(1)
    readiness = {partner: metric_cell(row, READINESS).get_attribute("data-status")
                 for partner, row in rows.items()}
    before = {partner: cells(row) for partner, row in rows.items()}
    shot(page, "1-scorecard-before")

    # The file: values chosen for each partner's target health; Harbor's compliance score
    # fails the audit checkpoint. Dated yesterday, so today's data can follow it.
    chosen, values = {}, {}
    for partner, target in TARGETS.items():
        fixed = {COMPLIANCE: "red"} if partner == CHANGED_PARTNER else {}
        chosen[partner] = statuses_for(target, readiness[partner], fixed)
        values[partner] = {code: value_for(code, status)
                           for code, status in chosen[partner].items()}
    values[CHANGED_PARTNER][COMPLIANCE] = OLD_COMPLIANCE
    assert value_for(COMPLIANCE, "red") < OLD_COMPLIANCE < METRICS[COMPLIANCE]["yellow"]
    as_of = _today() - timedelta(days=1)
    bad_line = 2 + list(TARGETS).index(BAD_PARTNER)  # the header is line 1
    broken = {partner: dict(found) for partner, found in values.items()}
    broken[BAD_PARTNER][BAD_METRIC] = "n/a"
    bad_file = wide_csv(tmp_path / "partner-metrics.csv", broken, as_of)

    # The upload with a bad row: the preview names the line and why; nothing can be imported.
    counts = stored(live_database)
    page.get_by_role("link", name="Import metrics").click()
    expect(page).to_have_url(f"{live_server}/scorecard/imports")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import metrics")
    response = upload(page, bad_file)
    assert response is not None and response.status == 422
    verdict = page.locator(".sc-verdict")
    expect(verdict).to_have_attribute("role", "alert")
    expect(verdict).to_contain_text("Nothing can be imported: 1 row needs fixing.")
    problems = page.locator(".sc-problems tr[data-line]")
    expect(problems).to_have_count(1)
    expect(problems).to_have_attribute("data-line", str(bad_line))
    expect(problems.locator("td").first).to_have_text(str(bad_line))
    expect(problems.locator("td").nth(1)).to_have_text(
        f"{METRICS[BAD_METRIC]['name']}: not a number: 'n/a'")
    bad_rows = page.locator("table.sc-preview tbody tr.sc-bad-row")
    expect(bad_rows).to_have_count(1)
    expect(bad_rows).to_contain_text(BAD_PARTNER)
    expect(page.locator("form.sc-confirm")).to_have_count(0)
    expect(page.get_by_role("button", name="Import", exact=True)).to_have_count(0)
    shot(page, "2-preview-bad-row")

    # Even sent straight to the import (a valid CSRF token, the file as previewed), it is
    # refused whole.
    # (No "map" fields: the columns are then mapped by their headers, as on the preview.)
    forged = page.request.post("/scorecard/imports/confirm", form={
        "csrf_token": page.locator('input[name="csrf_token"]').first.input_value(),
        "text": bad_file.read_text(), "file_name": bad_file.name})
    assert forged.status == 422, forged.status
    assert stored(live_database) == counts

    # The scorecard has not changed.
    main_nav(page, "Scorecard")
    expect(page).to_have_url(f"{live_server}/scorecard")
    for partner, row in rows.items():
        assert cells(row) == before[partner], partner

    # Fixed, the file previews clean and imports.
    good_file = wide_csv(tmp_path / "partner-metrics-fixed.csv", values, as_of)
    page.get_by_role("link", name="Import metrics").click()
    response = upload(page, good_file)
    assert response is not None and response.status == 200
    total = len(TARGETS) * len(IMPORTED)
    expect(page.locator(".sc-verdict")).to_have_text(
        f"All {len(TARGETS)} rows are good: {total} values for {len(TARGETS)} partners.")
    expect(page.locator(".sc-problems")).to_have_count(0)
    shot(page, "3-preview-good")
    import_previewed(page, total, good_file.name)
    changes = page.get_by_role("table", name="What changed")
    [harbor] = query(live_database, "SELECT id FROM organisation WHERE name = ?",
                     (CHANGED_PARTNER,))
    change = changes.locator(f'tr[data-change="{harbor["id"]}-{COMPLIANCE}"]')
    expect(change).to_contain_text(as_of.isoformat())
    expect(change.locator("td.num").last).to_have_text(number(OLD_COMPLIANCE))
    shot(page, "4-import-record")
    after_import = stored(live_database)
    assert after_import["metric_imports"] == counts["metric_imports"] + 1
    assert after_import["metric_values"] >= counts["metric_values"] + total - 1

    # The table: each partner's health colour, its score, and the risk flags.
    main_nav(page, "Scorecard")
    for partner, target in TARGETS.items():
        row = rows[partner]
        score, health = expected({READINESS: readiness[partner], **chosen[partner]})
        assert health == target
        badge = row.locator(".sc-overall .sc-health")
        expect(badge).to_have_attribute("data-health", target)
        expect(badge).to_have_class(re.compile(rf"\bsc-health-{target}\b"))
        expect(badge).to_have_text(target.capitalize())
        expect(row.locator(".sc-score")).to_have_text(number(score))
        for code, status in chosen[partner].items():
            expect(metric_cell(row, code)).to_have_attribute("data-status", status)
    harbor_row = rows[CHANGED_PARTNER]
    expect(shown_value(harbor_row, COMPLIANCE)).to_have_text(number(OLD_COMPLIANCE))
    audit = harbor_row.locator(".sc-flag-checkpoint_failed")
    expect(audit).to_have_attribute("data-flags", re.compile(rf"(^|\s){AUDIT_FLAG}(\s|$)"))
    expect(audit).to_contain_text("Compliance")
    # ...and the flag filter finds it.
    page.get_by_label("Risk flag").select_option("checkpoint_failed")
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page).to_have_url(re.compile(r"flag=checkpoint_failed"))
    expect(scorecard_row(page, CHANGED_PARTNER)).to_have_count(1)
    expect(page.locator(".sc-stat-flagged strong")).not_to_have_text("0")
    shot(page, "5-scorecard-after-import")
    page.get_by_role("link", name="Clear", exact=True).click()
    expect(page).to_have_url(f"{live_server}/scorecard")
    frozen_row = cells(harbor_row)

    # Close the current quarter: the box must be ticked first.
    quarter = _quarter(_today())
    sub_nav(page, "Review periods")
    expect(page.get_by_role("heading", level=1)).to_have_text("Review periods")
    page.locator(".sc-open-periods").get_by_role("link", name=f"Close {quarter}…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Close {quarter}")
    expect(page.locator(".flash-warning")).to_contain_text(f"{quarter} runs until")
    close = page.get_by_role("button", name=f"Close {quarter} and freeze the scorecards")
    with page.expect_navigation() as navigation:
        close.click()
    assert navigation.value.status == 422
    expect(page.locator(".field-check .error")).to_have_text("Tick the box to confirm.")
    assert stored(live_database)["review_periods"] == counts["review_periods"]
    shot(page, "6-close-needs-confirmation")
    page.get_by_label(re.compile(r"^I understand that the scorecards")).check()
    close.click()
    expect(page).to_have_url(re.compile(r"/scorecard/periods/\d+$"))
    period_url = page.url
    expect(page.locator(".flash-success")).to_contain_text(f"{quarter} is closed:")
    expect(page.get_by_role("heading", level=1)).to_contain_text(quarter)
    expect(page.locator("h1 .sc-frozen")).to_have_text("Frozen")
    snapshot = page.get_by_role("table", name=f"{quarter} scorecard")
    snapshot_row = snapshot.locator("tr[data-partner]").filter(
        has=page.get_by_role("link", name=CHANGED_PARTNER, exact=True))
    expect(shown_value(snapshot_row, COMPLIANCE)).to_have_text(number(OLD_COMPLIANCE))
    expect(snapshot_row.locator(".sc-health")).to_have_attribute(
        "data-health", TARGETS[CHANGED_PARTNER])
    snapshot_text = cells(snapshot_row)
    assert snapshot_text == frozen_row  # frozen exactly as the scorecard showed it
    shot(page, "7-period-closed")

    # New data arrives: today's compliance audit for the same partner.
    new_file = tmp_path / "compliance-audit.csv"
    new_file.write_text(f"partner,metric,value,as_of\n{CHANGED_PARTNER},{COMPLIANCE},"
                        f"{number(NEW_COMPLIANCE)},{_today().isoformat()}\n", encoding="utf-8")
    main_nav(page, "Scorecard")
    page.get_by_role("link", name="Import metrics").click()
    upload(page, new_file)
    expect(page.locator(".sc-verdict")).to_contain_text("1 value for 1 partner.")
    import_previewed(page, 1, new_file.name)
    expect(page.locator(".flash-success")).to_contain_text("1 changed, 0 unchanged")
    change = page.get_by_role("table", name="What changed").locator(
        f'tr[data-change="{harbor["id"]}-{COMPLIANCE}"]')
    expect(change.locator("td.num").first).to_contain_text(number(OLD_COMPLIANCE))
    expect(change.locator("td.num").last).to_have_text(number(NEW_COMPLIANCE))

    # The current scorecard shows the new value, and the audit passes...
    main_nav(page, "Scorecard")
    expect(shown_value(harbor_row, COMPLIANCE)).to_have_text(number(NEW_COMPLIANCE))
    expect(metric_cell(harbor_row, COMPLIANCE)).to_have_attribute("data-status", "green")
    expect(harbor_row.locator(f'[data-flags~="{AUDIT_FLAG}"]')).to_have_count(0)
    shot(page, "8-scorecard-new-data")

    # ...while the closed quarter shows what it froze.
    page.goto(period_url)
    expect(shown_value(snapshot_row, COMPLIANCE)).to_have_text(number(OLD_COMPLIANCE))
    expect(metric_cell(snapshot_row, COMPLIANCE)).to_have_attribute("data-status", "red")
    expect(snapshot_row.locator(".sc-flag-checkpoint_failed")).to_have_attribute(
        "data-flags", re.compile(rf"(^|\s){AUDIT_FLAG}(\s|$)"))
    assert cells(snapshot_row) == snapshot_text
    details = page.locator(f"details#partner-{harbor['id']}")
    details.locator("summary").click()
    frozen_metric = details.locator(f'table.sc-metrics tr[data-metric="{COMPLIANCE}"]')
    expect(frozen_metric.locator("td.sc-metric .sc-value")).to_have_text(number(OLD_COMPLIANCE))
    expect(frozen_metric).to_contain_text(as_of.isoformat())
    expect(details.locator(f'[data-flag="{AUDIT_FLAG}"]')).to_be_visible()
    shot(page, "9-snapshot-unchanged")
