"""benchmarks/pages.py times every vendor and partner page (issue 13, bar 1). These checks
keep its list of pages in step with the app, so a new page is timed (or excluded with a
reason) from the day it is added, and each page is opened by someone allowed to."""

from __future__ import annotations

from benchmarks import pages
from lms.accounts.permissions import RIGHTS

# Who each benchmark login is.
ROLE_OF = {"vendor_admin": "vendor_admin", "channel_manager": "channel_manager",
           "author": "author", "big_admin": "partner_admin", "typical_admin": "partner_admin"}


def test_every_get_route_is_measured_or_excluded(app):
    assert pages.unlisted(app) == []


def test_no_route_is_both_measured_and_excluded():
    assert set(pages.PAGES) & set(pages.EXCLUDED) == set()
    assert all(reason.strip() for reason in pages.EXCLUDED.values())


def test_each_page_is_opened_by_a_role_holding_its_right(app):
    for endpoint, cases in pages.PAGES.items():
        right = getattr(app.view_functions[endpoint], "right", None)
        for case in cases:
            assert case.who in ROLE_OF, (endpoint, case.who)
            if right is not None:
                assert ROLE_OF[case.who] in RIGHTS[right].reach, (endpoint, case.who, right)


def test_each_page_has_its_path_arguments(app):
    ids = {name: 1 for name in ("big", "typical", "big_person", "typical_person",
                                "certificate", "big_journey", "import", "period", "webhook")}
    ids["period_start"] = "2026-10-01"
    built = pages.paths(app, ids)
    assert len(built) == sum(len(cases) for cases in pages.PAGES.values())
    assert all(path.startswith("/") for _endpoint, _case, path in built)
