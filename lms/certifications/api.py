"""The certificate verification API: one certificate, or up to 1,000 at once (JSON)."""

from flask import Blueprint

bp = Blueprint("certifications_api", __name__, url_prefix="/api/v1")
