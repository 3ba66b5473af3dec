"""Access decorators. Roles are plain strings so core needs no domain knowledge."""

from __future__ import annotations

from functools import wraps

from flask_login import current_user, login_required

from lms.core.errors import NotFound, PermissionDenied

__all__ = ["login_required", "require_role"]


def require_role(*roles: str, hide: bool = False):
    """Allow the view only to logged-in users holding one of `roles`.

    With `hide`, others get "not found": for pages about a person or organisation, whose
    identifiers must not even be confirmed to exist.
    """

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                if hide:
                    raise NotFound("No such page.")
                raise PermissionDenied("Your account does not have access to this page.")
            return view(*args, **kwargs)

        return wrapped

    return decorator
