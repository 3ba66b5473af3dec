"""What an import changed, as rows: its page shows 50 at a time (searched by partner name or
ID, filtered by metric, counted by one aggregate), in the same statements for 3 changes as
for 240; the imports list never reads them; the template streams a row per partner."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert, select

from lms.accounts.models import Organisation
from lms.core import clock
from lms.extensions import db
from lms.scorecard import imports, upload
from lms.scorecard.models import ImportChange
from tests.factories import counted_get, login, make_organisation, make_user
from tests.scorecard.support import put_values

METRICS = ("mdf_spend", "co_sell_success")


def bulk_partners(count: int, prefix: str = "Bulk") -> list[tuple[int, str]]:
    """`count` partners named "<prefix> <marker> 000".. (bulk insert): [(id, name)]."""
    marker = secrets.token_hex(3)
    db.session.execute(insert(Organisation), [
        {"name": f"{prefix} {marker} {i:03d}", "name_key": f"{prefix.lower()} {marker} {i:03d}",
         "partner_type": "reseller", "tier": "gold", "region": "emea", "status": "active"}
        for i in range(count)])
    return list(db.session.execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.name_key.like(f"{prefix.lower()} {marker} %"))
        .order_by(Organisation.name_key)).tuples())


def import_all(partners, *, value: float = 10.0, days_ago: int = 0, actor=None):
    """One import of every metric in METRICS for each partner, through the service."""
    as_of = clock.now().date() - timedelta(days=days_ago)
    values = [upload.Value(n, organisation_id, name, code, value + n, as_of)
              for n, (organisation_id, name) in enumerate(partners) for code in METRICS]
    record = imports.apply(values, actor_id=actor.id if actor else None, source="csv",
                           file_name="bulk.csv")
    # The counts kept with the import always equal a recount of its change rows.
    assert imports.summary_of(record) == imports.change_summary(record.id)
    return record


@pytest.fixture
def manager(client, frozen_clock):
    person = make_user(role="channel_manager")
    login(client, person)
    return person


def _shown(page: str) -> list[str]:
    return re.findall(r'<tr data-change="(\d+-[a-z_]+)">', page)


def test_the_page_shows_fifty_changes_by_partner_then_metric_and_pages(client, manager):
    partners = bulk_partners(60)
    record = import_all(partners)
    assert record.changed == 120
    url = f"/scorecard/imports/{record.id}"
    first = client.get(url).get_data(as_text=True)
    expected = [f"{organisation_id}-{code}" for organisation_id, _ in partners
                for code in sorted(METRICS)]
    assert _shown(first) == expected[:50]
    assert "Page 1 of 3 · 120 changes" in first
    assert f'href="{url}?page=2"' in first
    third = client.get(f"{url}?page=3").get_data(as_text=True)
    assert _shown(third) == expected[100:]
    assert _shown(client.get(f"{url}?page=99").get_data(as_text=True)) == expected[100:]


def test_search_by_partner_name_or_id_and_filter_by_metric(client, manager):
    partners = bulk_partners(60)
    record = import_all(partners)
    url = f"/scorecard/imports/{record.id}"
    first_id, (seventh_id, seventh_name) = partners[0][0], partners[7]
    by_name = client.get(url, query_string={"q": seventh_name.upper()}).get_data(as_text=True)
    assert _shown(by_name) == [f"{seventh_id}-co_sell_success", f"{seventh_id}-mdf_spend"]
    assert "2 changes match" in by_name
    by_id = client.get(url, query_string={"q": str(first_id)}).get_data(as_text=True)
    assert f"{first_id}-mdf_spend" in _shown(by_id)
    # A wildcard is a character like any other, not "anything".
    assert _shown(client.get(url, query_string={"q": "%"}).get_data(as_text=True)) == []
    one_metric = client.get(url, query_string={"metric": "mdf_spend"}).get_data(as_text=True)
    assert _shown(one_metric) == [f"{i}-mdf_spend" for i, _ in partners[:50]]
    assert "Page 1 of 2 · 60 changes match" in one_metric
    assert f'href="{url}?page=2&amp;metric=mdf_spend"' in one_metric
    assert '<option value="mdf_spend" selected>MDF spend (60)</option>' in one_metric
    both = client.get(url, query_string={"metric": "mdf_spend", "q": seventh_name}
                      ).get_data(as_text=True)
    assert _shown(both) == [f"{seventh_id}-mdf_spend"]
    # A metric the import did not change (or no metric at all) filters nothing.
    unknown = client.get(url, query_string={"metric": "nope"}).get_data(as_text=True)
    assert len(_shown(unknown)) == 50 and "120 changes" in unknown


def test_summary_counts_new_values_and_history_only(client, manager):
    partners = bulk_partners(3)
    import_all(partners[:2], days_ago=5)
    later = import_all(partners, days_ago=10, value=20)  # older than two partners' values
    assert imports.summary_of(later).by_metric == {
        "co_sell_success": (3, 1, 2), "mdf_spend": (3, 1, 2)}
    page = client.get(f"/scorecard/imports/{later.id}").get_data(as_text=True)
    assert re.search(r'data-count="new"><strong>2</strong>', page)
    assert re.search(r'data-count="history"><strong>4</strong>', page)
    assert page.count("history only</small>") == 4


def test_the_import_page_is_constant_in_queries(client, count_queries, manager):
    few_partners = bulk_partners(2)
    few_record = import_all(few_partners)
    many_partners = bulk_partners(120)
    many_record = import_all(many_partners)
    for query in ("", "?page=2", "?q=bulk&metric=mdf_spend", f"?q={many_partners[3][0]}"):
        few, _ = counted_get(client, count_queries,
                             f"/scorecard/imports/{few_record.id}{query}")
        many, page = counted_get(client, count_queries,
                                 f"/scorecard/imports/{many_record.id}{query}")
        assert few == many, (query, few, many)
    assert f"{many_partners[3][0]}-mdf_spend" in _shown(page)  # the last query: by ID


def test_the_imports_list_never_reads_changes(client, count_queries, manager):
    import_all(bulk_partners(30))
    with count_queries() as counter:
        assert client.get("/scorecard/imports").status_code == 200
    assert not [s for s in counter.statements if "scorecard_import_change" in s]


def test_a_revert_puts_back_every_change_not_only_the_page_shown(client, manager,
                                                                 monkeypatch):
    from lms.core import jobs
    from lms.scorecard.gather import current_values

    partners = bulk_partners(60)
    import_all(partners, value=1)
    record = import_all(partners, value=500)
    queued = []
    monkeypatch.setattr(jobs, "enqueue", lambda task, *args: queued.append((task, args)))
    imports.revert(record.id, actor_id=manager.id)
    # Every partner the import touched is recomputed, read from its change rows.
    assert [args for task, args in queued if task.__name__ == "recompute_partners"] == [
        (sorted(i for i, _ in partners),)]
    values = current_values(lambda column: column.in_([i for i, _ in partners]))
    assert {values[i]["mdf_spend"].value for i, _ in partners} == {1 + n for n in range(60)}


def test_the_api_answer_still_lists_every_change(client, frozen_clock):
    from lms.scorecard import tokens

    partner = make_organisation("Api Changes")
    owner = make_user(role="channel_manager")
    _token, secret = tokens.create(user_id=owner.id, name="PRM")
    headers = {"Authorization": f"Bearer {secret}"}
    today = clock.now().date().isoformat()
    body = {"values": [{"partner": "Api Changes", "metric": "mdf_spend", "value": 40,
                        "as_of": today}]}
    assert client.post("/api/v1/scorecard/metrics", json=body, headers=headers
                       ).status_code == 201
    body["values"][0]["value"] = 50
    answer = client.post("/api/v1/scorecard/metrics", json=body, headers=headers).json
    assert answer["changes"] == [{
        "organisation_id": partner.id, "partner": "Api Changes", "metric": "mdf_spend",
        "as_of": today, "new": 50.0, "old": 40.0, "old_as_of": today, "current": True}]
    assert db.session.scalar(select(ImportChange.new).where(
        ImportChange.import_id == answer["import_id"])) == 50.0


# --- the template ------------------------------------------------------------------------------

def test_the_template_streams_a_row_per_partner_by_name(app, client, count_queries, manager):
    make_organisation('Quote "Me", Ltd')
    bulk_partners(3, prefix="Zulu")
    plain = FlaskClient(app, app.response_class, use_cookies=True)  # reads as a server does
    login(plain, manager)
    response = plain.get("/scorecard/imports/template.csv")
    assert response.is_streamed
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="scorecard-metrics-template.csv"'
    # The header line is the first thing sent, before any partner is read.
    with count_queries() as counter:
        first = next(iter(response.response)).decode()
    assert counter.count == 0
    response.close()
    header, *rows = plain.get("/scorecard/imports/template.csv").get_data(
        as_text=True).splitlines()
    assert first.rstrip("\r\n") == header
    assert header.startswith("partner,as_of,partner_contribution_margin,")
    blanks = "," * header.count(",")  # the as-of date and every metric, left empty
    assert all(row.endswith(blanks) for row in rows)
    names = db.session.scalars(select(Organisation.name).order_by(Organisation.name_key)).all()
    assert [row.removesuffix(blanks) for row in rows] == [
        f'"{name.replace(chr(34), chr(34) * 2)}"' if '"' in name or "," in name else name
        for name in names]
    assert '"Quote ""Me"", Ltd"' + blanks in rows
    few, _ = counted_get(client, count_queries, "/scorecard/imports/template.csv")
    bulk_partners(40)
    many, body = counted_get(client, count_queries, "/scorecard/imports/template.csv")
    assert few == many and len(body.splitlines()) == len(names) + 41


def test_put_values_still_records_rows_through_the_service(frozen_clock):
    partner = make_organisation("Support Partner")
    record = put_values(partner, {"mdf_spend": 40})
    assert [(c.organisation_id, c.partner, c.name_key, c.metric, c.new, c.old, c.current)
            for c in db.session.scalars(select(ImportChange).where(
                ImportChange.import_id == record.id))] == [
        (partner.id, "Support Partner", "support partner", "mdf_spend", 40.0, None, True)]
    assert record.summary == {"mdf_spend": [1, 1, 0]}
    unchanged = put_values(partner, {"mdf_spend": 40})  # the same figure: nothing changed
    assert (unchanged.changed, unchanged.summary) == (0, {})
    assert imports.change_summary(unchanged.id).by_metric == {}
