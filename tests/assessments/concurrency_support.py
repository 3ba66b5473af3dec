"""People for the tests that race threads against each other (committed for real)."""

from __future__ import annotations

from lms.accounts import sessions
from lms.core.jobs import commit
from tests.assessments.support import ready_for_the_check
from tests.factories import make_organisation, make_user


class Person:
    """Enough of a user to sign in from another thread (ORM objects stay in their session)."""

    def __init__(self, user):
        self.id = user.id
        self.session_secret = sessions.start(user)  # committed with the person


def make_learner() -> Person:
    user = make_user(make_organisation(), job_role="presales")
    ready_for_the_check(user)
    person = Person(user)
    commit()
    return person
