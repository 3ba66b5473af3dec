"""content/scorecard/metrics.yml: the shipped definitions, and problems naming file, line
and field."""

from __future__ import annotations

import pytest

from lms.core.content_files import Problem
from lms.scorecard import loader
from tests.scorecard.support import TRACKS, shipped

FILE = "scorecard/metrics.yml"
GOOD = """\
version: 2
health: {green: 75, yellow: 50}
metrics:
  enablement_readiness:
    name: Enablement readiness
    source: readiness
    unit: score
    direction: higher_is_better
    weight: 40
    owner: Partner enablement
    max_age_days: 2
  lead_follow_up_sla:
    name: Lead follow-up SLA
    unit: hours
    direction: lower_is_better
    weight: 60
    green: 24
    yellow: 48
    owner: Channel marketing
    max_age_days: 45
compliance_checkpoints:
  - code: essentials
    name: Essentials done by all
    track: partner-onboarding-essentials
"""


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # problems show paths as the author typed them
    (tmp_path / "scorecard").mkdir()
    return tmp_path


def _load(root, text: str):
    (root / FILE).write_text(text, encoding="utf-8")
    problems: list[Problem] = []
    return loader.load(root, problems, tracks=TRACKS), problems


def test_shipped_definitions():
    definitions = shipped()
    assert [m.code for m in definitions.metrics] == [
        "enablement_readiness", "partner_contribution_margin", "pipeline_velocity",
        "co_sell_success", "joint_roadmap", "incentive_alignment", "compliance_score",
        "mdf_spend", "lead_follow_up_sla"]
    assert sum(m.weight for m in definitions.metrics) == 100
    assert [m.code for m in definitions.metrics if not m.importable] == ["enablement_readiness"]
    assert all(m.owner and m.max_age_days for m in definitions.metrics)
    assert definitions.review_period == "quarter" and len(definitions.content_hash) == 64


def test_no_folder_means_no_scorecard(tmp_path):
    problems = []
    assert loader.load(tmp_path, problems, tracks=TRACKS) is None and problems == []


def test_a_good_file_round_trips_through_its_stored_body(root):
    definitions, problems = _load(root, GOOD)
    assert problems == []
    again = loader.Definitions.from_body(definitions.body)
    assert again.content_hash == definitions.content_hash and again.version == 2
    assert again.checkpoints[0].track == "partner-onboarding-essentials"


def test_the_hash_changes_with_any_field(root):
    first, _ = _load(root, GOOD)
    second, _ = _load(root, GOOD.replace("max_age_days: 45", "max_age_days: 46"))
    assert first.content_hash != second.content_hash


@pytest.mark.parametrize(("change", "expected"), [
    (("weight: 60", "weight: 50"),
     Problem(FILE, 3, "metrics", "the weights add up to 90; they must add up to 100")),
    (("    green: 24\n", ""),
     Problem(FILE, 12, "metrics.lead_follow_up_sla",
             "'green' is required (the threshold for green)")),
    (("green: 24", "green: 50"),
     Problem(FILE, 17, "metrics.lead_follow_up_sla.green",
             "lower is better, so green must be below yellow")),
    (("max_age_days: 2\n", "max_age_days: 2\n    green: 80\n"),
     Problem(FILE, 12, "metrics.enablement_readiness.green",
             "the readiness metric takes its health from content/readiness/rubric.yml; "
             "remove this threshold")),
    (("unit: hours", "unit: minutes"),
     Problem(FILE, 14, "metrics.lead_follow_up_sla.unit",
             "input should be 'percent', 'currency', 'days', 'hours', 'score', 'count' or "
             "'ratio'")),
    (("direction: lower_is_better", "direction: lower"),
     Problem(FILE, 15, "metrics.lead_follow_up_sla.direction",
             "input should be 'higher_is_better' or 'lower_is_better'")),
    (("owner: Channel marketing\n", "owner: Channel marketing\n    colour: red\n"),
     Problem(FILE, 20, "metrics.lead_follow_up_sla.colour",
             "unknown field (check the spelling against docs/content-format.md)")),
    (("track: partner-onboarding-essentials", "track: compliance-101"),
     Problem(FILE, 24, "compliance_checkpoints.0.track", "unknown track 'compliance-101'")),
    (("track: partner-onboarding-essentials", "metric: lead_follow_up_sla"),
     Problem(FILE, 24, "compliance_checkpoints.0.metric", "give exactly one of at_least or "
                                                          "at_most")),
    (("health: {green: 75, yellow: 50}", "health: {green: 50, yellow: 75}"),
     Problem(FILE, 2, "health", "yellow must be below green")),
])
def test_problems_name_file_line_and_field(root, change, expected):
    definitions, problems = _load(root, GOOD.replace(*change))
    assert definitions is None
    assert problems == [expected]


def test_two_readiness_metrics_are_refused(root):
    text = GOOD.replace("unit: hours", "unit: hours\n    source: readiness").replace(
        "    green: 24\n    yellow: 48\n", "")
    _definitions, problems = _load(root, text)
    assert Problem(FILE, 15, "metrics.lead_follow_up_sla.source",
                   "only one metric can be the readiness score (already "
                   "'enablement_readiness')") in problems


def test_a_missing_file_and_bad_yaml(root):
    problems = []
    assert loader.load(root, problems, tracks=TRACKS) is None
    assert problems == [Problem(FILE, 0, "(file)", "file not found")]
    _definitions, problems = _load(root, "version: [1\n")
    assert problems[0].field == "(yaml)"
