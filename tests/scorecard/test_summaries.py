"""The summaries the scorecard's writes keep (the tiles of the stored scorecards, a closed
period's partners per health) agree with a recount after every kind of write that changes
them, and the pages show them."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import select

from lms.accounts import service as accounts
from lms.core import clock
from lms.extensions import db
from lms.scorecard import current, periods, service
from lms.scorecard.models import CurrentSummary, PeriodOverlap, ReviewPeriod, Snapshot
from tests.factories import login, make_organisation, make_user
from tests.scorecard.support import ALL_GREEN, put_readiness, put_values


def _agrees() -> dict:
    """The stored summary, after checking it against a count of everything now."""
    kept = {name: getattr(db.session.get(CurrentSummary, 1), name)
            for name in current.recounted()}
    assert kept == current.recounted()
    return kept


def test_the_tiles_summary_matches_a_recount_after_every_kind_of_write(frozen_clock):
    green, red = make_organisation("Summary Green"), make_organisation("Summary Red")
    put_readiness(green, 90, "green")
    put_values(green, ALL_GREEN)
    put_readiness(red, 20, "red")
    assert _agrees()["unscored"] >= 2  # created since the last recompute: not scored yet

    service.recompute_all()
    everyone = _agrees()
    assert everyone["unscored"] == 0 and everyone["computed_at"] == clock.now()

    newcomer = make_organisation("Summary Newcomer")  # a partner created: not scored yet
    assert _agrees()["unscored"] == 1

    put_values(green, {"compliance_score": 10})  # an import, and its partner's recompute
    service.recompute_partners([green.id])
    assert _agrees() != everyone

    health = current.card(red.id)["health"]
    before = _agrees()[health]
    accounts.update_organisation(red.id, name=red.name, partner_type=red.partner_type,
                                 tier=red.tier, region=red.region, status="inactive")
    assert _agrees()[health] == before - 1  # a deactivated partner drops out at once
    accounts.update_organisation(red.id, name=red.name, partner_type=red.partner_type,
                                 tier=red.tier, region=red.region, status="active")
    assert _agrees()[health] == before  # back, with the scorecard it had

    service.recompute_all()  # everyone, the newcomer included
    assert _agrees()["unscored"] == 0 and current.card(newcomer.id) is not None


def test_the_pages_read_the_summaries(client, frozen_clock):
    for number in range(3):
        put_readiness(make_organisation(f"Tiled {number}"), 20 + 30 * number,
                      ("red", "yellow", "green")[number])
    service.recompute_all()
    period = periods.close(periods.period_for(clock.now().date())[1], actor_id=None)
    frozen = Counter(db.session.scalars(select(Snapshot.health).where(
        Snapshot.period_id == period.id)))
    assert period.health_counts == dict(frozen) and period.partners == frozen.total()

    login(client, make_user(role="channel_manager"))
    tiles = current.tiles()
    scored = sum(tiles["counts"].values())
    page = client.get("/scorecard").get_data(as_text=True)
    assert f"{scored} partner{'s' if scored != 1 else ''} scored" in page
    for health, count in tiles["counts"].items():
        shown = client.get(f"/scorecard?health={health}").get_data(as_text=True)
        assert shown.count('<tr data-partner="') == count
    red = client.get(f"/scorecard/periods/{period.id}?health=red").get_data(as_text=True)
    assert red.count('<tr data-partner="') == frozen["red"]


def test_recounting_rebuilds_the_same_summaries(app, frozen_clock):
    put_readiness(make_organisation("Recounted"), 70, "yellow")
    service.recompute_all()
    period = periods.close(periods.period_for(clock.now().date())[1], actor_id=None)
    kept, counts = _agrees(), dict(period.health_counts)
    summary = db.session.get(CurrentSummary, 1)
    summary.green, summary.unscored = 999, 999  # as if loaded another way
    period.health_counts = {}
    db.session.flush()
    result = app.test_cli_runner().invoke(args=["tallies", "rebuild", "scorecard"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert _agrees() == kept
    assert db.session.get(ReviewPeriod, period.id).health_counts == counts
    assert db.session.scalars(select(PeriodOverlap)).all() == []  # one period: none shared
    assert periods.shown_total(period, health=None, organisation_id=None) == period.partners


def test_a_comparison_counts_the_partners_of_either_period_from_what_closing_kept(
        frozen_clock):
    """Partners that left between two periods, and one that joined: the rows are those of
    either period, by name, and their count is the one kept when the periods closed."""
    from datetime import UTC, datetime

    stay = [make_organisation(f"Compared {n}") for n in range(3)]
    leaving = make_organisation("Compared Leaving")
    for partner in [*stay, leaving]:
        put_readiness(partner, 60, "yellow")
    earlier = periods.close(date(2025, 1, 1), actor_id=None,
                            now=datetime(2025, 1, 2, 9, tzinfo=UTC))
    accounts.update_organisation(leaving.id, name=leaving.name, tier=leaving.tier,
                                 partner_type=leaving.partner_type, region=leaving.region,
                                 status="inactive")
    joined = make_organisation("Compared Joined")
    put_readiness(joined, 60, "yellow")
    later = periods.close(date(2025, 4, 1), actor_id=None,
                          now=datetime(2025, 4, 2, 9, tzinfo=UTC))
    both = {row.organisation_id for row in db.session.scalars(select(Snapshot).where(
        Snapshot.period_id == earlier.id))} & {row.organisation_id for row in db.session.scalars(
            select(Snapshot).where(Snapshot.period_id == later.id))}
    assert periods.shared(earlier, later) == periods.shared(later, earlier) == len(both)
    a, b, shown = periods.compare(later.id, earlier.id, page=1, per_page=500)
    ids = [(row["b"] or row["a"])["organisation"]["id"] for row in shown.rows]
    assert (a.id, b.id) == (earlier.id, later.id)
    assert shown.total == len(ids) == earlier.partners + later.partners - len(both)
    assert leaving.id in ids and joined.id in ids and len(set(ids)) == len(ids)
    assert [row["name"].lower() for row in shown.rows] == sorted(
        row["name"].lower() for row in shown.rows)
    gone = next(row for row in shown.rows if row["a"] and row["a"]["organisation"]["id"]
                == leaving.id)
    assert gone["b"] is None
    one, two, second_page = periods.compare(earlier.id, later.id, page=2, per_page=2)
    assert [(r["b"] or r["a"])["organisation"]["id"] for r in second_page.rows] == ids[2:4]
