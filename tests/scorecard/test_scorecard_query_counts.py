"""The scorecard at size: its pages issue the same statements for 5 partners as for 60
(paged, sorted, filtered and searched in SQL over the scorecards the recompute stores),
the stored scorecards agree with a fresh computation and follow changes, and the export
streams every partner."""

from __future__ import annotations

import csv
import io
import json
import secrets
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert, select

from lms.accounts.models import Organisation, User
from lms.core import clock
from lms.extensions import db
from lms.readiness import sync as readiness_sync
from lms.readiness.models import ReadinessScore
from lms.scorecard import current, exports, periods, service, webhooks
from lms.scorecard.models import CurrentScorecard, MetricImport, MetricValue
from lms.scorecard.views import partners
from lms.scorecard.views import periods as periods_views
from tests.factories import login, make_organisation, make_user
from tests.scorecard.support import ALL_GREEN, complete_track, put_readiness, put_values


def insert_partners(count: int, import_id: int) -> list[int]:
    """Partners with staff, a readiness score and every metric (bulk inserts), scored."""
    marker = secrets.token_hex(3)
    db.session.execute(insert(Organisation), [
        {"name": f"Bulk {marker} {i}", "name_key": f"bulk {marker} {i}",
         "partner_type": ("reseller", "si")[i % 2], "tier": ("gold", "silver")[i % 2],
         "region": "emea", "status": "active"}
        for i in range(count)])
    ids = db.session.scalars(select(Organisation.id).where(
        Organisation.name_key.like(f"bulk {marker} %"))).all()
    rubric = readiness_sync.latest()
    now = clock.now()
    db.session.execute(insert(ReadinessScore), [
        {"organisation_id": i, "rubric_id": rubric.id, "computed_at": now,
         "total": 50 + i % 50, "health": ("green", "yellow", "red")[i % 3], "tier": "gold",
         # By position, not id: whatever ids the sequence hands out, some fall soon.
         "meets_tier": True, "falls_below_on": now + timedelta(days=(n * 7) % 120),
         "rubric_version": 1, "rubric_hash": "h", "components": [], "gaps": {},
         "forecast": {}} for n, i in enumerate(ids)])
    db.session.execute(insert(User), [
        {"email": f"bulk-{marker}-{i}@example.com", "full_name": f"Bulk {i}",
         "role": "learner", "organisation_id": i, "job_role": "sales"} for i in ids])
    db.session.execute(insert(MetricValue), [
        {"organisation_id": i, "metric": code, "value": value + i % 7,
         "as_of": now.date() - timedelta(days=i % 60), "recorded_at": now,
         "import_id": import_id}
        for i in ids for code, value in ALL_GREEN.items() if (i + len(code)) % 5])
    db.session.flush()
    service.recompute_all()
    return list(ids)


@pytest.fixture
def world(frozen_clock):
    first = make_organisation("Counted Scorecard")
    put_readiness(first, 80, "green")
    record = put_values(first, ALL_GREEN, actor=make_user(role="channel_manager"))
    webhooks.create_endpoint(url="https://prm.example/hook", actor_id=None)
    periods.close(periods.period_for(clock.now().date())[1], actor_id=None)
    return {"partner": first, "import": record, "manager": make_user(role="channel_manager")}


URLS = [
    "/scorecard", "/scorecard?page=2", "/scorecard?sort=score&dir=desc&tier=gold",
    "/scorecard?flag=tier_at_risk&sort=flags&dir=desc", "/scorecard?sort=mdf_spend&q=bulk",
    "/scorecard?health=red&region=emea&partner_type=si&sort=coverage",
    "/scorecard/export.csv", "/scorecard/export.json", "/scorecard/imports",
    "/scorecard/periods", "/scorecard/webhooks",
]


def test_the_scorecard_pages_are_constant_in_queries(client, count_queries, world):
    login(client, world["manager"])
    urls = [*URLS, f"/scorecard/partners/{world['partner'].id}"]

    def counts():
        found = []
        for url in urls:
            with count_queries() as counter:
                response = client.get(url)
                assert response.status_code == 200, url
            found.append(counter.count)
        return found

    insert_partners(4, world["import"].id)
    few = counts()
    insert_partners(55, world["import"].id)
    many = counts()
    assert few == many, list(zip(urls, few, many, strict=True))
    page = client.get("/scorecard").get_data(as_text=True)
    assert page.count('<tr data-partner="') == partners.PER_PAGE  # a page, not everyone
    assert "Page 1 of 2 · 60 partners" in page


def test_the_table_pages_sorts_filters_and_searches_in_sql(client, world, monkeypatch):
    monkeypatch.setattr(partners, "PER_PAGE", 7)
    login(client, world["manager"])
    ids = insert_partners(20, world["import"].id)
    cards = service.scorecards(clock.now())

    def shown(url):
        page = client.get(url).get_data(as_text=True)
        return [int(chunk.split('"', 1)[0]) for chunk in page.split('<tr data-partner="')[1:]]

    def walk(url):
        """Every page in turn (a page past the end shows the last: stop at the count)."""
        found, number = [], 1
        while len(found) < len(cards):
            rows = shown(f"{url}&page={number}")
            if not rows or (found and rows[-1] == found[-1]):
                return found
            found += rows
            number += 1
        return found

    by_name = [c["organisation"]["id"] for c in cards]  # gathered in name order
    assert walk("/scorecard?sort=partner") == by_name
    assert walk("/scorecard?sort=partner&dir=desc") == by_name[::-1]
    scored = sorted((c for c in cards if c["score"] is not None),
                    key=lambda c: -c["score"])  # stable: ties stay in name order
    assert walk("/scorecard?sort=score&dir=desc") == [c["organisation"]["id"] for c in scored] \
        + [c["organisation"]["id"] for c in cards if c["score"] is None]

    def value(card, code):
        metric = next(m for m in card["metrics"] if m["code"] == code)
        return None if metric["status"] == "missing" else metric["value"]

    present = sorted((c for c in cards if value(c, "mdf_spend") is not None),
                     key=lambda c: value(c, "mdf_spend"))
    assert walk("/scorecard?sort=mdf_spend") == [c["organisation"]["id"] for c in present] \
        + [c["organisation"]["id"] for c in cards if value(c, "mdf_spend") is None]
    silver = [c["organisation"]["id"] for c in cards if c["organisation"]["tier"] == "silver"]
    assert walk("/scorecard?tier=silver") == silver
    at_risk = [c["organisation"]["id"] for c in cards
               if any(f["kind"] == "tier_at_risk" for f in c["flags"])]
    assert at_risk and walk("/scorecard?flag=tier_at_risk") == at_risk
    red = [c["organisation"]["id"] for c in cards if c["health"] == "red"]
    assert walk("/scorecard?health=red") == red
    one = next(c for c in cards if c["organisation"]["name"].endswith(" 13"))
    assert shown(f"/scorecard?q={one['organisation']['name'].upper()}") == [
        one["organisation"]["id"]]
    assert ids[3] in shown(f"/scorecard?q={ids[3]}")  # by ID (and names with those digits)
    assert shown("/scorecard?q=100%25") == []  # a wildcard is a character like any other
    page = client.get("/scorecard?page=999").get_data(as_text=True)
    assert "Page 3 of 3 · 21 partners" in page  # past the end: the last page


def test_stored_scorecards_agree_with_a_fresh_computation_and_follow_changes(world):
    partner = world["partner"]
    make_user(partner)  # new: not held to the onboarding track yet
    settled = make_user(partner)
    settled.created_at = clock.now() - timedelta(days=120)
    newcomer_free = make_organisation("Empty Scorecard")
    put_readiness(newcomer_free, 40, "red")
    service.recompute_all()

    def stored_equals_fresh():
        fresh = service.scorecards(clock.now())
        assert fresh and [current.card(c["organisation"]["id"]) for c in fresh] == \
            json.loads(json.dumps(fresh))
        return {c["organisation"]["id"]: c for c in fresh}

    cards = stored_equals_fresh()
    assert [c["status"] for c in cards[partner.id]["checkpoints"]][0] == "fail"
    assert "checkpoint_failed:onboarding-essentials-all-staff" in {
        f["key"] for f in current.card(partner.id)["flags"]}

    # Staff complete the track and a value turns red: the next recompute stores it all.
    for person in db.session.scalars(select(User).where(User.organisation_id == partner.id)):
        complete_track(person, "partner-onboarding-essentials")
    put_values(partner, {"compliance_score": 10})
    assert current.card(partner.id)["checkpoints"] != service.partner_scorecard(
        partner.id, clock.now())["checkpoints"]  # stale until the recompute runs
    service.recompute_partners([partner.id])
    cards = stored_equals_fresh()
    assert [c["status"] for c in cards[partner.id]["checkpoints"]] == ["pass", "fail"]
    assert {f["key"] for f in current.card(partner.id)["flags"]} == {
        "checkpoint_failed:compliance-audit-passed"}

    # A deactivated partner leaves the table at once, and its rows at the next recompute.
    newcomer_free.status = "inactive"
    db.session.flush()
    assert current.card(newcomer_free.id) is None
    service.recompute_all()
    stored_equals_fresh()
    assert db.session.get(CurrentScorecard, newcomer_free.id) is None


def test_the_export_streams_every_partner(app, world):
    insert_partners(120, world["import"].id)
    cards = service.scorecards(clock.now())
    plain = FlaskClient(app, app.response_class, use_cookies=True)  # reads as a server does
    login(plain, world["manager"])
    response = plain.get("/scorecard/export.csv")
    assert response.status_code == 200 and response.is_streamed
    body = response.get_data(as_text=True)
    assert body == exports.as_csv(cards)  # the very document built in one piece
    assert len(list(csv.DictReader(io.StringIO(body)))) == len(cards) == 121

    response = plain.get("/scorecard/export.json?tier=silver")
    assert response.is_streamed
    silver = [c for c in cards if c["organisation"]["tier"] == "silver"]
    assert response.get_data(as_text=True) == json.dumps(
        exports.as_json(silver, generated_at=clock.now()), indent=2, ensure_ascii=False)
    empty = plain.get("/scorecard/export.json?q=nobody-is-called-this").get_data(as_text=True)
    assert json.loads(empty)["partners"] == []
    assert empty == json.dumps(exports.as_json([], generated_at=clock.now()), indent=2,
                               ensure_ascii=False)
    assert db.session.scalar(select(MetricImport.id)) is not None


def test_closed_periods_and_integrations_are_constant_in_queries(client, count_queries,
                                                                 world):
    """A closed period's page, its exports and a comparison, the deliveries of a webhook and
    the tokens: the same statements for a few rows as for many."""
    from datetime import UTC, date, datetime

    from lms.scorecard import tokens
    from lms.scorecard.models import WebhookDelivery

    login(client, world["manager"])
    endpoint = webhooks.create_endpoint(url="https://crm.example/in", actor_id=None)

    def close_pair(year: int) -> list[int]:
        return [periods.close(date(year, month, 1), actor_id=None,
                              now=datetime(year, month, 2, 9, tzinfo=UTC)).id
                for month in (1, 4)]

    def add_rows(count: int) -> None:
        for _ in range(count):
            tokens.create(user_id=world["manager"].id, name=f"T{secrets.token_hex(3)}")
        db.session.execute(insert(WebhookDelivery), [
            {"public_id": secrets.token_hex(16), "endpoint_id": endpoint.id,
             "organisation_id": world["partner"].id, "event": "scorecard.health_changed",
             "payload": "{}", "attempts": 0} for _ in range(count)])
        db.session.flush()

    def counts(pair: list[int]) -> list[int]:
        found = []
        for url in (f"/scorecard/periods/{pair[0]}", f"/scorecard/periods/{pair[1]}?page=2",
                    f"/scorecard/periods/{pair[0]}?health=red",
                    f"/scorecard/periods/{pair[0]}/scorecard.csv",
                    f"/scorecard/periods/{pair[1]}/scorecard.json",
                    f"/scorecard/periods/compare?a={pair[0]}&b={pair[1]}",
                    "/scorecard/periods/close?period=2025-10-01",
                    f"/scorecard/webhooks/{endpoint.id}",
                    "/scorecard/api-tokens"):
            with count_queries() as counter:
                assert client.get(url).status_code == 200, url
            found.append(counter.count)
        return found

    insert_partners(4, world["import"].id)
    add_rows(2)
    few = counts(close_pair(2024))
    insert_partners(55, world["import"].id)
    add_rows(60)
    many_pair = close_pair(2025)
    many = counts(many_pair)
    assert few == many, (few, many)
    page = client.get(f"/scorecard/periods/{many_pair[0]}").get_data(as_text=True)
    assert page.count('<tr data-partner="') == periods_views.FROZEN_PER_PAGE
    assert "Page 1 of 3 · 60 partners" in page
    text = client.get(f"/scorecard/periods/{many_pair[0]}/scorecard.csv").get_data(as_text=True)
    assert len(list(csv.DictReader(io.StringIO(text)))) == 60


def test_the_stored_scorecard_follows_a_readiness_recompute(world):
    """What feeds readiness (completions, certificates, staff) feeds the scorecard too: a
    readiness recompute queues the recompute of the same partners' scorecards."""
    from lms.core.jobs import commit
    from lms.readiness import service as readiness

    partner = world["partner"]
    service.recompute_all()
    assert current.card(partner.id)["readiness"]["total"] == 80  # put_readiness's
    readiness.recompute([partner.id])  # scored from the facts: no staff, no certificates
    commit()  # the queued scorecard recompute runs after the commit, as in production
    stored = db.session.scalar(select(ReadinessScore.total).where(
        ReadinessScore.organisation_id == partner.id))
    assert stored != 80 and current.card(partner.id)["readiness"]["total"] == stored
    assert current.card(partner.id) == json.loads(json.dumps(
        service.partner_scorecard(partner.id, clock.now())))
