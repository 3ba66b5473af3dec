"""Races: many issuers at the same moment, each in its own thread, app context and connection.

These tests commit for real (marker `committed`): what races is separate connections. The
threads wait at a barrier, then all call `award_due` for the same person; the unique
(user, program, cycle) constraint must leave exactly one certificate (on SQLite writers
queue behind BEGIN IMMEDIATE; on PostgreSQL the losers hit the constraint).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from lms.certifications import public_id, service
from lms.certifications.models import Certificate, CertificateEvent, CertificateNotice
from lms.core import clock
from lms.core.jobs import commit
from lms.extensions import db
from tests.certifications.test_issuing import TA, insert_pass, learner
from tests.threads import at_once

THREADS = 12


def race(app, user_id: int) -> list[list[str]]:
    """Call award_due(user_id) from THREADS threads at once; return what each issued."""
    db.session.rollback()  # the threads see committed work only; free SQLite's write lock

    def work(_index: int) -> list[str]:
        with app.app_context():
            issued = [c.program_code for c in service.award_due(user_id)]
            commit()
            return issued

    issued = at_once(THREADS, work, what="an issuer")
    db.session.rollback()  # read what the threads committed
    return issued


def rows(model, **where) -> list:
    query = select(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    # In id order: PostgreSQL returns an updated row (the superseded one) wherever it now lies.
    return list(db.session.scalars(query.order_by(model.id)))


@pytest.mark.committed
def test_simultaneous_issuers_issue_one_certificate(app, frozen_clock):
    user = learner()
    insert_pass(user.id)  # qualified, but no event has issued anything yet
    user_id = user.id
    commit()

    issued = race(app, user_id)
    assert sorted(issued) == [[]] * (THREADS - 1) + [[TA]]
    [certificate] = rows(Certificate, user_id=user_id)
    assert certificate.cycle == 1
    assert [e.kind for e in rows(CertificateEvent, certificate_id=certificate.id)] == [
        "issued", "notice"]
    assert len(rows(CertificateNotice, certificate_id=certificate.id)) == 1


@pytest.mark.committed
def test_simultaneous_renewals_renew_once_and_supersede_once(app, frozen_clock):
    user = learner()
    insert_pass(user.id)
    [old] = service.award_due(user.id)
    user_id, old_id, expires_at = user.id, old.id, old.expires_at
    commit()
    clock.set_now(old.renewal_opens_at + timedelta(days=5))
    insert_pass(user_id, "technical-associate-renewal")
    commit()

    issued = race(app, user_id)
    assert sorted(issued) == [[]] * (THREADS - 1) + [[TA]]
    old, renewal = rows(Certificate, user_id=user_id)
    assert (old.id, renewal.renewal_of_id, renewal.cycle) == (old_id, old_id, 2)
    assert old.superseded_at == clock.now()
    assert renewal.expires_at == expires_at.replace(year=expires_at.year + 2)
    assert [e.detail for e in rows(CertificateEvent, certificate_id=old_id, kind="superseded")] \
        == [f"renewed as {public_id.display(renewal.public_id)}"]
    assert db.session.scalar(select(func.count()).select_from(Certificate).where(
        Certificate.renewal_of_id == old_id)) == 1


# --- the constraint itself, not only the check before it --------------------------------------


def certificate_like(certificate: Certificate, **changes) -> Certificate:
    fields = {column.key: getattr(certificate, column.key)
              for column in Certificate.__table__.columns if column.key != "id"}
    fields.update(public_id=public_id.generate(), **changes)
    return Certificate(**fields)


def test_the_database_refuses_a_second_certificate_for_the_same_cycle(frozen_clock):
    user = learner()
    insert_pass(user.id)
    [certificate] = service.award_due(user.id)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(certificate_like(certificate))
    # Another cycle is allowed (a renewal or a new start after a lapse) ...
    with db.session.begin_nested():
        db.session.add(certificate_like(certificate, cycle=2))
    # ... but never two renewals of the same certificate.
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(certificate_like(certificate, cycle=3, renewal_of_id=certificate.id))
        db.session.add(certificate_like(certificate, cycle=4, renewal_of_id=certificate.id))


def test_an_issuer_with_a_stale_view_is_stopped_by_the_constraint(frozen_clock, monkeypatch):
    """As if the check had run before another issuer's insert: the insert still fails, quietly."""
    user = learner()
    insert_pass(user.id)
    [first] = service.award_due(user.id)
    monkeypatch.setattr(service, "certificates_of", lambda user_id: [])  # sees nothing held
    assert service.award_due(user.id) == []
    monkeypatch.undo()
    assert service.certificates_of(user.id) == [first]
    assert [e.kind for e in first.events] == ["issued", "notice"]
