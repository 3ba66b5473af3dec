"""Two people signing off the same milestone at the same moment: one sign-off, one file.

A committed race (threads on their own connections, released together): the milestone is
claimed by a conditional UPDATE before its evidence is stored, so the others get a clear
Conflict instead of a unique violation on the evidence file, and the journey logs one
sign-off.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lms.accounts.models import User
from lms.core.errors import Conflict
from lms.core.jobs import commit
from lms.extensions import db
from lms.journeys import service
from lms.journeys.models import EvidenceFile, JourneyEvent, JourneyMilestone
from tests.factories import make_organisation, make_user
from tests.journeys.support import milestone, org_journey
from tests.threads import at_once

THREADS = 6


@pytest.mark.committed
def test_simultaneous_sign_offs_sign_off_once(app):
    organisation = make_organisation("Racing Reseller")
    admin = make_user(organisation, role="partner_admin", job_role="support")
    portal = milestone(org_journey(organisation), "portal-access")
    milestone_id, admin_id = portal.id, admin.id
    commit()
    db.session.rollback()

    def work(index: int) -> str:
        with app.app_context():
            upload = service.Upload(f"proof-{index}.txt", "text/plain", b"done")
            try:
                service.sign_off(milestone_id, actor=db.session.get(User, admin_id),
                                 note=f"Signed by request {index}", upload=upload)
            except Conflict:
                db.session.rollback()
                return "conflict"
            commit()
            return "signed"

    outcomes = at_once(THREADS, work, what="a sign-off")
    db.session.rollback()
    assert sorted(outcomes) == ["conflict"] * (THREADS - 1) + ["signed"]
    assert db.session.scalar(select(func.count()).select_from(EvidenceFile)
                             .where(EvidenceFile.milestone_id == milestone_id)) == 1
    signed = db.session.scalars(select(JourneyEvent).where(
        JourneyEvent.milestone_id == milestone_id, JourneyEvent.kind == "signed_off")).all()
    assert len(signed) == 1
    note = db.session.scalar(select(JourneyMilestone.note)
                             .where(JourneyMilestone.id == milestone_id))
    assert note.startswith("Signed by request ")
