"""The bare Flask app that the serving benchmarks compare the LMS with.

No database, no extensions, no session. Two routes:

- `GET /api/v1/certificates/<id>` (`verification_throughput.py`): the verification API's
  URL, so routing does the same work, answered with a JSON document of the same shape and
  about the same size as a verification statement, so serialising and sending it costs
  about the same.
- `GET /learning` (`learner_throughput.py`): a small HTML page, the least a signed-in page
  can cost in Flask and gunicorn.

Serve it with gunicorn:

    gunicorn --pythonpath benchmarks 'bare_app:create_app()'
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from markupsafe import escape

BASE_URL = "https://academy.bench.example"
SMALL_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>My learning</title></head>
<body>
<header><a href="/">Kestrel Partner Academy</a></header>
<main>
<h1>My learning</h1>
<p>Signed in as a learner. This page was made at {now}.</p>
<ul>
<li><a href="/tracks/partner-onboarding-essentials">Partner Onboarding Essentials</a></li>
<li><a href="/tracks/technical-associate-path">Technical Associate Path</a></li>
</ul>
</main>
</body>
</html>
"""


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

    @app.get("/learning")
    def learning():
        # Built per request (the time in it), as a page is; escaped as a template would.
        return SMALL_PAGE.format(now=escape(datetime.now(UTC).strftime("%d %b %Y, %H:%M UTC")))

    return app
