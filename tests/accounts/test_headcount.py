"""Each partner's headcount (joined, invited, deactivated) is kept by the writes: after each
kind of write that moves a person, the tally equals a recount and the pages' figures."""

from __future__ import annotations

from sqlalchemy import func, select

from lms.accounts import headcount
from lms.accounts import service as accounts
from lms.accounts.models import User, active_staff
from lms.core import tallies, tokens
from lms.extensions import db
from tests.factories import make_organisation, make_user


def exact(organisation) -> dict[str, int]:
    wrong = tallies.differences([headcount.STAFF])
    assert wrong == {}, wrong
    counted = headcount.headcount(organisation.id)
    joined = db.session.scalar(select(func.count()).select_from(User).where(
        User.organisation_id == organisation.id, active_staff()))
    assert counted["joined"] == joined
    return counted


def test_every_write_that_moves_a_person_keeps_the_headcount(app, monkeypatch):
    organisation, other = make_organisation(), make_organisation()
    vendor = make_user()
    admin = make_user(organisation, role="partner_admin", password="correct horse battery")
    assert exact(organisation) == {"joined": 1, "invited": 0, "inactive": 0}
    # Invited: counted as invited until they accept.
    secrets = []
    monkeypatch.setattr(tokens, "new_token",
                        lambda real=tokens.new_token: secrets.append(real()) or secrets[-1])
    invitee, secret = accounts.invite_user(organisation_id=organisation.id,
                                           email="new@example.com", full_name="New Person",
                                           job_role="sales", invited_by=admin)
    assert exact(organisation) == {"joined": 1, "invited": 1, "inactive": 0}
    accounts.resend_invitation(invitee.id, invited_by=admin)
    assert exact(organisation)["invited"] == 1
    accounts.accept_invitation(secrets[-1][0], "a long enough password 1")
    assert exact(organisation) == {"joined": 2, "invited": 0, "inactive": 0}
    # Invited, deactivated, reactivated (still invited), moved to another partner.
    late, _ = accounts.invite_user(organisation_id=organisation.id, email="late@example.com",
                                   full_name="Late Person", job_role="sales", invited_by=admin)
    accounts.set_active(late.id, False, actor=vendor)
    assert exact(organisation) == {"joined": 2, "invited": 0, "inactive": 1}
    accounts.set_active(late.id, True, actor=vendor)
    assert exact(organisation) == {"joined": 2, "invited": 1, "inactive": 0}
    accounts.update_user(late.id, organisation_id=other.id)
    assert exact(organisation)["invited"] == 0 and exact(other)["invited"] == 1
    # A password set another way makes them staff too; a vendor role leaves the partner.
    accounts.set_password(late.id, "a long enough password 2")
    assert exact(other) == {"joined": 1, "invited": 0, "inactive": 0}
    accounts.update_user(late.id, role="channel_manager")
    assert exact(other) == {"joined": 0, "invited": 0, "inactive": 0}
    # Someone created without an invitation (provisioned) is staff straight away.
    make_user(other)
    assert exact(other)["joined"] == 1
    assert secret  # (the first link was replaced by the resend)
