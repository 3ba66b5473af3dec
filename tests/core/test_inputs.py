"""Each class of hostile input answers 4xx naming the field (tests/test_hostile_inputs.py
walks every route with them; these pin down the answers)."""

from __future__ import annotations

import io
import socket
import urllib.request

import pytest
from sqlalchemy import func, select

from lms.core import outbound
from lms.extensions import db
from lms.scorecard import tokens, webhooks
from lms.scorecard.models import (
    DeliveryAttempt,
    MetricImport,
    WebhookDelivery,
    WebhookEndpoint,
)
from tests.factories import login, make_organisation, make_user

JSON = {"Accept": "application/json"}


@pytest.fixture
def vendor_admin(client):
    user = make_user(role="vendor_admin")
    login(client, user)
    return user


@pytest.fixture
def api_headers():
    owner = make_user(role="channel_manager")
    _, secret = tokens.create(user_id=owner.id, name="hostile")
    return {"Authorization": f"Bearer {secret}"}


# --- numbers in the path and the query string ------------------------------------------------


@pytest.mark.parametrize("number", ["2147483648", "9223372036854775808", "9" * 400,
                                    "9" * 5000])
def test_ids_too_large_for_the_database_are_404_naming_the_parameter(client, vendor_admin,
                                                                     number):
    response = client.get(f"/people/{number}", headers=JSON)
    assert response.status_code == 404
    assert response.json["field"] == "user_id"
    page = client.get(f"/admin/certificates/{number}").get_data(as_text=True)
    assert "certificate_id" in page


@pytest.mark.parametrize("value", ["²", "2147483648", "9" * 400, "-3", "1.5", "٣"])
def test_integer_query_parameters_are_refused_naming_them(client, api_headers, value):
    response = client.get("/api/v1/scorecard", query_string={"partner_id": value},
                          headers=api_headers)
    assert response.status_code == 422
    assert response.json["field"] == "partner_id"


def test_filters_and_pages_name_the_bad_parameter(client, vendor_admin):
    for url, field in (("/admin/certificates?organisation=²", "organisation"),
                       ("/admin/certificates?program=2147483648", "program"),
                       ("/onboarding?stage=" + "9" * 400, "stage"),
                       ("/onboarding?page=²", "page"),
                       ("/scorecard/periods/compare?a=9999999999&b=1", "a")):
        response = client.get(url, headers=JSON)
        assert response.status_code == 422, url
        assert response.json["field"] == field, url


@pytest.mark.parametrize("day", ["9999-12-31", "10000-01-01", "0001-01-01", "2026-02-30"])
def test_a_period_date_out_of_range_is_refused_naming_it(client, vendor_admin, day):
    response = client.post("/scorecard/periods/close", data={"period": day, "confirm": "y"},
                           headers=JSON)
    assert response.status_code == 422
    assert response.json["field"] == "period"


# --- NUL characters ----------------------------------------------------------------------------


def test_nul_in_the_query_string_or_the_path_is_refused_naming_where(client, vendor_admin):
    response = client.get("/verify", query_string={"id": "AB\x00CD"}, headers=JSON)
    assert response.status_code == 422 and response.json["field"] == "id"
    response = client.get("/admin/users", query_string={"q\x00": "x"}, headers=JSON)
    assert response.status_code == 422 and response.json["field"] == "q"
    response = client.get("/tracks/partner%00onboarding", headers=JSON)
    assert response.status_code == 422 and response.json["field"] == "slug"
    assert client.get("/verify/AB%00CD").status_code == 422
    # A page says where, too, not only the JSON answer.
    page = client.get("/admin/users", query_string={"q": "x\x00"})
    assert page.status_code == 422 and "q: text cannot contain NUL" in page.get_data(as_text=True)


# --- JSON bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000,
                                  '{"ids": ' + "[" * 50_000 + "]" * 50_000 + "}"])
def test_deeply_nested_json_is_a_400_naming_the_field(client, body):
    response = client.post("/api/v1/certificates/verify", data=body,
                           content_type="application/json")
    assert response.status_code == 400 and response.json["field"] == "ids"


def test_deeply_nested_json_to_the_metrics_api(client, api_headers):
    response = client.post("/api/v1/scorecard/metrics", data="[" * 100_000 + "]" * 100_000,
                           content_type="application/json", headers=api_headers)
    assert response.status_code == 400 and response.json["field"] == "values"
    deep: object = "deep"
    for _ in range(30):  # deeper than the guard takes, far shallower than Python's limit
        deep = [deep]
    nested = {"values": [{"partner": "x", "metric": "m", "value": 1, "as_of": "2026-01-01",
                          "extra": deep}]}
    response = client.post("/api/v1/scorecard/metrics", json=nested, headers=api_headers)
    assert response.status_code == 422 and response.json["field"] == "values"


@pytest.mark.parametrize(("raw", "field", "words"), [
    ('{"partner": "North\\u0000wind", "metric": "pipeline_velocity", "value": 1, '
     '"as_of": "2026-01-01"}', "values[0].partner", "NUL"),
    ('{"partner": "North\\ud800wind", "metric": "pipeline_velocity", "value": 1, '
     '"as_of": "2026-01-01"}', "values[0].partner", "surrogate"),
    ('{"partner_id": ' + "9" * 400 + ', "metric": "pipeline_velocity", "value": 1, '
     '"as_of": "2026-01-01"}', "values[0].partner_id", "too large"),
    ('{"partner": "x", "metric": "pipeline_velocity", "value": ' + "9" * 400 + ', '
     '"as_of": "2026-01-01"}', "values[0].value", "too large"),
    ('{"partner": "x", "metric": "pipeline_velocity", "value": 1e400, '
     '"as_of": "2026-01-01"}', "values[0].value", "finite"),
    ('{"partner": "x", "metric": "pipeline_velocity", "value": NaN, '
     '"as_of": "2026-01-01"}', "values[0].value", "finite"),
])
def test_values_no_database_can_take_are_refused_naming_them(client, api_headers, raw,
                                                             field, words):
    before = db.session.scalar(select(func.count(MetricImport.id)))
    response = client.post("/api/v1/scorecard/metrics", data='{"values": [' + raw + "]}",
                           content_type="application/json", headers=api_headers)
    assert response.status_code == 422
    assert response.json["field"] == field and words in response.json["message"]
    assert db.session.scalar(select(func.count(MetricImport.id))) == before


def test_lone_surrogates_and_nul_in_bulk_verification(client):
    for raw in ('{"ids": ["\\ud800"]}', '{"ids": ["ok", "\\u0000"]}'):
        response = client.post("/api/v1/certificates/verify", data=raw,
                               content_type="application/json")
        assert response.status_code == 422 and response.json["field"] == "ids[0]" \
            if "ud800" in raw else response.json["field"] == "ids[1]"


def test_html_forms_do_not_take_json_bodies(client, vendor_admin):
    # Flask-WTF would read a JSON object's nested values as the fields' text.
    response = client.post("/admin/organisations/new",
                           json={"name": {"a": 1}, "tier": ["gold"], "region": "emea"})
    assert response.status_code == 415


# --- uploads -----------------------------------------------------------------------------------


def test_a_file_name_longer_than_its_column_is_refused(client, vendor_admin):
    make_organisation("Walk Partner")
    long_name = "q" * 300 + ".csv"
    response = client.post("/scorecard/imports/confirm", data={
        "text": "partner,as_of,pipeline_velocity\nWalk Partner,2026-01-01,4\n",
        "file_name": long_name})
    assert response.status_code == 422
    assert "longer than 255 characters" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(MetricImport.id))) == 0


def test_uploads_over_the_limit_say_the_limit(app, client, vendor_admin, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2 * 1024 * 1024)
    def big():
        return io.BytesIO(b"x" * (3 * 1024 * 1024))

    response = client.post("/verify/csv", data={"file": (big(), "big.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert "at most 2 MB" in response.get_data(as_text=True)
    response = client.post("/verify/csv", data={"file": (big(), "big.csv")},
                           content_type="multipart/form-data", headers=JSON)
    assert response.status_code == 413 and "at most 2 MB" in response.json["message"]


# --- webhook targets -------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://[::1", "http://[fe80::1%eth0]:x/", "https://host:99999/", "http://[::1]/",
    "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.0.0.7/",
    "http://169.254.169.254/latest/meta-data", "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/", "http://192.168.1.1/", "http://100.64.0.1/", "ftp://x.example/",
    "https://" + "a" * 70 + ".example/",
    # IPv6 forms that carry a private IPv4 address: compatible, 6to4, NAT64.
    "http://[::127.0.0.1]/", "http://[2002:7f00:1::]/", "http://[64:ff9b::a00:7]/",
])
def test_webhook_targets_must_be_public_and_well_formed(client, vendor_admin, url):
    response = client.post("/scorecard/webhooks", data={"url": url})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in page or "flash-error" in page
    assert db.session.scalar(select(func.count(WebhookEndpoint.id))) == 0


def test_private_targets_are_allowed_by_the_setting(app, vendor_admin, monkeypatch):
    with pytest.raises(Exception, match="LMS_WEBHOOK_ALLOW_PRIVATE"):
        webhooks.create_endpoint(url="http://127.0.0.1:9/hook", actor_id=None)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    assert webhooks.create_endpoint(url="http://127.0.0.1:9/hook", actor_id=None).id


def test_a_name_that_resolves_to_a_private_address_later_is_not_called(app, monkeypatch):
    """DNS rebinding: public when configured, loopback when delivered."""
    answers = {"public": "93.184.216.34", "now": "93.184.216.34"}

    def resolve(host, port, *args, **kwargs):
        assert host == "hooks.rebind.example"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers["now"], port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    endpoint = webhooks.create_endpoint(url="http://hooks.rebind.example/in", actor_id=None)
    answers["now"] = "127.0.0.1"
    connected = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: connected.append(
        address))
    from lms.core import clock

    webhooks.queue("scorecard.health_changed", {"partner": {"id": 1}}, organisation_id=None,
                   now=clock.now())
    db.session.flush()
    webhooks.deliver_due()
    attempt = db.session.scalar(select(DeliveryAttempt).join(
        WebhookDelivery, WebhookDelivery.id == DeliveryAttempt.delivery_id).where(
        WebhookDelivery.endpoint_id == endpoint.id))
    assert connected == []
    assert attempt.status_code is None and "127.0.0.1" in attempt.error
    assert outbound.SETTING in attempt.error


def test_deliveries_ignore_proxies_from_the_environment(monkeypatch):
    # Through a proxy the address check would see the proxy, never the webhook's target.
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("http_proxy", "http://proxy.example:3128")
    handlers = outbound.opener(allow_private=False).handlers
    assert not [h for h in handlers if isinstance(h, urllib.request.ProxyHandler) and h.proxies]
    assert [h for h in urllib.request.build_opener().handlers  # what the default would do
            if isinstance(h, urllib.request.ProxyHandler) and h.proxies]

