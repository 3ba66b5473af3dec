"""The main menu every signed-in page carries, drawn once per kind of page and kept.

The menu depends only on the reader's role, their partner (a partner admin's links name it)
and the section of the page (which link is marked current). Drawing it means building a
dozen URLs and testing as many conditions, on every view of every page, for the same few
hundred results: `_nav.html` is rendered once per combination and the HTML is kept for the
life of the process. Nothing personal is in it (the name and the sign-out form stay in
base.html).
"""

from __future__ import annotations

import functools

from flask import current_app, request
from flask_login import current_user
from markupsafe import Markup

from lms.accounts.models import VENDOR_ROLES
from lms.accounts.permissions import role_can


def main_navigation() -> Markup:
    """The menu for the signed-in reader of this request's page."""
    user = current_user._get_current_object()
    # Only a partner admin's links name their partner: everyone else's menu is one per role,
    # not one per partner.
    organisation_id = user.organisation_id if user.role == "partner_admin" else None
    return _drawn(current_app._get_current_object(), request.script_root, user.role,
                  organisation_id, request.endpoint or "")


@functools.lru_cache(maxsize=4096)
def _drawn(app, script_root: str, role: str, organisation_id: int | None,
           endpoint: str) -> Markup:
    # The app and script_root are only part of the key: the URLs built inside depend on
    # them (several apps share a process in the tests). A translated menu adds the locale.
    return Markup(app.jinja_env.get_template("_nav.html").render(
        role=role, organisation_id=organisation_id, endpoint=endpoint,
        vendor_staff=role in VENDOR_ROLES,
        lists_partners=role_can(role, "list_partners")))
