"""Tallies stay exact: after each kind of write that moves one, the stored counts equal a
recount; the register's status counts from them equal a count over every certificate at any
moment, midnight and the instants a status changes included; rebuild and check work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from lms.accounts import service as accounts
from lms.catalog import assignments
from lms.certifications import counts, lists, service
from lms.core import clock, tallies
from lms.core.tallies import Tally
from lms.extensions import db
from tests.certifications.test_issuing import RENEWAL, certificates, learner, pass_exam
from tests.factories import make_organisation, make_track, make_user

DAY = timedelta(days=1)


def exact() -> bool:
    wrong = tallies.differences()
    assert wrong == {}, wrong
    return True


def test_every_kind_of_write_keeps_the_tallies_exact(frozen_clock):
    clock.set_now(datetime(2026, 1, 10, 9, 0, tzinfo=UTC))
    assert exact()
    gold_only = make_track(audience={"tiers": ["gold"]})
    organisation = make_organisation(tier="gold")
    someone = make_user(organisation)  # create_user, and the rules assign gold_only
    assert tallies.by_scope(assignments.ASSIGNMENTS)[gold_only.id] >= 1
    assert exact()
    vendor = make_user()
    assert tallies.total(accounts.PEOPLE) >= 2 and exact()

    # By hand, then again (the second one adds nothing).
    other = make_track()
    for _ in range(2):
        assignments.assign_manually(user_id=someone.id, track_id=other.id, due_at=None,
                                    assigned_by=vendor)
    assert exact()
    # The partner leaves gold: the rule's unstarted assignments go.
    before = tallies.by_scope(assignments.ASSIGNMENTS)[gold_only.id]
    accounts.update_organisation(organisation.id, name=organisation.name,
                                 partner_type=organisation.partner_type, tier="silver",
                                 region=organisation.region, status=organisation.status)
    assert tallies.by_scope(assignments.ASSIGNMENTS)[gold_only.id] == before - 1
    assert exact()
    # Moved to another partner, deactivated, re-evaluated everywhere (a content sync does).
    elsewhere = make_organisation(tier="gold")
    accounts.update_user(someone.id, organisation_id=elsewhere.id)
    accounts.set_active(someone.id, False, actor=vendor)
    assignments.reevaluate()
    assert exact()

    # Issued, renewed (the old one superseded), revoked while live and once superseded.
    holder = learner()
    pass_exam(holder)
    assert exact()
    [first] = certificates(holder.id)
    clock.set_now(first.renewal_opens_at + DAY)
    pass_exam(holder, RENEWAL)
    [old, renewal] = certificates(holder.id)
    assert old.superseded_at is not None and exact()
    service.revoke(old.id, reason="issued in error", actor=vendor)
    service.revoke(renewal.id, reason="issued in error", actor=vendor)
    assert exact()
    assert counts.platform_status_counts(clock.now()) == lists.status_counts([], clock.now())


def test_the_status_counts_match_a_recount_at_any_moment(frozen_clock):
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    clock.set_now(start)
    holders = [learner() for _ in range(4)]
    for day, holder in enumerate(holders):
        clock.set_now(start + day * DAY + timedelta(hours=day * 5))
        pass_exam(holder)
    [certificate] = certificates(holders[0].id)
    moments = [start, certificate.renewal_opens_at, certificate.expires_at]
    for moment in list(moments):
        midnight = datetime.combine(moment.date(), datetime.min.time(), tzinfo=UTC)
        moments += [moment - timedelta(microseconds=1), midnight,
                    midnight - timedelta(microseconds=1), moment + 2 * DAY, moment + 30 * DAY]
    for moment in moments:
        assert counts.platform_status_counts(moment) == lists.status_counts([], moment), moment
    # Every status occurs among those moments.
    seen = {status for moment in moments
            for status, number in counts.platform_status_counts(moment).items() if number}
    assert {"active", "expiring", "expired"} <= seen


def test_rebuild_and_check_from_the_command_line(app):
    runner = app.test_cli_runner()
    make_user(make_organisation())
    db.session.commit()
    # A write behind the services' back (as a bulk load is) leaves the tally wrong...
    db.session.execute(update(Tally).where(Tally.name == accounts.PEOPLE)
                       .values(count=Tally.count + 5))
    db.session.commit()
    checked = runner.invoke(args=["tallies", "check"])
    assert checked.exit_code == 1 and "people: differs in 1 rows" in checked.output
    # ...until it is rebuilt.
    rebuilt = runner.invoke(args=["tallies", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    checked = runner.invoke(args=["tallies", "check"])
    assert checked.exit_code == 0 and "people: exact" in checked.output
    db.session.expire_all()
    assert exact()
    assert runner.invoke(args=["tallies", "rebuild", "nonsense"]).exit_code != 0
