"""The certificate register finds certificates by holder name, email or ID, in SQL."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from lms.certifications import public_id
from lms.core import clock
from tests.certifications.support import insert_certificate
from tests.certifications.test_issuing import SP, TA, learner
from tests.certifications.test_views_admin import _get, _ids
from tests.factories import login, make_user


def _people(frozen):
    ada = learner(full_name="Ada Quillfeather", email="ada.q@northwind.example")
    bob = learner(full_name="Bob Stone", email="bstone@contoso.example")
    made = {
        "ada_ta": insert_certificate(ada, TA, issued_at=frozen - timedelta(days=30)),
        "ada_sp": insert_certificate(ada, SP, issued_at=frozen - timedelta(days=500)),
        "bob_ta": insert_certificate(bob, TA, issued_at=frozen - timedelta(days=10)),
    }
    return made


def _search(client, text: str, **more) -> set[int]:
    extra = "".join(f"&{key}={value}" for key, value in more.items())
    return _ids(_get(client, f"/admin/certificates?q={quote(text)}{extra}"))


def test_search_by_name_and_email_in_any_case(client, frozen_clock):
    made = _people(frozen_clock)
    login(client, make_user(role="vendor_admin"))
    ada = {made["ada_ta"].id, made["ada_sp"].id}
    assert _search(client, "quillFEATHER") == ada
    assert _search(client, "  ada quill ") == ada
    # An email by its beginning (up to all of it), in any case: a range of the email index.
    assert _search(client, "ADA.Q@Northwind") == ada
    assert _search(client, "ada.q@northwind.example") == ada
    assert _search(client, "bstone@") == {made["bob_ta"].id}
    assert _search(client, "%") == set()  # a wildcard is a character here, not "anything"
    assert _search(client, "nobody-like-this") == set()
    assert "No certificates match." in _get(client, "/admin/certificates?q=nobody-like-this")


def test_search_by_id_typed_any_way(client, frozen_clock):
    made = _people(frozen_clock)
    login(client, make_user(role="channel_manager"))
    wanted = made["bob_ta"]
    canonical = public_id.display(wanted.public_id)
    for typed in (canonical, canonical.lower(), wanted.public_id.lower(),
                  canonical.replace("-", " "), f"https://certs.example.com/verify/{canonical}",
                  canonical[:9].lower()):  # the first two groups, as read off a screen
        assert _search(client, typed) == {wanted.id}, typed


def test_search_combines_with_the_filters_counts_and_pages(client, frozen_clock):
    made = _people(frozen_clock)
    login(client, make_user(role="vendor_admin"))
    assert _search(client, "Quillfeather", status="active") == {made["ada_ta"].id}
    html = _get(client, "/admin/certificates?q=Quillfeather")
    assert 'data-status-count="active"' in html and 'value="Quillfeather"' in html
    assert '<strong>2</strong><span>all</span>' in html.replace("\n", "").replace("    ", "")


def test_search_pages_keep_the_search(client, frozen_clock):
    from tests.certifications.support import insert_cycles

    person = learner(full_name="Pat Manycerts")
    insert_cycles(person, TA, 60, first_issued=clock.now() - timedelta(days=3000))
    login(client, make_user(role="vendor_admin"))
    first = _get(client, "/admin/certificates?q=manycerts")
    assert len(_ids(first)) == 50 and "Page 1 of 2" in first
    assert "q=manycerts" in first.split('rel="next"')[0].rsplit("href=", 1)[1]
    assert len(_ids(_get(client, "/admin/certificates?q=manycerts&page=2"))) == 10


def test_partner_is_found_by_name_not_picked_from_every_partner(client, frozen_clock):
    from tests.factories import make_organisation

    northwind, contoso = make_organisation("Northwind Traders"), make_organisation("Contoso")
    ada = learner(northwind, full_name="Ada North")
    bob = learner(contoso, full_name="Bob Contoso")
    mine = insert_certificate(ada, TA, issued_at=frozen_clock - timedelta(days=5))
    theirs = insert_certificate(bob, TA, issued_at=frozen_clock - timedelta(days=6))
    login(client, make_user(role="channel_manager"))
    html = _get(client, "/admin/certificates")
    assert 'name="partner"' in html and 'name="organisation"' not in html  # no list of all
    assert _ids(_get(client, "/admin/certificates?partner=NORTHWIND+trad")) == {mine.id}
    assert _ids(_get(client, "/admin/certificates?partner=%25")) == set()  # a character
    # A partner's page links by id: the register names it and offers the way back.
    by_id = _get(client, f"/admin/certificates?organisation={contoso.id}")
    assert _ids(by_id) == {theirs.id}
    assert f'data-organisation-filter="{contoso.id}"' in by_id and "Contoso" in by_id
    assert 'href="/admin/certificates"' in by_id  # "Show every partner"
    assert _ids(_get(client, "/admin/certificates?organisation=999999")) == set()


def test_each_status_sorts_the_way_it_is_read(client, frozen_clock):
    from tests.certifications.test_views_admin import ROW

    person = learner(full_name="Sorted Person")
    # Technical Associate: valid 24 months, renewal window 90 days.
    made = {days: insert_certificate(person, TA, issued_at=frozen_clock - timedelta(days=days),
                                     cycle=index + 1)
            for index, days in enumerate((700, 680, 800, 760, 10, 20))}
    login(client, make_user(role="vendor_admin"))

    def order(query: str) -> list[int]:
        return [int(found) for found in ROW.findall(_get(client, f"/admin/certificates?{query}"))]

    # Expiring: soonest expiry first (the oldest issued expires first).
    assert order("status=expiring") == [made[700].id, made[680].id]
    assert "Sorted soonest expiry first." in _get(client, "/admin/certificates?status=expiring")
    # Expired: the latest to expire first.
    assert order("status=expired") == [made[760].id, made[800].id]
    # Everything else: newest first.
    assert order("status=active") == [made[10].id, made[20].id]
    assert order("q=sorted+person")[:2] == [made[10].id, made[20].id]
