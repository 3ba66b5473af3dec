"""The certification pages people use: My certifications, the certificate PDF, and a partner
admin's view of their staff's certificates (scoped to their own organisation)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from lms.certifications import pdf, public_id, service
from lms.certifications.models import Certificate
from lms.core import clock
from lms.extensions import db
from tests.assessments.support import plain
from tests.certifications.support import insert_attempt, insert_certificate
from tests.certifications.test_issuing import EXAM, RENEWAL, SP, TA, TA_NAME, learner, pass_exam
from tests.factories import login, make_organisation, make_user

LINKEDIN = re.compile(r'href="(https://www\.linkedin\.com/profile/add\?[^"]+)"')


def _page(client, url: str = "/certifications") -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def _card(html: str, code: str) -> str:
    """The part of My certifications about one program."""
    start = html.index(f'data-program="{code}"')
    end = html.find("<article", start)
    return html[start:end if end != -1 else len(html)]


# --- My certifications -----------------------------------------------------------------------


def test_learner_sees_each_check_with_its_reason_and_where_to_go(client, frozen_clock):
    user = learner(make_organisation(tier="silver"), job_role="technical")
    insert_attempt(user.id, EXAM, percent=64, passed=False, at=frozen_clock - timedelta(days=1))
    html = _page(login(client, user))
    associate = _card(html, TA)
    assert "Pass the Kestrel Technical Associate certification exam — best score 64%, " \
           "needs 70%" in plain(associate)
    assert 'href="/assessments/technical-associate-exam"' in associate
    assert "Not earned" in associate and "0 of 1 done" in plain(associate)
    # The Solution Architect track is for Gold partners: not assigned, so no dead link.
    architect = plain(_card(html, "solution-architect"))
    assert "Complete the Solution Architecture track" in architect
    assert "Hold an active Kestrel Certified Technical Associate certification — " \
           "not earned yet" in architect
    assert "not assigned to you yet" in architect
    # A program for other job roles is folded away, not hidden.
    assert "Other certifications" in html and f'data-program="{SP}"' in html


def test_holder_sees_status_countdown_pdf_linkedin_and_copy_link(client, frozen_clock):
    user = learner(full_name="Ada Byron")
    pass_exam(user)
    certificate = db.session.scalar(select(Certificate).where(Certificate.user_id == user.id))
    display = public_id.display(certificate.public_id)
    html = _page(login(client, user))
    card = _card(html, TA)
    assert "Active" in card and "Valid until 2 March 2028" in plain(card)
    assert "Expires in 731 days" in plain(card)
    assert "Renewal opens on 3 Dec 2027" in plain(card)
    assert f'href="/certifications/{display}/certificate.pdf"' in card
    verify_url = f"http://lms.test/verify/{display}"
    assert f'data-copy="{verify_url}"' in card
    assert "certifications.js" in html  # the button's script, from our own origin

    params = parse_qs(urlsplit(unescape(LINKEDIN.search(card)[1])).query, strict_parsing=True)
    assert params == {
        "startTask": ["CERTIFICATION_NAME"], "name": [TA_NAME],
        "organizationName": ["Kestrel Security"], "issueYear": ["2026"], "issueMonth": ["3"],
        "expirationYear": ["2028"], "expirationMonth": ["3"], "certUrl": [verify_url],
        "certId": [display]}
    assert "%3A%2F%2F" in LINKEDIN.search(card)[1]  # the URL inside the URL is encoded

    history = html[html.index('id="history"'):]
    assert history.count("data-certificate=") == 1 and display in history


def test_renewal_progress_shows_when_the_window_opens_and_history_keeps_every_cycle(
        client, frozen_clock):
    user = learner()
    pass_exam(user)
    first = db.session.scalar(select(Certificate).where(Certificate.user_id == user.id))
    clock.set_now(first.renewal_opens_at + timedelta(days=10))
    card = plain(_card(_page(login(client, user)), TA))
    assert "Expiring" in card and "Renewal · open until 2 Mar 2028" in card
    assert "Expires in 80 days; renewal is open" in card
    assert "Pass the Kestrel Technical Associate renewal exam — not attempted yet; " \
           "needs 70%" in card

    pass_exam(user, RENEWAL)  # renews: a new certificate supersedes the first
    html = _page(client)
    history = html[html.index('id="history"'):]
    assert history.count("data-certificate=") == 2
    assert "Superseded" in history and "Active" in history
    assert public_id.display(first.public_id) in history


def test_expired_certificate_says_until_when_it_can_be_renewed(client, frozen_clock):
    user = learner()
    pass_exam(user)
    first = db.session.scalar(select(Certificate).where(Certificate.user_id == user.id))
    clock.set_now(first.expires_at + timedelta(days=3))
    card = plain(_card(_page(login(client, user)), TA))
    assert "Expired on 2 March 2028" in card
    assert "Expired 3 days ago; renewable until 1 Apr 2028" in card
    assert "renew by 1 Apr 2028 (grace period)" in card
    assert "Add to LinkedIn" not in card  # only a valid certificate goes on a profile


def test_revoked_certificate_stays_listed_and_says_so(client, frozen_clock):
    user = learner()
    pass_exam(user)
    certificate = db.session.scalar(select(Certificate).where(Certificate.user_id == user.id))
    service.revoke(certificate.id, reason="Exam taken by a colleague.",
                   actor=make_user(role="vendor_admin"))
    html = _page(login(client, user))
    card = plain(_card(html, TA))
    assert "Revoked on 2 March 2026" in card and "contact your partner manager" in card
    assert "Exam taken by a colleague" not in html  # the reason is for the audit trail
    assert html[html.index('id="history"'):].count("data-certificate=") == 1


def test_vendor_staff_see_only_what_they_hold(client, frozen_clock):
    vendor = make_user(role="author")
    html = _page(login(client, vendor))
    assert "You hold no certifications" in html and "data-program=" not in html


# --- the PDF ---------------------------------------------------------------------------------


@pytest.fixture
def held(frozen_clock):
    """A Northwind learner's certificate, the people around it, and a rival partner."""
    northwind, rival = make_organisation("Northwind PDF"), make_organisation("Rival PDF")
    holder = learner(northwind, full_name="Hana Holder")
    pass_exam(holder)
    certificate = db.session.scalar(select(Certificate).where(Certificate.user_id == holder.id))
    return {
        "certificate": certificate, "holder": holder,
        "colleague": learner(northwind),
        "admin": make_user(northwind, role="partner_admin"),
        "rival_admin": make_user(rival, role="partner_admin"),
        "rival_learner": learner(rival),
    }


@pytest.mark.parametrize("viewer", ["holder", "admin", "vendor_admin", "channel_manager"])
def test_pdf_is_served_to_the_holder_their_partner_admin_and_vendor_staff(client, held,
                                                                           viewer):
    person = held.get(viewer) or make_user(role=viewer)
    certificate = held["certificate"]
    display = public_id.display(certificate.public_id)
    response = login(client, person).get(f"/certifications/{display}/certificate.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="technical-associate-{display}.pdf"'
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("viewer", ["rival_admin", "rival_learner", "colleague", "author"])
def test_pdf_is_not_found_for_anyone_else(client, held, viewer):
    canonical = held["certificate"].public_id
    login(client, held.get(viewer) or make_user(role=viewer))  # authors read content only
    for typed in (public_id.display(canonical), canonical, canonical.lower()):
        response = client.get(f"/certifications/{typed}/certificate.pdf")
        assert response.status_code == 404, typed
        assert b"Hana" not in response.data


def test_pdf_for_unknown_or_malformed_ids_is_not_found(client, held):
    login(client, held["holder"])
    body = public_id.generate()
    mistyped = body[:-1] + ("0" if body[-1] != "0" else "1")
    for typed in (public_id.generate(), mistyped, "nonsense", "x" * 28):
        assert client.get(f"/certifications/{typed}/certificate.pdf").status_code == 404


def test_pdf_needs_a_signed_in_user(client, held):
    display = public_id.display(held["certificate"].public_id)
    response = client.get(f"/certifications/{display}/certificate.pdf")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_pdf_tells_the_same_truth_as_the_verification_statement(held):
    certificate = held["certificate"]
    context = pdf.certificate_context(certificate)
    display = public_id.display(certificate.public_id)
    assert (context["public_id"], context["status"], context["status_banner"]) \
        == (display, "active", None)
    assert context["verification_url"] == f"http://lms.test/verify/{display}"
    assert "<svg" in str(context["qr_svg"])
    assert pdf.subject(context) == \
        f"Certificate {display}, {TA_NAME}, valid until 2 March 2028"

    clock.set_now(certificate.expires_at + timedelta(days=1))
    context = pdf.certificate_context(certificate)
    assert (context["status"], context["status_banner"]) == ("expired", "Expired on 2 March 2028")

    service.revoke(certificate.id, reason="Shared exam answers.", actor=make_user())
    context = pdf.certificate_context(certificate)
    assert (context["status"], context["status_banner"]) == ("revoked", "Revoked on 3 March 2028")
    assert pdf.subject(context).endswith("revoked on 3 March 2028")
    assert pdf.render_certificate(certificate).startswith(b"%PDF")


# --- a partner's certificates ----------------------------------------------------------------


@pytest.fixture
def partner(frozen_clock):
    northwind, rival = make_organisation("Northwind Cert"), make_organisation("Rival Cert")
    now = clock.now()
    renewed, soon, later, lapsed = (
        make_user(northwind, full_name=name, email=f"{key}@northwind.example",
                  job_role="technical")
        for key, name in (("renewed", "Rena Renewed"), ("soon", "Sol Soon"),
                          ("later", "Lars Later"), ("lapsed", "Lea Lapsed")))
    first = insert_certificate(renewed, TA, issued_at=now - timedelta(days=700),
                               superseded_at=now - timedelta(days=20))
    insert_certificate(renewed, TA, issued_at=now - timedelta(days=20), cycle=2, renews=first)
    # Technical Associate: 24 months; these expire in about 30 and 60 days.
    insert_certificate(later, TA, issued_at=now - timedelta(days=671))
    insert_certificate(soon, TA, issued_at=now - timedelta(days=701))
    insert_certificate(lapsed, SP, issued_at=now - timedelta(days=400))
    rival_learner = make_user(rival, full_name="Rufus Rival", email="rufus@rival.example")
    insert_certificate(rival_learner, TA, issued_at=now - timedelta(days=700))
    return {"northwind": northwind, "rival": rival,
            "admin": make_user(northwind, role="partner_admin"),
            "learner": renewed, "rival_admin": make_user(rival, role="partner_admin")}


def test_partner_admin_sees_latest_certificates_expiring_soon_and_counts(client, partner):
    login(client, partner["admin"])
    response = client.get("/staff/certifications")
    assert response.status_code == 302
    url = f"/organisations/{partner['northwind'].id}/certifications"
    assert response.headers["Location"].endswith(url)
    html = _page(client, url)
    # One row per person and program: the renewal, not the certificate it superseded.
    assert html.count('data-person="renewed@northwind.example"') == 1
    assert html.count("data-person=") == 4
    assert 'data-to-renew="2"' in html  # Sol and Lars; Rena renewed, Lea lapsed
    soon = _page(client, url + "?show=renew")
    assert soon.index('data-expiring="soon@') < soon.index('data-expiring="later@')
    assert 'data-expiring="renewed@' not in soon and 'data-expiring="lapsed@' not in soon
    text = plain(html)
    assert "Kestrel Certified Technical Associate 1 2 0 0" in text  # active, expiring, ...
    assert "Kestrel Certified Sales Professional 0 0 1 0" in text
    assert "Rufus" not in html and "Rival" not in html


def test_partner_certificates_are_searched_and_paged_in_sql(client, partner):
    login(client, partner["admin"])
    url = f"/organisations/{partner['northwind'].id}/certifications"
    found = _page(client, url + "?q=SOL")
    assert found.count("data-person=") == 1 and 'data-person="soon@northwind.example"' in found
    assert _page(client, url + "?q=LATER@northwind").count('data-person="later@') == 1
    # Searching within what is to renew keeps to it; a search reaches no other partner.
    assert _page(client, url + "?show=renew&q=rena").count("data-person=") == 0
    assert "Nobody matching" in _page(client, url + "?q=rufus")
    # Deep pages clamp to the last; a bad page number is refused naming it.
    assert _page(client, url + "?page=99").count("data-person=") == 4
    assert client.get(url + "?page=x").status_code == 422


@pytest.mark.parametrize("viewer", ["admin", "learner"])
def test_partner_certifications_of_another_organisation_are_not_found(client, partner, viewer):
    login(client, partner[viewer])
    response = client.get(f"/organisations/{partner['rival'].id}/certifications")
    assert response.status_code == 404 and b"Rufus" not in response.data


def test_learners_do_not_see_their_organisations_certificates(client, partner):
    login(client, partner["learner"])
    url = f"/organisations/{partner['northwind'].id}/certifications"
    assert client.get(url).status_code == 404
    assert client.get("/staff/certifications").status_code == 403


@pytest.mark.parametrize("role", ["vendor_admin", "channel_manager"])
def test_vendor_staff_see_any_partners_certificates(client, partner, role):
    login(client, make_user(role=role))
    html = _page(client, f"/organisations/{partner['rival'].id}/certifications")
    assert "Rufus Rival" in html


def test_partner_staff_page_links_to_the_certificates(client, partner):
    login(client, partner["admin"])
    html = _page(client, f"/organisations/{partner['northwind'].id}/staff")
    assert f'href="/organisations/{partner["northwind"].id}/certifications"' in html


def test_nav_links_to_certifications(client, frozen_clock):
    organisation = make_organisation()
    login(client, make_user(organisation))
    assert 'href="/certifications"' in _page(client, "/learning")
    login(client, make_user(role="channel_manager"))
    assert 'href="/admin/certificates"' in _page(client, "/catalogue")
