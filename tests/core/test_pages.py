"""One page of a list paginated in SQL: count, clamp and slice in the database."""

from __future__ import annotations

from sqlalchemy import select

from lms.accounts.models import Organisation
from lms.core.pages import clamp, window
from lms.extensions import db
from tests.factories import make_organisation


def test_clamp_keeps_the_page_inside_the_list():
    assert clamp(0, 3, 50) == (1, 1, 0)
    assert clamp(120, 3, 50) == (3, 3, 100)
    assert clamp(120, 9, 50) == (3, 3, 100)
    assert clamp(120, -4, 50) == (1, 3, 0)


def test_window_counts_and_slices_in_sql(count_queries):
    for number in range(7):
        make_organisation(name=f"Window Partner {number}")
    statement = (select(Organisation).where(Organisation.name.like("Window Partner %"))
                 .order_by(Organisation.name))
    with count_queries() as queries:
        found = window(db.session, statement, page=2, per_page=3, scalars=True)
    assert queries.count == 2
    assert [o.name for o in found.rows] == ["Window Partner 3", "Window Partner 4",
                                            "Window Partner 5"]
    assert (found.total, found.page, found.pages, found.per_page) == (7, 2, 3, 3)
    last = window(db.session, statement, page=99, per_page=3, total=7, scalars=True)
    assert last.page == 3 and [o.name for o in last.rows] == ["Window Partner 6"]
