"""The scorecard API: bearer tokens only, 4xx JSON bodies naming the field (and each bad
value), all or nothing, every call recorded."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lms.extensions import db
from lms.scorecard import tokens
from lms.scorecard.models import MetricImport, MetricValue
from tests.factories import make_organisation, make_user

URL = "/api/v1/scorecard/metrics"
VALUE = {"partner": "Northwind Api", "metric": "pipeline_velocity", "value": 4200,
         "as_of": "2026-02-27"}


@pytest.fixture
def api(frozen_clock):
    partner = make_organisation("Northwind Api")
    owner = make_user(role="channel_manager")
    token, secret = tokens.create(user_id=owner.id, name="PRM nightly")
    return {"partner": partner, "owner": owner, "token": token,
            "headers": {"Authorization": f"Bearer {secret}"}}


def test_no_token_no_entry(client, api):
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer nope"}):
        response = client.post(URL, json={"values": [VALUE]}, headers=headers)
        assert response.status_code == 401
        assert response.json["field"] == "Authorization"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert client.get("/api/v1/scorecard", headers=headers).status_code == 401
    assert db.session.scalar(select(func.count(MetricValue.id))) == 0


def test_a_session_cookie_is_not_enough(client, api):
    from tests.factories import login

    login(client, api["owner"])  # the /api/ prefix has no session: cookies carry nothing
    assert client.get("/api/v1/scorecard").status_code == 401


def test_revoked_tokens_and_demoted_owners_are_refused(client, api):
    api["owner"].role = "author"
    db.session.flush()
    response = client.get("/api/v1/scorecard", headers=api["headers"])
    assert response.status_code == 403 and response.json["field"] == "Authorization"
    api["owner"].role = "channel_manager"
    tokens.revoke(api["token"].id, actor=api["owner"])
    assert client.get("/api/v1/scorecard", headers=api["headers"]).status_code == 401


def test_push_values(client, api):
    response = client.post(URL, json={"values": [VALUE, {**VALUE, "metric": "mdf_spend",
                                                         "value": "72%"}],
                                      "source_name": "prm-2026-02-27"},
                           headers=api["headers"])
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["rows"], body["changed"], body["unchanged"]) == (2, 2, 0)
    record = db.session.get(MetricImport, body["import_id"])
    assert (record.source, record.status, record.actor_id, record.token_id,
            record.file_name) == ("api", "applied", api["owner"].id, api["token"].id,
                                  "prm-2026-02-27")
    again = client.post(URL, json={"values": [VALUE]}, headers=api["headers"]).json
    assert (again["changed"], again["unchanged"]) == (0, 1)
    db.session.refresh(api["token"])
    assert api["token"].last_used_at is not None


@pytest.mark.parametrize(("body", "status", "field"), [
    ("not json", 400, "values"),
    ({"values": []}, 422, "values"),
    ({"values": "x"}, 422, "values"),
    ({"values": [VALUE], "extra": 1}, 422, "extra"),
])
def test_malformed_bodies_name_the_field(client, api, body, status, field):
    if isinstance(body, str):
        response = client.post(URL, data=body, headers=api["headers"],
                               content_type="text/plain")
    else:
        response = client.post(URL, json=body, headers=api["headers"])
    assert response.status_code == status
    assert response.json["field"] == field and response.json["message"]


def test_bad_values_are_listed_by_index_and_nothing_is_imported(client, api):
    response = client.post(URL, json={"values": [
        VALUE,
        {**VALUE, "partner": "Nobody"},
        {**VALUE, "metric": "enablement_readiness"},
        {**VALUE, "value": "lots", "as_of": "2026-13-01"},
        VALUE,
        {"partner_id": api["partner"].id, "metric": "mdf_spend", "value": 1,
         "as_of": "2026-02-27", "colour": "red"},
    ]}, headers=api["headers"])
    assert response.status_code == 422
    body = response.json
    assert body["error"] == "RowsInvalid" and body["field"] == "values[1].partner"
    assert body["message"] == "Nothing was imported: 5 values need correcting first."
    assert body["problems"] == [
        {"index": 1, "field": "values[1].partner", "message": "unknown partner 'Nobody'"},
        {"index": 2, "field": "values[2].metric",
         "message": "enablement_readiness is computed here and cannot be imported"},
        {"index": 3, "field": "values[3].as_of",
         "message": "bad date '2026-13-01': no such day"},
        {"index": 3, "field": "values[3].value", "message": "not a number: 'lots'"},
        {"index": 4, "field": "values[4]",
         "message": "duplicate of values[0] (same partner, metric and as_of)"},
        {"index": 5, "field": "values[5].colour", "message": "unknown field"},
    ]
    assert db.session.scalar(select(func.count(MetricValue.id))) == 0
    refused = db.session.scalar(select(MetricImport))
    assert (refused.status, refused.rows, len(refused.problems)) == ("rejected", 6, 6)


def test_read_the_current_scorecard(client, api):
    client.post(URL, json={"values": [VALUE]}, headers=api["headers"])
    body = client.get(f"/api/v1/scorecard?partner_id={api['partner'].id}",
                      headers=api["headers"]).json
    assert body["period"] is None and len(body["partners"]) == 1
    card = body["partners"][0]
    assert card["organisation"]["name"] == "Northwind Api"
    velocity = next(m for m in card["metrics"] if m["code"] == "pipeline_velocity")
    assert (velocity["value"], velocity["status"], velocity["owner"]) == (
        4200, "yellow", "Channel sales operations")
    bad = client.get("/api/v1/scorecard?partner_id=x", headers=api["headers"])
    assert bad.status_code == 422 and bad.json["field"] == "partner_id"


def test_values_out_of_bounds_are_refused_naming_the_field(client, api):
    response = client.post(URL, json={"values": [
        VALUE,
        {**VALUE, "metric": "co_sell_success", "value": 108},
        {**VALUE, "metric": "lead_follow_up_sla", "value": "-3"},
        {**VALUE, "metric": "partner_contribution_margin", "value": -12.5},  # min: -100
    ]}, headers=api["headers"])
    assert response.status_code == 422
    body = response.json
    assert body["field"] == "values[1].value"
    assert body["message"] == "Nothing was imported: 2 values need correcting first."
    assert body["problems"] == [
        {"index": 1, "field": "values[1].value",
         "message": "108 is above the maximum of 100 for Co-sell success (%)"},
        {"index": 2, "field": "values[2].value",
         "message": "-3 is below the minimum of 0 for Lead follow-up SLA (hours)"}]
    assert db.session.scalar(select(func.count(MetricValue.id))) == 0  # not even the good ones
    refused = db.session.scalar(select(MetricImport))
    assert (refused.status, refused.rows, refused.changed, refused.problems) == (
        "rejected", 4, 0, body["problems"])


def test_the_list_reads_stored_scorecards_a_page_at_a_time(client, api, count_queries):
    """By name, per_page at a time, following next_cursor to the end: every stored
    scorecard once, in the statements of one page whatever the number of partners; a
    partner new since the last recompute is counted as not scored yet, and scored on its
    own when asked for by ID."""
    from lms.scorecard import current, service

    for number in range(2):
        make_organisation(f"Paged {number:02d}")
    service.recompute_all()

    def walk(per_page: int) -> tuple[list[int], list[int]]:
        ids, counts, url = [], [], f"/api/v1/scorecard?per_page={per_page}"
        while url:
            with count_queries() as counter:
                body = client.get(url, headers=api["headers"]).json
            counts.append(counter.count)
            assert body["period"] is None and len(body["partners"]) <= per_page
            ids += [card["organisation"]["id"] for card in body["partners"]]
            url = body["page"]["next"]
            assert (url is None) == (body["page"]["next_cursor"] is None)
            if url:
                assert url.startswith("http") and "cursor=" in url
                url = url[url.index("/api/"):]
        return ids, counts

    few_ids, few = walk(2)
    for number in range(2, 12):
        make_organisation(f"Paged {number:02d}")
    service.recompute_all()
    ids, many = walk(5)
    stored = [card["organisation"]["id"] for card in current.stream(current.Filters())]
    assert ids == stored and len(set(ids)) == len(ids) >= 13 and set(few_ids) < set(ids)
    # Each page the same statements (the very first call also notes the token's use).
    assert len(set(few[1:] + many)) == 1, (few, many)
    first = client.get("/api/v1/scorecard?per_page=5", headers=api["headers"]).json
    assert first["page"]["total"] == len(ids) and first["page"]["not_scored_yet"] == 0

    newcomer = make_organisation("Paged Newcomer")
    listed = client.get("/api/v1/scorecard", headers=api["headers"]).json
    assert listed["page"]["not_scored_yet"] == 1 and listed["page"]["next"] is None
    assert newcomer.id not in [card["organisation"]["id"] for card in listed["partners"]]
    one = client.get(f"/api/v1/scorecard?partner_id={newcomer.id}",
                     headers=api["headers"]).json
    assert [card["organisation"]["id"] for card in one["partners"]] == [newcomer.id]

    for query, field in (("cursor=nonsense", "cursor"), ("cursor=WzEsMl0", "cursor"),
                         ("per_page=501", "per_page"), ("per_page=0", "per_page")):
        refused = client.get(f"/api/v1/scorecard?{query}", headers=api["headers"])
        assert refused.status_code == 422 and refused.json["field"] == field, query
