"""Certificate PDFs: one A4 landscape page, metadata, names in any script, a scannable QR code.

The PDFs are read back with poppler-utils (pdfinfo, pdffonts, pdftotext, pdftoppm) and the QR
code is decoded with zbar-tools (zbarimg); the names need fonts-noto-cjk and fonts-noto-core.
When any of these is missing, scripts/install-system-packages is tried once; if they are still
missing the tests skip, or fail when LMS_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from flask import render_template
from markupsafe import Markup

from lms.config import PROJECT_ROOT
from lms.core import pdf

TOOLS = ("pdfinfo", "pdffonts", "pdftotext", "pdftoppm", "zbarimg")
FONTS = ("Noto Serif CJK JP", "Noto Naskh Arabic")
INSTALLER = Path(PROJECT_ROOT) / "scripts" / "install-system-packages"
VERIFICATION_URL = "http://lms.test/verify/7K3M9QPX4D2RHB8NT6WCY1ZFJA5E"
A4_LANDSCAPE = (841.89, 595.28)  # points
BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")

BASE = {
    "holder_name": "Jonas Berg",
    "organisation_name": "Northwind Systems GmbH",
    "program_name": "Kestrel Certified Network Defender",
    "program_level": "Professional",
    "program_code": "KCP-NDEF",
    "program_version": 2,
    "issued_on": date(2026, 3, 2),
    "expires_on": date(2028, 3, 1),
    "public_id": "7K3M-9QPX-4D2R-HB8N-T6WC-Y1ZF-JA5E",
    "verification_url": VERIFICATION_URL,
    "issuer": "Kestrel Security",
    "status": "active",
    "status_banner": None,
}
CASES = {
    "japanese": {"holder_name": "山田 花子", "organisation_name": "株式会社ノースウィンド"},
    "arabic": {"holder_name": "ليلى حداد", "organisation_name": "Gulf Secure Networks"},
    "revoked": {"status": "revoked", "status_banner": "Revoked on 3 March 2027"},
}


def _missing() -> list[str]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if shutil.which("fc-list"):
        missing += [font for font in FONTS
                    if not subprocess.run(["fc-list", font, "family"], capture_output=True,
                                          text=True, check=False).stdout.strip()]
    return missing


@pytest.fixture(scope="module")
def system_packages() -> None:
    """Poppler, zbar and the Noto fonts; installed once when missing, else skip (or fail)."""
    if not _missing():
        return
    try:
        result = subprocess.run([str(INSTALLER)], capture_output=True, text=True, timeout=900,
                                check=False)
        said = (result.stderr or result.stdout).strip()[-400:]
    except (OSError, subprocess.TimeoutExpired) as error:
        said = str(error)
    missing = _missing()
    if missing:
        message = (f"Missing for the PDF tests: {', '.join(missing)}. Install them with "
                   "`sudo apt-get install -y poppler-utils zbar-tools fonts-noto-cjk "
                   "fonts-noto-core`." + (f" {INSTALLER.name} said: {said}" if said else ""))
        if os.environ.get("LMS_REQUIRE_SERVICES") == "1":
            pytest.fail(message + " (LMS_REQUIRE_SERVICES=1, so this is a failure.)",
                        pytrace=False)
        pytest.skip(message)


def render(app, **overrides) -> tuple[dict, bytes]:
    """Render the certificate template to PDF the way the certifications domain does."""
    context = {**BASE, **overrides}
    context["qr_svg"] = pdf.qr_svg(context["verification_url"])
    # A fresh app context, so the template's one settings query gets its own session.
    with app.app_context(), app.test_request_context():
        html = render_template("certificates/certificate.html", **context)
    data = pdf.render_pdf(html, title=f"Certificate {context['public_id']}",
                          author=context["issuer"],
                          subject=f"{context['program_name']} – {context['holder_name']}")
    return context, data


@pytest.fixture(scope="module")
def certificates(app, system_packages, tmp_path_factory) -> dict[str, tuple[dict, Path]]:
    """The three sample certificates, rendered once for the module."""
    folder = tmp_path_factory.mktemp("certificates")
    rendered = {}
    for name, overrides in CASES.items():
        context, data = render(app, **overrides)
        path = folder / f"{name}.pdf"
        path.write_bytes(data)
        rendered[name] = (context, path)
    return rendered


def run(*command: str | Path) -> str:
    return subprocess.run([str(part) for part in command], capture_output=True, text=True,
                          timeout=60, check=True).stdout


def pdfinfo(path: Path) -> dict[str, str]:
    lines = run("pdfinfo", "-enc", "UTF-8", path).splitlines()
    return {key.strip(): value.strip() for key, _, value in
            (line.partition(":") for line in lines)}


def squeezed_text(path: Path, *, raw: bool = False) -> str:
    """The page's text without whitespace or bidi marks (rotated text comes out in pieces).

    Raw (content-stream) order keeps the rotated band's letters together; reading order puts
    right-to-left words back in their logical order.
    """
    text = run("pdftotext", *(["-raw"] if raw else []), path, "-")
    return BIDI_CONTROLS.sub("", re.sub(r"\s+", "", text))


def test_qr_svg_is_inline_svg_that_scales_with_its_quiet_zone():
    svg = pdf.qr_svg(VERIFICATION_URL, title="Verify")
    assert isinstance(svg, Markup)
    assert svg.startswith("<svg") and "<?xml" not in svg
    opening = svg.split(">", 1)[0]
    assert "width=" not in opening and "height=" not in opening  # CSS decides the size
    size = int(re.search(r'viewBox="0 0 (\d+) \1"', opening).group(1))
    modules = size - 2 * 4
    assert modules >= 21 and (modules - 17) % 4 == 0  # a full QR code (not Micro), border 4


@pytest.mark.parametrize("case", CASES)
def test_a_certificate_is_one_a4_landscape_page_with_metadata(certificates, case):
    context, path = certificates[case]
    info = pdfinfo(path)
    assert info["Pages"] == "1"
    width, height = (float(n) for n in re.findall(r"[\d.]+", info["Page size"])[:2])
    assert (width, height) == pytest.approx(A4_LANDSCAPE, abs=1)
    # The arguments win over the template's own <title>, which names the program.
    assert info["Title"] == f"Certificate {context['public_id']}"
    assert info["Author"] == "Kestrel Security"
    assert info["Subject"] == f"Kestrel Certified Network Defender – {context['holder_name']}"


@pytest.mark.parametrize(("case", "font"), [("japanese", "CJK"), ("arabic", "Arabic")])
def test_names_print_in_their_own_script_with_the_font_embedded(certificates, case, font):
    context, path = certificates[case]
    embedded = [line.split()[0] for line in run("pdffonts", path).splitlines()[2:]
                if line.split()[-5] == "yes"]  # the `emb` column
    assert any(font in name for name in embedded), embedded
    assert re.sub(r"\s+", "", context["holder_name"]) in squeezed_text(path)


def test_a_revoked_certificate_says_so_across_the_page(certificates):
    revoked = squeezed_text(certificates["revoked"][1], raw=True)
    assert "REVOKED" in revoked and "Revokedon3March2027" in revoked
    assert "JonasBerg" in revoked  # still legible underneath
    active = squeezed_text(certificates["japanese"][1], raw=True)
    assert "REVOKED" not in active and "Revoked" not in active


@pytest.mark.parametrize("case", CASES)
def test_the_qr_code_opens_the_verification_page(certificates, case, tmp_path):
    _, path = certificates[case]
    run("pdftoppm", "-r", "150", "-png", "-singlefile", path, tmp_path / "page")
    decoded = run("zbarimg", "--raw", "-q", tmp_path / "page.png").strip()
    assert decoded == VERIFICATION_URL


def test_long_names_shrink_and_stay_on_one_page(app, system_packages, tmp_path):
    _, data = render(
        app, holder_name="Maria Fernanda de los Ángeles Guadalupe Rodríguez-Montenegro y "
                         "Castellanos Villalobos de la Santísima Trinidad",
        organisation_name="Consolidated International Security Integrators and Managed "
                          "Services Providers of the Northern Hemisphere Limited",
        program_name="Kestrel Certified Enterprise Zero-Trust Network Architecture and "
                     "Cloud Security Operations Specialist",
        status="expired", status_banner="Expired on 31 May 2026")
    path = tmp_path / "long.pdf"
    path.write_bytes(data)
    assert pdfinfo(path)["Pages"] == "1"
    assert "Villalobos" in squeezed_text(path)


def test_templates_cannot_fetch_from_the_network(caplog):
    html = ('<html><body><p>Offline</p>'
            '<img src="http://192.0.2.1/logo.png"></body></html>')  # TEST-NET: never routed
    with caplog.at_level(logging.ERROR, logger="weasyprint"):
        data = pdf.render_pdf(html, title="t", author="a", subject="s")
    assert data.startswith(b"%PDF-")
    assert "disallowed protocol" in caplog.text
