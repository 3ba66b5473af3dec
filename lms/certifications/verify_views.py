"""Public verification: the page, the JSON endpoint and bulk checks (no account needed)."""

from flask import Blueprint

bp = Blueprint("verify", __name__)
