"""The demo metrics: plausible values for every partner, some stale, one missing, once."""

from __future__ import annotations

from lms.core import clock
from lms.demo.scorecard import load_metrics
from lms.scorecard import service
from tests.factories import make_organisation


def test_demo_metrics(frozen_clock):
    partners = [make_organisation(name) for name in ("Demo A", "Demo B", "Demo C")]
    assert load_metrics(clock.now()) > 0
    assert load_metrics(clock.now()) == 0  # once
    cards = {c["organisation"]["name"]: c
             for c in service.scorecards(clock.now(), [p.id for p in partners])}

    def status(name, code):
        return next(m["status"] for m in cards[name]["metrics"] if m["code"] == code)

    assert status("Demo B", "pipeline_velocity") == "stale"
    assert status("Demo C", "joint_roadmap") == "stale"
    assert status("Demo C", "mdf_spend") == "missing"
    assert status("Demo A", "pipeline_velocity") in ("green", "yellow", "red")
    assert len(service.history(partners[0].id)["co_sell_success"]) == 4
