"""Certification pages issue a fixed number of SQL statements, however many certificates."""

from __future__ import annotations

from datetime import timedelta

from lms.core import clock
from tests.certifications.support import insert_cycles, insert_staff_with_certificates
from tests.certifications.test_issuing import SP, TA, learner
from tests.factories import login, make_organisation, make_user


def _count(client, count_queries, url: str) -> int:
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return counter.count


def test_register_is_constant_in_queries(client, count_queries, frozen_clock):
    organisation = make_organisation()
    start = clock.now() - timedelta(days=800)  # a mix of expired and valid ones
    insert_staff_with_certificates(organisation, 10, TA, issued_at=start)
    login(client, make_user(role="vendor_admin"))
    urls = ["/admin/certificates", "/admin/certificates?status=expired",
            f"/admin/certificates?organisation={organisation.id}&within=90&page=2",
            "/admin/certificates?q=holder", "/admin/certificates?q=cert-&status=active",
            "/admin/certificates?q=7K3M-9QPX"]
    few = [_count(client, count_queries, url) for url in urls]
    insert_staff_with_certificates(organisation, 190, TA, issued_at=start + timedelta(days=60))
    many = [_count(client, count_queries, url) for url in urls]
    assert few == many, (few, many)


def test_partner_certifications_are_constant_in_queries(client, count_queries, frozen_clock):
    small, large = make_organisation("Small Certified"), make_organisation("Large Certified")
    start = clock.now() - timedelta(days=700)  # some expire within 90 days
    insert_staff_with_certificates(small, 10, TA, issued_at=start)
    insert_staff_with_certificates(large, 200, TA, issued_at=start)
    views = ["", "?show=renew", "?q=holder", "?show=renew&q=1&page=2", "?page=3"]
    counts = []
    for organisation in (small, large):
        login(client, make_user(organisation, role="partner_admin"))
        counts.append([_count(client, count_queries,
                              f"/organisations/{organisation.id}/certifications{view}")
                       for view in views])
    login(client, make_user(role="channel_manager"))
    counts += [[_count(client, count_queries, f"/organisations/{o.id}/certifications{view}")
                for view in views] for o in (small, large)]
    assert counts[0] == counts[1] and counts[2] == counts[3], counts
    # 200 people's certificates, 50 a page, and the whole stated.
    page = client.get(f"/organisations/{large.id}/certifications").get_data(as_text=True)
    assert page.count('data-person="cert-') == 50
    assert "Page 1 of 4 · 200 certificates" in page
    last = client.get(f"/organisations/{large.id}/certifications?page=4").get_data(as_text=True)
    assert last.count('data-person="cert-') == 50 and 'rel="next"' not in last


def test_my_certifications_is_constant_in_queries(client, count_queries, frozen_clock):
    organisation = make_organisation()
    few, many = learner(organisation), learner(organisation)
    start = clock.now() - timedelta(days=6000)
    for person, cycles in ((few, 10), (many, 200)):
        insert_cycles(person, TA, cycles, first_issued=start)
        insert_cycles(person, SP, 2, first_issued=start)
    counts = [_count(login(client, person), count_queries, "/certifications")
              for person in (few, many)]
    assert counts[0] == counts[1], counts
    page = client.get("/certifications").get_data(as_text=True)
    history = page[page.index('id="history"'):]
    assert history.count("data-certificate=") == 202
