"""The quick reads of lms.core.fastpath give what SQLAlchemy would, on their own connection.

Most tests swap the quick-read connection for the test's own (it could not see uncommitted
rows), where the statements are sent unnamed; these tests commit, so the reads run on the
quick-read connection itself, where on PostgreSQL they are prepared once under names of
their own and run through libpq.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, literal, select

from lms.accounts.models import Organisation, User
from lms.core import fastpath
from lms.core.db import UTCDateTime
from lms.core.jobs import commit
from lms.extensions import db
from tests.factories import make_organisation, make_user

pytestmark = pytest.mark.committed

_PERSON = (select(User.id, User.email, User.active, User.created_at, Organisation.name,
                  literal(7).label("seven"))
           .outerjoin(Organisation, Organisation.id == User.organisation_id)
           .where(User.id == bindparam("user_id")))
_PEOPLE = (select(User.id, User.full_name).where(User.organisation_id == bindparam("org"))
           .order_by(User.id))


def _with_sqlalchemy(statement, parameters):
    return [tuple(row) for row in db.session.execute(statement, parameters).all()]


def test_quick_reads_give_what_sqlalchemy_gives():
    organisation = make_organisation("Fastpath Partners")
    people = [make_user(organisation) for _ in range(3)]
    lone = make_user(None, role="vendor_admin")
    commit()
    with fastpath.quick_read() as connection:
        for _ in range(3):  # the first run prepares, the next ones reuse
            first = fastpath.first_row(connection, _PERSON, {"user_id": people[0].id})
            everyone = fastpath.all_rows(connection, _PEOPLE, {"org": organisation.id})
            together = fastpath.rows_together(connection, [
                (_PERSON, {"user_id": lone.id}), (_PEOPLE, {"org": organisation.id}),
                (_PERSON, {"user_id": -1})])
    assert tuple(first) == _with_sqlalchemy(_PERSON, {"user_id": people[0].id})[0]
    assert first.email == people[0].email and first.seven == 7 and first.active is True
    assert first.created_at.tzinfo is not None
    assert first.created_at.utcoffset().total_seconds() == 0
    assert first.created_at == people[0].created_at
    assert [tuple(row) for row in everyone] == _with_sqlalchemy(_PEOPLE, {"org": organisation.id})
    assert [row.id for row in everyone] == [person.id for person in people]
    assert together[0][0].name is None  # the outer join's missing side reads as None
    assert [tuple(row) for row in together[1]] == [tuple(row) for row in everyone]
    assert together[2] == []
    assert fastpath.first_row(connection, _PERSON, {"user_id": -1}) is None


def test_a_failing_read_raises_and_the_next_read_works():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite divides by zero without an error")
    organisation = make_organisation()
    commit()
    broken = select((User.id / bindparam("zero")).label("ratio")).where(
        User.id == bindparam("user_id"))
    person = make_user(organisation)
    commit()
    with pytest.raises(db.engine.dialect.dbapi.Error), \
            fastpath.quick_read() as connection:  # division by zero, in the second read
        fastpath.rows_together(connection, [(_PEOPLE, {"org": organisation.id}),
                                            (broken, {"zero": 0, "user_id": person.id})])
    with pytest.raises(db.engine.dialect.dbapi.Error), \
            fastpath.quick_read() as connection:  # in the first read: the second is aborted
        fastpath.rows_together(connection, [(broken, {"zero": 0, "user_id": person.id}),
                                            (_PEOPLE, {"org": organisation.id})])
    with fastpath.quick_read() as connection:
        assert [row.id for row in fastpath.all_rows(
            connection, _PEOPLE, {"org": organisation.id})] == [person.id]
        assert [len(rows) for rows in fastpath.rows_together(connection, [
            (_PEOPLE, {"org": organisation.id}), (_PERSON, {"user_id": person.id})])] == [1, 1]


def test_statement_listeners_see_quick_reads(count_queries):
    organisation_id = make_organisation().id
    commit()
    with fastpath.quick_read() as connection, count_queries() as counter:
        fastpath.rows_together(connection, [(_PEOPLE, {"org": organisation_id}),
                                            (_PERSON, {"user_id": -1})])
    assert counter.count == 2, counter.statements


def test_timestamps_come_back_in_utc():
    moment = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    statement = select(literal(moment, UTCDateTime()).label("moment"),
                       literal(None).label("absent"))
    with fastpath.quick_read() as connection:
        row = fastpath.first_row(connection, statement, {})
    assert row.moment == moment and row.moment.utcoffset().total_seconds() == 0
    assert row.absent is None
