"""What marks a partner's readiness out of date: here, people moving between partners."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lms.accounts import service as accounts
from lms.core.jobs import commit
from lms.extensions import db
from lms.readiness import service
from lms.readiness.models import ReadinessPending
from tests.certifications.support import insert_certificate
from tests.factories import make_organisation, make_user
from tests.readiness.support import TA


def coverage(organisation) -> float:
    db.session.expire_all()
    score = service.current(organisation.id)
    return next(c["value"] for c in score.components if c["key"] == "certification_coverage")


def test_a_person_moving_partner_rescores_both_partners_at_once(frozen_clock):
    leaving = make_organisation("Left Behind", tier="gold")
    joining = make_organisation("Joined Now", tier="gold")
    engineer = make_user(leaving, job_role="technical", full_name="Mo Mover")
    insert_certificate(engineer, TA, issued_at=frozen_clock - timedelta(days=100))
    service.recompute()
    commit()
    held_before = coverage(leaving)
    assert held_before > coverage(joining)

    accounts.update_user(engineer.id, organisation_id=joining.id)
    # Both are marked in the move's transaction, not left to the hourly run...
    pending = set(db.session.scalars(select(ReadinessPending.organisation_id)))
    assert {leaving.id, joining.id} <= pending
    commit()
    # ...and the job queued with the commit has rescored both.
    assert coverage(leaving) < held_before
    assert coverage(joining) == held_before
    assert db.session.scalar(select(ReadinessPending.organisation_id)) is None


def test_a_person_made_vendor_staff_rescores_the_partner_they_left(frozen_clock):
    partner = make_organisation("Left For The Vendor", tier="gold")
    engineer = make_user(partner, job_role="technical", full_name="Val Vendor")
    insert_certificate(engineer, TA, issued_at=frozen_clock - timedelta(days=100))
    service.recompute()
    commit()
    held_before = coverage(partner)
    # Only the role is asked for; the organisation goes with it, and is announced.
    accounts.update_user(engineer.id, role="vendor_admin")
    assert db.session.get(ReadinessPending, partner.id) is not None
    commit()
    assert coverage(partner) < held_before


def test_accepting_an_invitation_rescores_the_partner(frozen_clock):
    # An invited person is not staff until they accept (accounts.models.active_staff), so
    # the stored score must follow the acceptance, not wait for the hourly run.
    partner = make_organisation("Growing", tier="gold")
    admin = make_user(partner, role="partner_admin", job_role="sales")
    invited, secret = accounts.invite_user(
        organisation_id=partner.id, email="tess@growing.example", full_name="Tess Tech",
        job_role="technical", invited_by=admin)
    insert_certificate(invited, TA, issued_at=frozen_clock - timedelta(days=10))
    service.recompute()
    commit()
    before = coverage(partner)

    accounts.accept_invitation(secret, "a-long-enough-password-1")
    assert db.session.get(ReadinessPending, partner.id) is not None
    commit()
    assert coverage(partner) > before
