"""Benchmark: one certificate PDF, warm, through our path against WeasyPrint on its own.

Our path is what the certifications domain does for a download: in a fresh request context,
`render_template("certificates/certificate.html", ...)` then `lms.core.pdf.render_pdf(...)`
(shared FontConfiguration, local-only URL fetcher, metadata set, one render at a time). The
reference is WeasyPrint rendering the same HTML directly:
`weasyprint.HTML(string=html).write_pdf()`. The requirement is that our path costs less than
20% more than WeasyPrint alone. Most of our path's gain comes from reusing one
FontConfiguration, so WeasyPrint alone with a FontConfiguration of its own reused is timed too:
the difference from that one is what the template and the wrapper add.

1. Creates the app against a fresh SQLite file (the template's context processor reads the
   vendor name from the database), migrated to head with Alembic.
2. For each sample certificate (a Latin, a Japanese and an Arabic name, the last one revoked
   so the diagonal band is drawn), renders --warmup times each way and throws those away.
3. Times --iterations renders each way, rotating which goes first so that load on the
   machine falls on all alike, and separately times render_template alone.
4. Prints the median of each, the overhead of ours over WeasyPrint alone, and exits 1 if
   the overhead of any certificate is over --target percent.

Run it from the project root:

    .venv/bin/python benchmarks/certificate_pdf.py                  # 50 iterations each
    .venv/bin/python benchmarks/certificate_pdf.py --iterations 100 --cases japanese
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import flask_migrate  # noqa: E402
import weasyprint  # noqa: E402
from flask import render_template  # noqa: E402
from weasyprint.text.fonts import FontConfiguration  # noqa: E402

from lms import create_app  # noqa: E402
from lms.core import pdf  # noqa: E402

TEMPLATE = "certificates/certificate.html"
BASE = {
    "organisation_name": "Northwind Systems GmbH",
    "program_name": "Kestrel Certified Network Defender",
    "program_level": "Professional",
    "program_code": "KCP-NDEF",
    "program_version": 2,
    "issued_on": date(2026, 3, 2),
    "expires_on": date(2028, 3, 1),
    "public_id": "7K3M-9QPX-4D2R-HB8N-T6WC-Y1ZF-JA5E",
    "verification_url": "https://academy.kestrel.example/verify/7K3M9QPX4D2RHB8NT6WCY1ZFJA5E",
    "issuer": "Kestrel Security",
    "status": "active",
    "status_banner": None,
}
CASES = {
    "latin": {"holder_name": "Margaret O'Connor-Whitfield"},
    "japanese": {"holder_name": "山田 花子", "organisation_name": "株式会社ノースウィンド"},
    "arabic": {"holder_name": "ليلى حداد", "status": "revoked",
               "status_banner": "Revoked on 3 March 2027"},
}


def context_for(case: str) -> dict:
    context = {**BASE, **CASES[case]}
    context["qr_svg"] = pdf.qr_svg(context["verification_url"])
    return context


def ours(app, context: dict) -> bytes:
    """What a download request does: render the template, then the PDF."""
    with app.app_context(), app.test_request_context():
        html = render_template(TEMPLATE, **context)
        return pdf.render_pdf(html, title=f"Certificate {context['public_id']}",
                              author=context["issuer"], subject=context["program_name"])


def template_only(app, context: dict) -> str:
    with app.app_context(), app.test_request_context():
        return render_template(TEMPLATE, **context)


def weasyprint_alone(html: str) -> bytes:
    return weasyprint.HTML(string=html).write_pdf()


_reused_fonts = FontConfiguration()


def weasyprint_reusing_fonts(html: str) -> bytes:
    return weasyprint.HTML(string=html).write_pdf(font_config=_reused_fonts)


def timed(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def measure(app, case: str, iterations: int, warmup: int) -> dict:
    context = context_for(case)
    html = template_only(app, context)
    variants = [("ours", ours, (app, context)), ("weasyprint", weasyprint_alone, (html,)),
                ("reusing", weasyprint_reusing_fonts, (html,)),
                ("template", template_only, (app, context))]
    for _ in range(warmup):
        for _, function, args in variants:
            function(*args)
    times = {key: [] for key, _, _ in variants}
    for index in range(iterations):
        # Rotate the order, so that no variant always runs right after the same one.
        shift = index % len(variants)
        for key, function, args in variants[shift:] + variants[:shift]:
            times[key].append(timed(function, *args))
    result = {key: statistics.median(values) for key, values in times.items()}
    result["overhead"] = result["ours"] / result["weasyprint"] - 1
    result["added"] = result["ours"] - result["reusing"]
    result["size"] = len(ours(app, context))
    return result


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=50,
                        help="timed renders each way, per certificate (default 50)")
    parser.add_argument("--warmup", type=int, default=3,
                        help="untimed renders each way first (default 3)")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--target", type=float, default=20.0,
                        help="largest acceptable overhead in percent (default 20)")
    args = parser.parse_args(argv)
    if args.iterations < 1 or args.warmup < 1:
        parser.error("need --iterations >= 1 and --warmup >= 1")

    folder = Path(tempfile.mkdtemp(prefix="lms-bench-pdf-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}",
                      "INSTANCE_PATH": str(folder / "instance"), "SECRET_KEY": "benchmark"})
    try:
        with app.app_context():
            flask_migrate.upgrade()
        results = {}
        for case in args.cases:
            log(f"{case}: {args.warmup} warm-up + {args.iterations} timed renders each way ...")
            results[case] = measure(app, case, args.iterations, args.warmup)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nCertificate PDF benchmark: medians of {args.iterations} warm renders each "
          f"(WeasyPrint {weasyprint.__version__}; {os.cpu_count()} CPUs, load {load})")
    header = (f"{'certificate':<12} {'ours':>9} {'WeasyPrint':>11} {'overhead':>9} "
              f"{'WP, fonts reused':>17} {'ours - that':>12} {'template':>9} {'PDF size':>9}")
    print(header)
    print("-" * len(header))
    for case, r in results.items():
        print(f"{case:<12} {1000 * r['ours']:>7.1f}ms {1000 * r['weasyprint']:>9.1f}ms "
              f"{r['overhead']:>+9.1%} {1000 * r['reusing']:>15.1f}ms "
              f"{1000 * r['added']:>+10.1f}ms {1000 * r['template']:>7.2f}ms "
              f"{r['size'] / 1024:>7.0f}kB")
    print("-" * len(header))
    worst = max(result["overhead"] for result in results.values())
    verdict = "PASS" if worst * 100 < args.target else "FAIL"
    print(f"worst overhead {worst:+.1%} (target under {args.target:.0f}%): {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
