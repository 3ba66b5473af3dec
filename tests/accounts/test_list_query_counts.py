"""The vendor's partner and people lists: paged in SQL, searched, totals stated, and the same
number of statements for a few rows as for many."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select

from lms.accounts import views
from lms.accounts.models import Organisation, User
from lms.core import mail, tallies
from lms.extensions import db
from tests.factories import counted_get, login, make_organisation, make_user

PER_PAGE = 10


@pytest.fixture
def small_pages(monkeypatch):
    """Ten rows a page, so 60 rows make six pages."""
    monkeypatch.setattr(views, "PER_PAGE", PER_PAGE)


def _add_partners(count: int, prefix: str, tier: str = "gold") -> list[int]:
    db.session.execute(insert(Organisation), [
        {"name": f"{prefix} {n:03d}", "name_key": f"{prefix.lower()} {n:03d}",
         "partner_type": "reseller", "tier": tier, "region": "emea"} for n in range(count)])
    ids = [o.id for o in db.session.query(Organisation.id)
           .filter(Organisation.name.like(f"{prefix} %")).order_by(Organisation.name_key)]
    # Two people each, so every row has a head count to show.
    db.session.execute(insert(User), [
        {"email": f"{prefix.lower()}{i}.{n}@example.com", "full_name": f"{prefix} Staff {i} {n}",
         "role": "learner", "organisation_id": organisation_id, "job_role": "sales"}
        for i, organisation_id in enumerate(ids) for n in range(2)])
    tallies.rebuild()  # a bulk load bypasses create_user, which keeps the people tally
    return ids


def test_partners_list_is_paged_with_constant_queries(client, count_queries, small_pages):
    login(client, make_user(role="vendor_admin"))
    _add_partners(5, "Few")
    few, page = counted_get(client, count_queries, "/admin/organisations?q=few")
    assert page.count("data-organisation=") == 5 and "5 of 5 partners" in page
    _add_partners(60, "Many")
    many, page = counted_get(client, count_queries, "/admin/organisations?q=many")
    assert page.count("data-organisation=") == PER_PAGE
    assert "10 of 60 partners" in page and "Page 1 of 6" in page
    assert few == many, (few, many)
    # A later page, and the filters, cost no more.
    assert counted_get(client, count_queries, "/admin/organisations?q=many&page=4")[0] == many
    filtered = "/admin/organisations?tier=gold&region=emea"
    assert counted_get(client, count_queries, filtered)[0] == many


def test_partners_are_found_by_name_or_id_and_counted(client, small_pages):
    login(client, make_user(role="vendor_admin"))
    ids = _add_partners(12, "Search")
    wanted = make_organisation("Northwind Traders", tier="silver")
    page = client.get("/admin/organisations?q=NORTHWIND").get_data(as_text=True)
    assert f'data-organisation="{wanted.id}"' in page and "1 of 1 partner " in page
    page = client.get(f"/admin/organisations?q={ids[7]}").get_data(as_text=True)
    assert f'data-organisation="{ids[7]}"' in page
    # Filters narrow the same search; the head count comes with each row.
    page = client.get("/admin/organisations?q=search&tier=silver").get_data(as_text=True)
    assert "No organisations match." in page
    page = client.get("/admin/organisations?q=search+003").get_data(as_text=True)
    assert page.count("data-organisation=") == 1 and '<td class="num">2</td>' in page
    # "%" and "_" are letters in a search, not wildcards.
    assert "No organisations match." in client.get("/admin/organisations?q=%25").get_data(
        as_text=True)


def test_partners_list_past_the_end_shows_the_last_page(client, small_pages):
    login(client, make_user(role="vendor_admin"))
    _add_partners(25, "Paged")
    page = client.get("/admin/organisations?q=paged&page=999").get_data(as_text=True)
    assert "Page 3 of 3" in page and page.count("data-organisation=") == 5
    assert "Paged 024" in page and "Paged 019" not in page
    assert client.get("/admin/organisations?page=x").status_code == 422  # said, not ignored


def test_people_list_is_paged_with_constant_queries(client, count_queries, small_pages):
    login(client, make_user(role="vendor_admin"))
    _add_partners(3, "Few")  # 6 people
    few, page = counted_get(client, count_queries, "/admin/users?q=few+staff")
    assert page.count("data-user=") == 6 and "6 of 6 people" in page
    _add_partners(30, "Many")  # 60 people
    many, page = counted_get(client, count_queries, "/admin/users?q=many+staff")
    assert page.count("data-user=") == PER_PAGE and "10 of 60 people" in page
    assert few == many, (few, many)
    for url in ("/admin/users", "/admin/users?role=learner&page=3", "/admin/users?page=999"):
        assert counted_get(client, count_queries, url)[0] == many, url
    # Unfiltered, the total is the people tally; it says what a count would.
    make_user()
    everyone = db.session.scalar(select(func.count(User.id)))
    assert f"10 of {everyone} people" in client.get("/admin/users").get_data(as_text=True)


def test_people_are_found_by_name_email_or_id_and_never_cut_off(client, small_pages):
    login(client, make_user(role="vendor_admin"))
    ids = _add_partners(40, "Crowd")  # 80 people: more than one page, all reachable
    wanted = make_user(make_organisation("Contoso"), full_name="Ada Lovelace",
                       email="ada@contoso.example")
    for search in ("lovelace", "ADA@CONTOSO", str(wanted.id)):
        page = client.get("/admin/users", query_string={"q": search}).get_data(as_text=True)
        assert f'data-user="{wanted.id}"' in page, search
    crowd = client.get("/admin/users?q=crowd").get_data(as_text=True)
    assert "10 of 80 people" in crowd and "Page 1 of 8" in crowd
    last = client.get("/admin/users?q=crowd&page=8").get_data(as_text=True)
    assert last.count("data-user=") == 10 and "Page 8 of 8" in last
    # One partner's staff by its ID, and a role.
    page = client.get(f"/admin/users?organisation={ids[0]}").get_data(as_text=True)
    assert "2 of 2 people" in page
    page = client.get("/admin/users?role=vendor_admin").get_data(as_text=True)
    assert "1 of 1 person" in page
    assert client.get("/admin/users?organisation=abc").status_code == 422


def test_the_person_form_takes_a_partner_id_not_a_list_of_every_partner(client):
    """A vendor of thousands of partners: the form names the partner by ID (a select of
    every partner made the page hundreds of KB), and a wrong ID is refused on the form."""
    login(client, make_user(role="vendor_admin"))
    partner = make_organisation("Fabrikam")
    _add_partners(30, "Unlisted")
    form = client.get("/admin/users/new").get_data(as_text=True)
    assert "Unlisted 007" not in form and "Partner ID" in form
    data = {"full_name": "Tess Tester", "email": "tess@fabrikam.example", "role": "learner",
            "job_role": "sales"}
    for wrong, message in (("abc", "Give the ID as a whole number"),
                           ("99999999", "Partner staff must belong to an organisation")):
        refused = client.post("/admin/users/new", data={**data, "organisation_id": wrong})
        assert refused.status_code == 422 and message in refused.get_data(as_text=True)
        assert 'value="Tess Tester"' in refused.get_data(as_text=True)  # nothing typed lost
    created = client.post("/admin/users/new", data={**data, "organisation_id": partner.id})
    assert created.status_code == 302
    tess = db.session.query(User).filter_by(email="tess@fabrikam.example").one()
    assert tess.organisation_id == partner.id
    edit = client.get(f"/admin/users/{tess.id}/edit").get_data(as_text=True)
    assert f"Now Fabrikam (#{partner.id})" in edit


def test_the_outbox_pages_newest_first_with_constant_queries(client, count_queries,
                                                             frozen_clock):
    """5 messages, then 60: one page of 50 and a second, the same statements, and the kinds
    to filter by come from the email templates, not from reading every message."""
    from datetime import timedelta

    from lms.core.mail import OutboxMessage

    def add(count: int, start: int) -> None:
        db.session.execute(insert(OutboxMessage), [
            {"to_address": f"m{n}@example.com", "subject": f"Message {n}", "body_text": "Hi",
             "template": "invitation" if n % 2 else "old_kind",
             "created_at": frozen_clock + timedelta(minutes=n)}
            for n in range(start, start + count)])
        db.session.flush()
        # Inserted in bulk, like benchmarks/dataset.py: the outbox's tallies counted again.
        tallies.rebuild(mail.OUTBOX_TALLIES.values())

    login(client, make_user(role="vendor_admin"))
    add(5, 0)
    few, page = counted_get(client, count_queries, "/admin/outbox")
    assert page.count("data-message=") == 5
    add(55, 5)
    many, page = counted_get(client, count_queries, "/admin/outbox")
    assert page.count("data-message=") == 50 and "page 1 of 2" in page
    assert page.index("Message 59") < page.index("Message 10")  # newest first
    assert few == many, (few, many)
    assert 'value="password_reset"' in page  # a kind nobody was sent yet is offered
    last = client.get("/admin/outbox?page=99").get_data(as_text=True)
    assert last.count("data-message=") == 10 and "<summary>Message 0</summary>" in last
    # A kind no template sends any more is still a filter, and stays selected.
    old = client.get("/admin/outbox?template=old_kind").get_data(as_text=True)
    assert old.count("data-message=") == 30 and 'value="old_kind" selected' in old
