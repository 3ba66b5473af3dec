"""Scorecard pages: who may open them (vendor admins and channel managers only; everyone
else is told they do not exist), what the table and a partner's page show (the query counts
are in test_scorecard_query_counts.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.core import clock
from lms.extensions import db
from lms.scorecard import periods, service, tokens, webhooks
from lms.scorecard.models import MetricImport
from tests.factories import login, make_organisation, make_user
from tests.scorecard.support import ALL_GREEN, put_readiness, put_values


@pytest.fixture
def world(frozen_clock):
    northwind = make_organisation("Northwind Score", tier="gold", region="emea")
    rival = make_organisation("Rival Score", tier="silver", partner_type="si", region="apac")
    put_readiness(northwind, 92, "green")
    put_readiness(rival, 45, "red", falls_below_on=None)
    put_values(northwind, ALL_GREEN)
    put_values(rival, {"pipeline_velocity": (1500, clock.now().date() - timedelta(days=60)),
                       "co_sell_success": 12})
    manager = make_user(role="channel_manager", full_name="Cara Channel")
    endpoint = webhooks.create_endpoint(url="https://prm.example/hook", actor_id=None)
    token, _secret = tokens.create(user_id=manager.id, name="PRM")
    record = db.session.scalar(select(MetricImport).order_by(MetricImport.id.desc()))
    period = periods.close(periods.period_for(clock.now().date())[1], actor_id=manager.id)
    service.recompute_all()  # the pages read the scorecards the recompute stores
    return {"northwind": northwind, "rival": rival, "manager": manager,
            "admin": make_user(role="vendor_admin"), "author": make_user(role="author"),
            "nw_admin": make_user(northwind, role="partner_admin"),
            "nw_learner": make_user(northwind), "endpoint": endpoint, "token": token,
            "import": record, "period": period}


def _urls(w) -> list[str]:
    return [
        "/scorecard", "/scorecard/export.csv", "/scorecard/export.json",
        f"/scorecard/partners/{w['northwind'].id}", f"/scorecard/partners/{w['rival'].id}",
        "/scorecard/imports", "/scorecard/imports/template.csv",
        f"/scorecard/imports/{w['import'].id}",
        f"/scorecard/imports/{w['import'].id}?q=rival&metric=co_sell_success&page=2",
        "/scorecard/periods",
        f"/scorecard/periods/close?period={w['period'].starts_on.isoformat()}",
        f"/scorecard/periods/{w['period'].id}",
        f"/scorecard/periods/{w['period'].id}/scorecard.csv",
        f"/scorecard/periods/{w['period'].id}/scorecard.json", "/scorecard/periods/compare",
        "/scorecard/webhooks", f"/scorecard/webhooks/{w['endpoint'].id}",
        "/scorecard/api-tokens",
    ]


@pytest.mark.parametrize("viewer", ["nw_admin", "nw_learner", "author"])
def test_nobody_else_even_learns_the_pages_exist(client, world, viewer):
    login(client, world[viewer])
    for url in _urls(world):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"Rival Score" not in response.data and b"Cara Channel" not in response.data
    posts = ["/scorecard/imports/preview", "/scorecard/imports/confirm",
             "/scorecard/periods/close", "/scorecard/webhooks",
             f"/scorecard/webhooks/{world['endpoint'].id}/deactivate", "/scorecard/api-tokens",
             f"/scorecard/api-tokens/{world['token'].id}/revoke",
             f"/scorecard/imports/{world['import'].id}/revert"]
    for url in posts:
        assert client.post(url, data={"period": "2026-01-01", "confirm": "y",
                                      "url": "https://evil.example", "name": "x"}
                           ).status_code == 404, url
    assert world["endpoint"].active and world["token"].revoked_at is None
    assert world["import"].reverted_at is None
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert 'href="/scorecard"' not in home


@pytest.mark.parametrize("viewer", ["manager", "admin"])
def test_vendor_admins_and_channel_managers_open_every_page(client, world, viewer):
    login(client, world[viewer])
    for url in _urls(world):
        assert client.get(url).status_code == 200, url
    home = client.get("/scorecard").get_data(as_text=True)
    assert '<a href="/scorecard" aria-current="page">Scorecard</a>' in home


def test_the_table_shows_health_gaps_and_flags(client, world):
    login(client, world["manager"])
    page = client.get("/scorecard").get_data(as_text=True)
    assert f'data-partner="{world["northwind"].id}"' in page
    assert 'data-health="green"' in page
    # Rival: readiness red and a stale pipeline velocity, shown as a gap, not as zero.
    assert 'data-flags="readiness_low"' in page
    assert 'data-flags="metric_stale:pipeline_velocity"' in page
    assert 'data-metric="pipeline_velocity" data-status="stale"' in page
    assert 'data-metric="mdf_spend" data-status="missing"' in page


def test_filters_and_sorting(client, world):
    login(client, world["manager"])

    def partners(url):
        page = client.get(url).get_data(as_text=True)
        found = []
        for name in ("Northwind Score", "Rival Score"):
            if name in page:
                found.append((page.index(f">{name}<"), name))
        return [name for _, name in sorted(found)]

    assert partners("/scorecard?tier=silver") == ["Rival Score"]
    assert partners("/scorecard?region=emea") == ["Northwind Score"]
    assert partners("/scorecard?partner_type=si") == ["Rival Score"]
    assert partners("/scorecard?flag=readiness_low") == ["Rival Score"]
    assert partners("/scorecard?health=green") == ["Northwind Score"]
    assert partners("/scorecard?sort=score&dir=desc") == ["Northwind Score", "Rival Score"]
    assert partners("/scorecard?sort=score&dir=asc") == ["Rival Score", "Northwind Score"]
    # A partner without the value sorts last whichever the direction.
    assert partners("/scorecard?sort=mdf_spend&dir=asc") == ["Northwind Score", "Rival Score"]
    assert partners("/scorecard?sort=partner&dir=desc") == ["Rival Score", "Northwind Score"]


def test_partner_page(client, world):
    login(client, world["manager"])
    page = client.get(f"/scorecard/partners/{world['rival'].id}").get_data(as_text=True)
    assert "Certification coverage" in page  # readiness components
    assert "Channel sales operations" in page  # owner
    assert "60 days old; fresh for 45 days" in page
    assert "Enablement readiness is red (45 of 100)." in page
    assert 'class="chart sc-chart"' in page  # metric history, as SVG
    assert f"/scorecard/imports/{world['import'].id}" in page  # the evidence log
    assert (f"/scorecard/periods/{world['period'].id}?partner={world['rival'].id}"
            f"#partner-{world['rival'].id}") in page


def test_unknown_partner_is_not_found(client, world):
    login(client, world["manager"])
    assert client.get("/scorecard/partners/999999").status_code == 404


def test_webhooks_change_only_for_vendor_admins(client, world):
    login(client, world["manager"])
    assert client.post("/scorecard/webhooks",
                       data={"url": "https://x.example"}).status_code == 403
    assert client.post(f"/scorecard/webhooks/{world['endpoint'].id}/deactivate"
                       ).status_code == 403
    page = client.get(f"/scorecard/webhooks/{world['endpoint'].id}").get_data(as_text=True)
    assert world["endpoint"].secret not in page  # the secret is for admins
    assert "https://prm.example/hook" in page
    login(client, world["admin"])
    page = client.get(f"/scorecard/webhooks/{world['endpoint'].id}").get_data(as_text=True)
    assert world["endpoint"].secret in page and "Deactivate" in page
    response = client.post("/scorecard/webhooks", data={"url": "ftp://x"})
    assert response.status_code == 422 and b"starting with https://" in response.data
    response = client.post("/scorecard/webhooks", data={"url": "https://crm.example/in"})
    assert response.status_code == 303
    assert client.post(f"/scorecard/webhooks/{world['endpoint'].id}/deactivate"
                       ).status_code == 303
    db.session.refresh(world["endpoint"])
    assert not world["endpoint"].active


def test_tokens_shown_once_and_revoked_by_owner_or_admin(client, world):
    login(client, world["manager"])
    page = client.post("/scorecard/api-tokens", data={"name": "Nightly PRM"}).get_data(
        as_text=True)
    assert "Copy this token now" in page and "sc_" in page
    other = make_user(role="channel_manager")
    theirs, _ = tokens.create(user_id=other.id, name="Theirs")
    assert client.post(f"/scorecard/api-tokens/{theirs.id}/revoke").status_code == 403
    listing = client.get("/scorecard/api-tokens").get_data(as_text=True)
    assert "Theirs" not in listing and "Nightly PRM" in listing
    assert "Copy this token now" not in listing
    login(client, world["admin"])
    assert client.post(f"/scorecard/api-tokens/{theirs.id}/revoke").status_code == 303
    db.session.refresh(theirs)
    assert theirs.revoked_at is not None
