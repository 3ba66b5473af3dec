"""The certificate a learner just earned, followed as its holder, a verifier and the vendor.

Called from the exam test right after the demo learner passes: the certificate must be on
My certifications at once; its PDF's QR code must open the verification page, which says
valid; once a vendor admin revokes it, the page, the JSON and a fresh PDF all say revoked.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.support import log_in, query

PROGRAM = "technical-associate"
HOLDER = "Lukas Meyer"  # learner@northwind.example in the demo
REASON = "Exam taken on a shared account (browser test)."


def _tools() -> None:
    missing = [tool for tool in ("pdftoppm", "pdftotext", "zbarimg") if not shutil.which(tool)]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: run scripts/install-system-packages "
                    "(make setup does).", pytrace=False)


def download_pdf(page, folder: Path, name: str) -> Path:
    card = page.locator(f"#program-{PROGRAM}")
    with page.expect_download() as download:
        card.get_by_role("link", name=re.compile("Download PDF")).click()
    path = folder / f"{name}.pdf"
    download.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
    return path


def pdf_text(path: Path) -> str:
    """The PDF's text without whitespace: the status band runs diagonally, letter-spaced."""
    text = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    return re.sub(r"\s+", "", text)


def qr_url(path: Path) -> str:
    """Render the PDF's page and decode the QR code on it, as a phone camera would."""
    prefix = path.with_suffix("")
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(path), str(prefix)],
                   check=True)
    decoded = subprocess.run(["zbarimg", "--raw", "-q", f"{prefix}.png"], capture_output=True,
                             text=True, check=False)
    assert decoded.returncode == 0, f"no QR code found on {path}: {decoded.stderr}"
    return decoded.stdout.strip()


def check_certificate_lifecycle(page, new_page, live_server: str, live_database: Path,
                                folder: Path) -> None:
    _tools()
    # At once on My certifications, valid.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Certifications").click()
    card = page.locator(f"#program-{PROGRAM}")
    expect(card.locator(".cert-pill")).to_have_text("Active")
    expect(card.locator(".cert-when")).to_contain_text("Valid until")

    pdf = download_pdf(page, folder, "earned")
    assert HOLDER.replace(" ", "") in pdf_text(pdf) and "REVOKED" not in pdf_text(pdf)
    url = qr_url(pdf)
    assert url.startswith(f"{live_server}/verify/"), url

    # Anyone, without an account, follows the QR code.
    verifier = new_page()
    verifier.goto(url)
    expect(verifier.locator("#verdict-headline")).to_contain_text("Valid until")
    expect(verifier.locator("main")).to_contain_text(HOLDER)
    display_id = url.rsplit("/", 1)[1]
    canonical = display_id.replace("-", "")
    assert verifier.request.get(f"/api/v1/certificates/{display_id}").json()["status"] == "active"

    # The vendor admin revokes it, with a reason.
    [row] = query(live_database, "SELECT id FROM certificate WHERE public_id = ?", (canonical,))
    admin = new_page()
    log_in(admin, "admin@vendor.example")
    admin.goto(f"/admin/certificates/{row['id']}")
    admin.get_by_label("Reason").fill(REASON)
    admin.locator(".revoke-form input[type=checkbox]").check()
    admin.get_by_role("button", name="Revoke certificate").click()
    expect(admin.locator(".flashes")).to_contain_text("revoked")

    # The page, the JSON and a fresh PDF now all say revoked.
    verifier.reload()
    expect(verifier.locator("#verdict-headline")).to_contain_text("Revoked on")
    expect(verifier.locator("main")).not_to_contain_text(REASON)  # the reason stays private
    said = verifier.request.get(f"/api/v1/certificates/{display_id}").json()
    assert said["status"] == "revoked" and said["valid"] is False
    assert said["headline"].startswith("Revoked on")
    page.reload()
    expect(page.locator(f"#program-{PROGRAM} .cert-pill")).to_have_text("Revoked")
    history = page.locator("#history ~ table, #history + *").first
    expect(history).to_contain_text("Revoked")
    revoked_pdf = _history_pdf(page, folder)
    assert "REVOKED" in pdf_text(revoked_pdf) and "Revokedon" in pdf_text(revoked_pdf)
    assert qr_url(revoked_pdf) == url


def _history_pdf(page, folder: Path) -> Path:
    """A fresh PDF of the (now revoked) certificate, from the history table."""
    with page.expect_download() as download:
        page.locator("table").get_by_role("link", name="PDF").first.click()
    path = folder / "revoked.pdf"
    download.value.save_as(path)
    return path
