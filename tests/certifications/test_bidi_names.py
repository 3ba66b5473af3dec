"""Bidirectional control characters in names cannot spoof what the verification page, its
JSON or the PDF say: stored names are shown without them, isolated from the sentence."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from sqlalchemy import update

from lms.accounts.models import User
from lms.certifications import public_id
from lms.certifications.models import Certificate
from lms.core.text import BIDI_CONTROLS, has_bidi_controls, strip_bidi
from lms.extensions import db
from tests.certifications.test_verification import certify, holder
from tests.factories import login

# Displayed naively, "Eve <RLO>deifirev ton<PDF>" reads "Eve not verified": a holder name
# that rewrites the sentence around it. Every control is in here at least once.
SPOOF = "Eve \u202edeifirev ton\u202c \u2066x\u2069\u2067y\u2069\u2068z\u2069" \
        "\u202a\u202b\u202d\u200e\u200f\u061c"
CLEAN = "Eve deifirev ton xyz"


def stored_spoof():
    """A certificate whose holder and organisation names were stored with controls (from
    before names were checked on input)."""
    person = holder("Eve Placeholder")
    certificate = certify(person)
    db.session.execute(update(Certificate).where(Certificate.id == certificate.id)
                       .values(holder_name=SPOOF, organisation_name="Org\u202eevil"))
    db.session.execute(update(User).where(User.id == person.id).values(full_name=SPOOF))
    db.session.expire_all()
    return person, certificate


def test_every_listed_control_is_recognised_and_stripped():
    assert all(has_bidi_controls(f"a{ch}b") for ch in BIDI_CONTROLS)
    assert strip_bidi(SPOOF) == CLEAN
    assert not has_bidi_controls("José Ñúñez 山田太郎 محمد")  # real names are fine


def test_the_verification_page_isolates_the_name_and_drops_the_controls(client, frozen_clock):
    _, certificate = stored_spoof()
    page = client.get(f"/verify/{public_id.display(certificate.public_id)}") \
        .get_data(as_text=True)
    assert not has_bidi_controls(page)
    assert f"<bdi>{CLEAN}</bdi> holds this certification" in page
    assert f'<dd class="facts-holder"><bdi>{CLEAN}</bdi></dd>' in page
    assert "<dd><bdi>Orgevil</bdi></dd>" in page


def test_the_verification_json_has_no_controls(client, frozen_clock):
    _, certificate = stored_spoof()
    answer = client.get(f"/api/v1/certificates/{public_id.display(certificate.public_id)}")
    assert answer.json["holder"] == {"name": CLEAN, "organisation": "Orgevil"}
    assert not has_bidi_controls(answer.get_data(as_text=True))


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
def test_the_pdf_text_has_no_controls(client, frozen_clock, tmp_path):
    person, certificate = stored_spoof()
    response = login(client, person).get(
        f"/certifications/{public_id.display(certificate.public_id)}/certificate.pdf")
    assert response.status_code == 200
    path = tmp_path / "certificate.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True,
                          text=True, check=True, timeout=60).stdout
    info = subprocess.run(["pdfinfo", "-enc", "UTF-8", str(path)], capture_output=True,
                          text=True, check=True, timeout=60).stdout
    assert CLEAN in text and "Orgevil" in text
    assert not has_bidi_controls(text) and not has_bidi_controls(info)


def test_every_page_drops_controls_from_printed_text(client, frozen_clock):
    """The header shows the signed-in person's name: Jinja's finalize hook strips the
    controls from it, as from any string any template prints."""
    person, _ = stored_spoof()
    page = login(client, person).get("/learning").get_data(as_text=True)
    assert CLEAN in page and not has_bidi_controls(page)
