"""The bare Flask app that `verification_throughput.py` compares the verification API with.

Same URL as the real endpoint, so routing does the same work; no database, no extensions.
It answers with a JSON document of the same shape and about the same size as a verification
statement, so serialising and sending it costs about the same. `pages.py` times its small
HTML page (`/bench/page`) beside the app's pages. Serve it with gunicorn:

    gunicorn --pythonpath benchmarks 'bare_app:create_app()'
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, render_template

BASE_URL = "https://academy.bench.example"


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/api/v1/certificates/<certificate_id>")
    def certificate(certificate_id: str):
        return {
            "id": certificate_id,
            "status": "active",
            "valid": True,
            "headline": "Valid until 14 March 2028",
            "status_date": "2028-03-14",
            "holder": {"name": "Bench Holder 123456", "organisation": "Bench Partner 0421"},
            "program": {"code": "technical-associate",
                        "name": "Kestrel Certified Technical Associate",
                        "level": "Associate", "version": 1},
            "issued_on": "2026-03-14",
            "expires_on": "2028-03-14",
            "renewable_until": None,
            "superseded_by": None,
            "issuer": "Kestrel Security",
            "verification_url": f"{BASE_URL}/verify/{certificate_id}",
            "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    # Compiled once, as the app's pages are (Jinja's loader caches a compiled template);
    # render_template_string would compile it again on every request, which no page pays.
    page_template = app.jinja_env.from_string(PAGE)

    @app.get("/bench/page")
    def page():
        # A small HTML page from a template: what any page costs at the least.
        return render_template(page_template, title="Bench page", now=datetime.now(UTC))

    return app


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><main><h1>{{ title }}</h1><p>Rendered at {{ now.isoformat(timespec="seconds") }}.</p>
</main></body></html>
"""
