"""Certification pages for learners, partner admins and vendor staff."""

from flask import Blueprint

bp = Blueprint("certifications", __name__)
