"""The vendor's certificate register: statuses and filters in SQL, the certificate's page with
its evidence and audit trail, and revoking (vendor admins only, with a logged reason)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.certifications import lifecycle, public_id
from lms.certifications.models import STATUSES, Certificate, CertificateEvent
from lms.core import clock
from lms.extensions import db
from tests.assessments.support import plain
from tests.certifications.support import insert_certificate, insert_staff_with_certificates
from tests.certifications.test_issuing import SP, TA, learner, pass_exam
from tests.factories import login, make_organisation, make_user

ROW = re.compile(r'data-certificate="(\d+)"')


def _ids(html: str) -> set[int]:
    return {int(found) for found in ROW.findall(html)}


def _get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


@pytest.fixture
def register(frozen_clock):
    """Certificates in every status, at two partners, in two programs."""
    now = clock.now()
    northwind, rival = make_organisation("Northwind Reg"), make_organisation("Rival Reg")
    people = [learner(northwind) for _ in range(4)] + [learner(rival) for _ in range(3)]
    made = {
        "active": insert_certificate(people[0], TA, issued_at=now - timedelta(days=30)),
        # 24 months, a 90-day window: these expire in about 10 and 50 days (expiring).
        "expiring": insert_certificate(people[1], TA, issued_at=now - timedelta(days=720)),
        "expiring_later": insert_certificate(people[5], TA,
                                             issued_at=now - timedelta(days=680)),
        "expired": insert_certificate(people[2], SP, issued_at=now - timedelta(days=380)),
        "revoked": insert_certificate(people[3], TA, issued_at=now - timedelta(days=700),
                                      revoked_at=now - timedelta(days=1),
                                      revoked_reason="Shared answers."),
        "superseded": insert_certificate(people[4], TA, issued_at=now - timedelta(days=700),
                                         superseded_at=now - timedelta(days=5)),
        "active_sales": insert_certificate(people[6], SP, issued_at=now - timedelta(days=10)),
    }
    insert_certificate(people[4], TA, issued_at=now - timedelta(days=5), cycle=2,
                       renews=made["superseded"])
    return {"made": made, "northwind": northwind, "rival": rival, "people": people}


def test_register_lists_every_certificate_with_counts_per_status(client, register):
    login(client, make_user(role="vendor_admin"))
    html = _get(client, "/admin/certificates")
    everything = set(db.session.scalars(select(Certificate.id)))
    assert _ids(html) == everything
    now = clock.now()
    expected = {state: 0 for state in STATUSES}
    for certificate in db.session.scalars(select(Certificate)):
        expected[lifecycle.status(certificate, now)] += 1
    for state, count in expected.items():
        assert re.search(rf'data-status-count="{state}"[^>]*>\s*<strong>{count}</strong>', html)


@pytest.mark.parametrize("state", STATUSES)
def test_status_filter_in_sql_agrees_with_the_lifecycle(client, register, state):
    login(client, make_user(role="channel_manager"))
    now = clock.now()
    expected = {c.id for c in db.session.scalars(select(Certificate))
                if lifecycle.status(c, now) == state}
    assert expected  # the fixture has every status
    assert _ids(_get(client, f"/admin/certificates?status={state}")) == expected


def test_program_partner_and_expiry_filters(client, register):
    login(client, make_user(role="vendor_admin"))
    made = register["made"]
    program_id = made["expired"].program_id
    assert _ids(_get(client, f"/admin/certificates?program={program_id}")) == \
        {made["expired"].id, made["active_sales"].id}
    rival = register["rival"].id
    assert _ids(_get(client, f"/admin/certificates?organisation={rival}&program="
                             f"{made['active'].program_id}")) == \
        {made["superseded"].id, made["expiring_later"].id} | {
            c.id for c in db.session.scalars(select(Certificate).where(
                Certificate.renewal_of_id == made["superseded"].id))}
    # Valid certificates expiring within N days; revoked and superseded ones never count.
    assert _ids(_get(client, "/admin/certificates?within=30")) == {made["expiring"].id}
    soonest_first = [int(found) for found in ROW.findall(
        _get(client, "/admin/certificates?within=60"))]
    assert soonest_first == [made["expiring"].id, made["expiring_later"].id]
    html = _get(client, "/admin/certificates?within=60&status=expiring")
    assert re.search(r'data-status-count="active"[^>]*>\s*<strong>0</strong>', html)
    # An unknown status or a page past the end filters nothing; a number that is not one
    # is refused naming the parameter (never a 500).
    assert _ids(_get(client, "/admin/certificates?status=bogus&page=999"))
    for query, field in (("within=-4", "within"), ("program=x", "program"),
                         ("organisation=²", "organisation"), ("page=" + "9" * 30, "page")):
        response = client.get(f"/admin/certificates?{query}")
        assert response.status_code == 422, query
        assert f"{field} must be a whole number" in response.get_data(as_text=True), query


def test_register_pages_by_fifty(client, frozen_clock):
    organisation = make_organisation()
    insert_staff_with_certificates(organisation, 120, TA, issued_at=clock.now())
    login(client, make_user(role="vendor_admin"))
    first = _get(client, f"/admin/certificates?organisation={organisation.id}")
    last = _get(client, f"/admin/certificates?organisation={organisation.id}&page=3")
    assert len(_ids(first)) == 50 and len(_ids(last)) == 20
    assert "Page 1 of 3" in first and "Page 3 of 3" in last
    assert f"organisation={organisation.id}" in first[first.index('rel="next"') - 200:]


@pytest.mark.parametrize("role", ["learner", "partner_admin", "author"])
def test_register_is_not_for_partner_roles_or_authors(client, register, role):
    organisation = register["northwind"] if role != "author" else None
    login(client, make_user(organisation, role=role))
    certificate = register["made"]["active"]
    for url in ("/admin/certificates", f"/admin/certificates/{certificate.id}"):
        assert client.get(url).status_code == 404, url
    response = client.post(f"/admin/certificates/{certificate.id}/revoke",
                           data={"reason": "Nope, not allowed.", "confirm": "y"})
    assert response.status_code == 404
    assert db.session.get(Certificate, certificate.id).revoked_at is None


# --- one certificate -------------------------------------------------------------------------


@pytest.fixture
def earned(frozen_clock):
    user = learner(make_organisation("Northwind Detail"), full_name="Ida Earner")
    attempt = pass_exam(user)
    certificate = db.session.scalar(select(Certificate).where(Certificate.user_id == user.id))
    return {"user": user, "attempt": attempt, "certificate": certificate}


def test_certificate_page_shows_snapshot_evidence_chain_audit_and_notices(client, earned):
    certificate, attempt = earned["certificate"], earned["attempt"]
    login(client, make_user(role="channel_manager"))
    html = _get(client, f"/admin/certificates/{certificate.id}")
    text = plain(html)
    assert "Ida Earner" in text and "Northwind Detail" in text
    assert public_id.display(certificate.public_id) in text
    assert "Passed Kestrel Technical Associate certification exam 100% on 2 Mar 2026" in text
    assert attempt.public_id in text
    assert "Cycle 1 (this certificate)" in text
    assert "issued" in text and "You are certified" in text  # audit trail and notice
    assert "Revoke this certificate" not in text  # channel managers read only
    response = client.post(f"/admin/certificates/{certificate.id}/revoke",
                           data={"reason": "I should not be able to.", "confirm": "y"})
    assert response.status_code == 403
    assert db.session.get(Certificate, certificate.id).revoked_at is None


def test_unknown_certificate_is_not_found(client, frozen_clock):
    login(client, make_user(role="vendor_admin"))
    assert client.get("/admin/certificates/999999").status_code == 404
    assert client.post("/admin/certificates/999999/revoke",
                       data={"reason": "Whatever it is.", "confirm": "y"}).status_code == 404


def test_renewal_chain_links_both_ways(client, earned):
    user, first = earned["user"], earned["certificate"]
    clock.set_now(first.renewal_opens_at + timedelta(days=1))
    pass_exam(user, "technical-associate-renewal")
    second = db.session.scalar(select(Certificate).where(Certificate.user_id == user.id,
                                                         Certificate.cycle == 2))
    login(client, make_user(role="vendor_admin"))
    old = plain(_get(client, f"/admin/certificates/{first.id}"))
    assert f"Superseded by cycle 2, {public_id.display(second.public_id)}" in old
    html = _get(client, f"/admin/certificates/{second.id}")
    assert f'href="/admin/certificates/{first.id}"' in html
    assert "Renewal of " + public_id.display(first.public_id) in plain(html)


# --- revoking --------------------------------------------------------------------------------


def test_revoking_needs_a_reason_and_a_confirmation(client, earned):
    certificate = earned["certificate"]
    login(client, make_user(role="vendor_admin"))
    url = f"/admin/certificates/{certificate.id}/revoke"

    response = client.post(url, data={"reason": "   ", "confirm": "y"})
    assert response.status_code == 422
    assert "Give the reason for revoking" in response.get_data(as_text=True)

    response = client.post(url, data={"reason": "Cheated on the exam"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Tick the box to confirm" in html
    assert "Cheated on the exam</textarea>" in html  # what they typed is kept

    response = client.post(url, data={"reason": "Bad", "confirm": "y"})  # the service's rule
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "at least a few words" in html
    assert "Bad</textarea>" in html
    assert db.session.get(Certificate, certificate.id).revoked_at is None


def test_revoking_logs_who_and_why_and_the_page_then_says_revoked(client, earned, frozen_clock):
    certificate = earned["certificate"]
    admin = make_user(role="vendor_admin", full_name="Vera Vendor")
    login(client, admin)
    response = client.post(f"/admin/certificates/{certificate.id}/revoke",
                           data={"reason": "Exam sat by a colleague.", "confirm": "y"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/admin/certificates/{certificate.id}")

    revoked = db.session.get(Certificate, certificate.id)
    assert revoked.revoked_at == frozen_clock and revoked.revoked_by_id == admin.id
    event = db.session.scalar(select(CertificateEvent).where(
        CertificateEvent.certificate_id == certificate.id, CertificateEvent.kind == "revoked"))
    assert (event.actor_id, event.detail) == (admin.id, "Exam sat by a colleague.")

    html = client.get(response.headers["Location"]).get_data(as_text=True)
    text = plain(html)
    assert "is revoked" in text  # the flash
    assert "Revoked on 2 March 2026" in text and "by Vera Vendor" in text
    assert "Revoke this certificate" not in text
    assert "Exam sat by a colleague." in text
    # The holder's page and a fresh PDF say so too.
    login(client, earned["user"])
    assert "Revoked on 2 March 2026" in plain(_get(client, "/certifications"))

    login(client, admin)
    again = client.post(f"/admin/certificates/{certificate.id}/revoke",
                        data={"reason": "Once more, to be sure.", "confirm": "y"})
    assert again.status_code == 409
    assert "already revoked on 2 March 2026" in again.get_data(as_text=True)


def test_a_revoked_prerequisite_shows_in_the_program_needing_it(client, earned):
    login(client, make_user(role="vendor_admin"))
    client.post(f"/admin/certificates/{earned['certificate'].id}/revoke",
                data={"reason": "Exam sat by a colleague.", "confirm": "y"})
    login(client, earned["user"])
    html = _get(client, "/certifications")
    assert "Hold an active Kestrel Certified Technical Associate certification — revoked" \
        in plain(html)
