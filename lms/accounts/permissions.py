"""Who may do what: every role's rights, decided once and named.

Views ask for a right by name (`@require("read_partners")`) instead of listing roles, so a
role's reach is read here and nowhere else. README's role table is `role_table()` verbatim
and tests/test_scoping.py walks every route against `RIGHTS`, so the code, the README and the
tests cannot drift apart.

Rights say which roles pass the door. Which rows they then see is the scoping helper's job
(lms.accounts.scoping): a partner admin who may `read_partners` reads their own organisation
only, a learner who may `read_journeys` their own journey only.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_login import current_user

from lms.accounts.models import ROLE_LABELS, ROLES
from lms.core.auth import require_role

ALL = "yes"
OWN_ORGANISATION = "own organisation"
OWN = "own only"


@dataclass(frozen=True)
class Right:
    description: str
    # role -> how far the right reaches for it (ALL, OWN_ORGANISATION or OWN)
    reach: dict[str, str]

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(role for role in ROLES if role in self.reach)


# The decisions. The author works on content only and sees no partner's people, progress or
# evidence. The channel manager reads every partner and the scorecard and runs the
# scorecard's operations (imports, review periods, webhooks, API tokens), but changes no
# person, organisation or certificate. The vendor admin may do everything.
RIGHTS: dict[str, Right] = {
    "learn": Right("follow assigned tracks, take exams, hold certificates, own onboarding",
                   {"learner": ALL, "partner_admin": ALL}),
    "my_organisation": Right("open their organisation's team, certificates and readiness "
                             "from the menu", {"partner_admin": OWN_ORGANISATION}),
    "manage_team": Right("invite staff, change their job role and tracks, deactivate them",
                         {"partner_admin": OWN_ORGANISATION, "vendor_admin": ALL}),
    "read_partners": Right("read partners' staff, progress, certificates, onboarding "
                           "evidence and readiness",
                           {"partner_admin": OWN_ORGANISATION, "channel_manager": ALL,
                            "vendor_admin": ALL}),
    "read_journeys": Right("read onboarding journeys and their evidence",
                           {"learner": OWN, "partner_admin": OWN_ORGANISATION,
                            "channel_manager": ALL, "vendor_admin": ALL}),
    "sign_off": Right("sign off onboarding milestones (those the role owns)",
                      {"learner": OWN, "partner_admin": OWN_ORGANISATION,
                       "channel_manager": ALL, "vendor_admin": ALL}),
    "list_partners": Right("list partner organisations, the onboarding overview, the "
                           "certificate register and bulk verification",
                           {"channel_manager": ALL, "vendor_admin": ALL}),
    "read_catalogue": Right("read the catalogue of tracks",
                            {"author": ALL, "channel_manager": ALL, "vendor_admin": ALL}),
    "item_statistics": Right("read assessment item statistics",
                             {"author": ALL, "vendor_admin": ALL}),
    "scorecard": Right("read the partner scorecard, its review periods and exports",
                       {"channel_manager": ALL, "vendor_admin": ALL}),
    "import_metrics": Right("import scorecard metrics (CSV)",
                            {"channel_manager": ALL, "vendor_admin": ALL}),
    "close_periods": Right("close scorecard review periods",
                           {"channel_manager": ALL, "vendor_admin": ALL}),
    "integrations": Right("manage scorecard webhooks and API tokens",
                          {"channel_manager": ALL, "vendor_admin": ALL}),
    "administer": Right("manage organisations, people and accounts, revoke certificates, "
                        "start journeys and move due dates, read the outbox",
                        {"vendor_admin": ALL}),
}


def require(right: str, *, hide: bool = False):
    """Allow the view only to roles holding `right` (see require_role for `hide`), and
    label the view with it so the scoping tests can walk every route."""
    roles = RIGHTS[right].roles

    def decorator(view):
        wrapped = require_role(*roles, hide=hide)(view)
        wrapped.right = right
        return wrapped

    return decorator


def can(right: str, user=None) -> bool:
    """Whether `user` (by default the signed-in one) holds `right` at all."""
    user = current_user if user is None else user
    return bool(getattr(user, "is_authenticated", False)) and role_can(user.role, right)


def role_can(role: str, right: str) -> bool:
    """Whether anyone of `role` holds `right` at all."""
    return role in RIGHTS[right].reach


def role_table() -> str:
    """The README's role table, in Markdown."""
    header = "| right | " + " | ".join(ROLE_LABELS[role].lower() for role in ROLES) + " |"
    lines = [header, "|---" * (len(ROLES) + 1) + "|"]
    for name, right in RIGHTS.items():
        cells = [right.reach.get(role, "no") for role in ROLES]
        lines.append(f"| `{name}`: {right.description} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
