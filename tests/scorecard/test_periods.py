"""Review periods: closing freezes every scorecard with its versions; a closed period reads
exactly as it was after new values arrive; trends, comparison and exports."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from lms.core import clock
from lms.core.errors import Conflict, Invalid
from lms.extensions import db
from lms.scorecard import periods, service, table
from lms.scorecard.models import CurrentScorecard, ReviewPeriod, Snapshot
from tests.factories import login, make_organisation, make_user
from tests.scorecard.support import ALL_GREEN, put_readiness, put_values


def test_the_calendar():
    assert periods.period_for(date(2026, 11, 25)) == ("2026 Q4", date(2026, 10, 1),
                                                      date(2026, 12, 31))
    assert periods.period_for(date(2026, 1, 1)) == ("2026 Q1", date(2026, 1, 1),
                                                    date(2026, 3, 31))
    assert periods.period_for(date(2026, 12, 31), "month") == ("Dec 2026", date(2026, 12, 1),
                                                               date(2026, 12, 31))
    assert periods.open_periods(date(2026, 1, 10), "quarter", {"2025 Q4"}) == [
        ("2026 Q1", date(2026, 1, 1), date(2026, 3, 31))]


@pytest.fixture
def setup(client, frozen_clock):
    northwind = make_organisation("Northwind Period")
    put_readiness(northwind, 84, "green")
    put_values(northwind, ALL_GREEN)
    manager = make_user(role="channel_manager", full_name="Pat Period")
    login(client, manager)
    service.recompute_all()  # the current scorecard's pages and exports read what it stores
    return {"northwind": northwind, "manager": manager}


def _close(client, starts: date):
    return client.post("/scorecard/periods/close",
                       data={"period": starts.isoformat(), "confirm": "y"})


def test_closing_needs_confirmation_then_freezes_every_partner(client, setup):
    q1 = date(2026, 1, 1)  # the frozen clock stands in 2026 Q1
    page = client.get(f"/scorecard/periods/close?period={q1}").get_data(as_text=True)
    assert "Close 2026 Q1" in page and "runs until 31 Mar 2026" in page
    refused = client.post("/scorecard/periods/close", data={"period": q1.isoformat()})
    assert refused.status_code == 422 and b"Tick the box to confirm." in refused.data
    assert db.session.scalar(select(func.count(ReviewPeriod.id))) == 0
    response = _close(client, q1)
    assert response.status_code == 303
    period = db.session.scalar(select(ReviewPeriod))
    assert (period.name, period.closed_by_id, period.definition_version) == (
        "2026 Q1", setup["manager"].id, 3)
    snapshots = db.session.scalars(select(Snapshot).where(Snapshot.period_id == period.id)).all()
    assert period.partners == len(snapshots) >= 1
    mine = next(s for s in snapshots if s.organisation_id == setup["northwind"].id)
    assert (mine.health, mine.score, mine.readiness_total, mine.rubric_version) == (
        mine.record["health"], mine.record["score"], 84, 1)
    assert mine.record["definitions"]["version"] == 3
    assert mine.record["readiness"]["components"][0]["key"] == "certification_coverage"
    assert _close(client, q1).status_code == 409  # once only


def test_a_closed_period_is_unchanged_by_new_values(client, setup):
    period = periods.close(date(2026, 1, 1), actor_id=setup["manager"].id)
    db.session.flush()
    url = f"/scorecard/periods/{period.id}"

    def page() -> str:  # without the sign-out form's CSRF token, which is new every time
        return re.sub(r'name="csrf_token" value="[^"]*"', "",
                      client.get(url).get_data(as_text=True))

    before = page()
    export_before = client.get(f"{url}/scorecard.json").get_data(as_text=True)
    assert "$6,000" in before
    clock.advance(timedelta(days=1))
    put_values(setup["northwind"], {"pipeline_velocity": 900, "co_sell_success": 5})
    put_readiness(setup["northwind"], 30, "red")
    service.recompute_partners([setup["northwind"].id])  # the job the import queues
    now_page = client.get(f"/scorecard/partners/{setup['northwind'].id}").get_data(as_text=True)
    assert "$900" in now_page  # the current scorecard moved on...
    assert page() == before  # ...the closed period did not, to the byte
    assert client.get(f"{url}/scorecard.json").get_data(as_text=True) == export_before


def test_periods_cannot_be_closed_before_they_start_or_twice(setup):
    with pytest.raises(Invalid):
        periods.close(date(2026, 4, 1), actor_id=None)  # next quarter
    with pytest.raises(Invalid):
        periods.close(date(2026, 2, 1), actor_id=None)  # not a quarter's first day
    periods.close(date(2025, 10, 1), actor_id=None)
    with pytest.raises(Conflict):
        periods.close(date(2025, 10, 1), actor_id=None)


@pytest.mark.parametrize("starts", [date(1, 1, 1), date(2025, 7, 1), date(2024, 10, 1)])
def test_only_the_periods_the_page_offers_can_be_closed(client, setup, starts):
    # The page (2026 Q1 on the clock) offers 2025 Q4 and 2026 Q1; any other quarter's date
    # used to freeze a "snapshot" of long ago from today's values.
    offered = "choose 2025 Q4 (from 2025-10-01) or 2026 Q1 (from 2026-01-01)"
    refused = _close(client, starts)
    assert refused.status_code == 422
    assert offered in refused.get_data(as_text=True)
    page = client.get(f"/scorecard/periods/close?period={starts.isoformat()}")
    assert page.status_code == 422 and offered in page.get_data(as_text=True)
    with pytest.raises(Invalid) as raised:
        periods.close(starts, actor_id=None)
    assert raised.value.field == "period"
    assert db.session.scalar(select(func.count(ReviewPeriod.id))) == 0


def test_trends_and_compare(client, setup):
    q4 = periods.close(date(2025, 10, 1), actor_id=None)
    put_readiness(setup["northwind"], 40, "red")
    put_values(setup["northwind"], {"compliance_score": 50})
    q1 = periods.close(date(2026, 1, 1), actor_id=None)
    db.session.flush()
    trend = {t["name"]: t for t in periods.trends()}
    assert list(trend) == ["2025 Q4", "2026 Q1"]
    assert trend["2025 Q4"]["partners"] == q4.partners
    page = client.get("/scorecard/periods").get_data(as_text=True)
    assert 'class="chart sc-chart"' in page and "Average overall score" in page
    compared = client.get(f"/scorecard/periods/compare?a={q1.id}&b={q4.id}").get_data(
        as_text=True)
    compared = compared[compared.index('class="data sc-compare"'):]
    # The earlier period is on the left whichever way round it was asked.
    assert compared.index(">2025 Q4<") < compared.index(">2026 Q1<")
    assert "Northwind Period" in compared
    assert "Compliance score: <span class=\"sc-status sc-status-green\">green</span> → " \
           "<span class=\"sc-status sc-status-red\">red</span>" in compared
    assert ">-40<" in compared  # 100 -> 60 (readiness and compliance red: 40 of the weight)
    first, second, shown = periods.compare(q4.id, q1.id, page=1, per_page=50)
    row = next(r for r in shown.rows if r["name"] == "Northwind Period")
    assert (row["a"]["score"], row["b"]["score"], row["delta"]) == (100, 60, -40)


def test_the_tables_rows_are_stored_beside_the_records(setup):
    """What the tables and the comparison read instead of whole records (table_row)."""
    service.recompute_all()
    period = periods.close(date(2026, 1, 1), actor_id=None)
    stored = [*db.session.scalars(select(Snapshot).where(Snapshot.period_id == period.id)),
              *db.session.scalars(select(CurrentScorecard))]
    assert len(stored) == 2 * period.partners
    for scorecard in stored:
        assert scorecard.table_row == table.compact(scorecard.record)


def test_exports_current_and_snapshot(client, setup):
    response = client.get("/scorecard/export.csv")
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    mine = next(r for r in rows if r["partner"] == "Northwind Period")
    assert (mine["period"], mine["health"], mine["score"], mine["coverage_percent"]) == (
        "current", "green", "100.0", "100.0")
    assert (mine["pipeline_velocity_value"], mine["pipeline_velocity_status"]) == (
        "6000.0", "green")
    body = client.get("/scorecard/export.json").json
    assert body["period"] is None
    assert any(p["organisation"]["name"] == "Northwind Period" for p in body["partners"])
    period = periods.close(date(2026, 1, 1), actor_id=None)
    snap = client.get(f"/scorecard/periods/{period.id}/scorecard.json").json
    assert snap["period"]["name"] == "2026 Q1" and snap["period"]["definitions_version"] == 3
    text = client.get(f"/scorecard/periods/{period.id}/scorecard.csv").get_data(as_text=True)
    assert next(csv.DictReader(io.StringIO(text)))["period"] == "2026 Q1"
    filtered = client.get("/scorecard/export.json?health=red").json
    assert all(p["health"] == "red" for p in filtered["partners"])
    json.dumps(snap)  # plain JSON throughout


def test_a_partner_named_like_a_formula_stays_text_in_csv(client, setup):
    make_organisation("=HYPERLINK(1)")
    service.recompute_all()
    text = client.get("/scorecard/export.csv").get_data(as_text=True)
    assert ",'=HYPERLINK(1)," in text


def test_a_closed_period_says_its_ages_are_as_at_closing(client, setup):
    """Ages are frozen with the snapshot on purpose; the page says when they were measured,
    so a value shown as 60 days old is not read as 60 days old today."""
    aged = make_organisation("Aged Period")
    put_values(aged, {"pipeline_velocity": (6000, date(2026, 1, 1))})  # 60 days at closing
    period = periods.close(date(2026, 1, 1), actor_id=None)
    clock.advance(timedelta(days=100))
    page = client.get(f"/scorecard/periods/{period.id}").get_data(as_text=True)
    closed_on = "2 Mar 2026"
    assert period.closed_at.date() == date(2026, 3, 2)
    assert page.count(f"Ages as at closing on {closed_on}") == 1 + period.partners
    assert f"age at closing on {closed_on}" in page  # over the metrics' age column
    snapshot = page[page.index(f'id="partner-{aged.id}"'):]
    assert "60 days old; fresh for 45 days" in snapshot  # as stored: not 160 days
    today = client.get(f"/scorecard/partners/{aged.id}").get_data(as_text=True)
    assert "160 days old; fresh for 45 days" in today and "as at closing" not in today
