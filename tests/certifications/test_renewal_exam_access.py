"""A renewal exam is for holders due to renew: refused, with the reason, to anyone else,
and not offered to people who never held the certificate."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.assessments.models import Assessment, Attempt
from lms.assessments.service import NotEligible, standing, start_attempt
from lms.certifications import eligibility, lifecycle, service
from lms.core import clock
from lms.extensions import db
from tests.certifications.support import insert_certificate
from tests.certifications.test_issuing import (
    EXAM,
    RENEWAL,
    SA,
    TA,
    certificates,
    learner,
    pass_exam,
)
from tests.factories import login

JSON = {"Accept": "application/json"}


def _state(user):
    return standing(user, db.session.scalar(select(Assessment).where(Assessment.slug == RENEWAL)))


def _attempts(user) -> int:
    return len(db.session.scalars(select(Attempt).where(Attempt.user_id == user.id)).all())


def test_someone_who_never_held_the_certificate_cannot_start_or_see_it(client, frozen_clock):
    stranger = learner()
    state = _state(stranger)
    assert not state.can_start and not state.listed
    assert "renewal exam for the Kestrel Certified Solution Architect or Kestrel Certified " \
           "Technical Associate certification" in state.reason
    with pytest.raises(NotEligible, match="opens to holders"):
        start_attempt(stranger, RENEWAL)

    login(client, stranger)
    response = client.post(f"/assessments/{RENEWAL}/start")
    assert response.status_code == 303 and _attempts(stranger) == 0
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "opens to holders when their certificate" in page
    assert "Start attempt" not in page
    refused = client.post(f"/assessments/{RENEWAL}/start", headers=JSON)
    assert refused.status_code == 409 and "opens to holders" in refused.get_json()["message"]
    listing = client.get("/assessments").get_data(as_text=True)
    assert f"/assessments/{RENEWAL}" not in listing
    assert f"/assessments/{EXAM}" in listing  # the certification exam is offered


def test_a_holder_before_the_window_is_told_when_it_opens(client, frozen_clock):
    holder = learner()
    pass_exam(holder)
    [certificate] = certificates(holder.id, TA)
    state = _state(holder)
    assert not state.can_start and state.listed
    assert state.reason == (f"This renewal exam opens on "
                            f"{certificate.renewal_opens_at:%-d %b %Y}, when the renewal window "
                            "of your Kestrel Certified Technical Associate certificate opens.")
    login(client, holder)
    assert f"/assessments/{RENEWAL}" in client.get("/assessments").get_data(as_text=True)


@pytest.mark.parametrize("moment", ["window", "grace"])
def test_a_holder_in_the_window_or_the_grace_period_may_start(frozen_clock, moment):
    holder = learner()
    pass_exam(holder)
    [certificate] = certificates(holder.id, TA)
    clock.set_now(certificate.renewal_opens_at + timedelta(days=1) if moment == "window"
                  else certificate.expires_at + timedelta(days=1))
    assert lifecycle.renewable(certificate, clock.now())
    assert _state(holder).can_start
    pass_exam(holder, RENEWAL)
    assert len(certificates(holder.id, TA)) == 2


def test_after_a_lapse_only_a_program_that_renews_by_it_opens_it(frozen_clock):
    # Technical Associate asks for its certification exam after a lapse: renewal closes.
    engineer = learner()
    pass_exam(engineer)
    [ta] = certificates(engineer.id, TA)
    clock.set_now(ta.grace_ends_at + timedelta(days=1))
    assert "grace period is over: earn the certification again" in _state(engineer).reason

    # Solution Architect (no exam among its requirements) takes the renewal exam as fresh
    # proof after a lapse (see eligibility.after_lapse_checks): it stays open.
    architect = learner(job_role="presales")
    sa = insert_certificate(architect, SA, issued_at=clock.now() - timedelta(days=900))
    assert lifecycle.lapsed(sa, clock.now())
    assert _state(architect).can_start


def test_a_revoked_certificate_opens_nothing(frozen_clock):
    from tests.factories import make_user

    holder = learner()
    pass_exam(holder)
    [certificate] = certificates(holder.id, TA)
    service.revoke(certificate.id, reason="Answers shared in a forum", actor=make_user())
    clock.set_now(certificate.renewal_opens_at + timedelta(days=1))
    state = _state(holder)
    assert not state.can_start and "was revoked" in state.reason


def test_an_assessment_that_also_earns_a_certificate_stays_open():
    """The Sales Professional renewal exam is also its requirement: open to anyone working
    towards it (the knowledge check's track rules still apply)."""
    assert service.renewal_exam_refusal(learner().id, "sales-foundations-check") is None
    assert service.renewal_exam_refusal(learner().id, EXAM) is None


def test_the_check_is_a_named_check_that_says_why():
    opens = clock.now() + timedelta(days=10)
    waiting = eligibility.RenewalHolding("Kestrel TA", "active", opens, opens)
    check = eligibility.renewal_exam_open([eligibility.RenewalHolding("Kestrel SA"), waiting])
    assert not check.done
    assert check.name == "Hold a Kestrel SA or Kestrel TA certificate that is due for renewal"
    assert f"opens on {opens:%-d %b %Y}" in check.detail
    due = eligibility.RenewalHolding("Kestrel TA", "expiring", opens, opens, renewable=True)
    assert eligibility.renewal_exam_open([waiting, due]).done
