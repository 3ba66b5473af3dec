"""content/scorecard/metrics.yml: the shipped definitions, and problems naming file, line
and field."""

from __future__ import annotations

import shutil

import pytest

from lms.core.content_files import Problem
from lms.scorecard import loader
from tests.conftest import CONTENT
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


# --- bounds ------------------------------------------------------------------------------------

def test_bounds_come_from_the_unit_unless_the_file_gives_them():
    bounds = {m.code: m.bounds for m in shipped().metrics}
    assert bounds["co_sell_success"] == (0, 100)  # percent
    assert bounds["partner_contribution_margin"] == (-100, 100)  # min: -100 in the file
    assert bounds["lead_follow_up_sla"] == (0, None)  # hours
    assert bounds["pipeline_velocity"] == (0, None)  # currency has none; the file says 0
    assert bounds["joint_roadmap"] == (0, 5)


def test_bounds_round_trip_and_a_file_without_them_hashes_as_before(root):
    plain, _ = _load(root, GOOD)
    # The stored body (and so its hash) is what it was before bounds existed.
    assert set(plain.body["metrics"]["lead_follow_up_sla"]) == {
        "name", "source", "unit", "direction", "weight", "green", "yellow", "owner",
        "max_age_days", "description"}
    bounded, problems = _load(root, GOOD.replace("max_age_days: 45",
                                                 "max_age_days: 45\n    min: -5\n    max: 200"))
    assert problems == []
    assert bounded.body["metrics"]["lead_follow_up_sla"] == \
        plain.body["metrics"]["lead_follow_up_sla"] | {"min": -5.0, "max": 200.0}
    again = loader.Definitions.from_body(bounded.body)
    assert again.metric("lead_follow_up_sla").bounds == (-5, 200)
    assert again.content_hash == bounded.content_hash != plain.content_hash


@pytest.mark.parametrize(("added", "expected"), [
    ("    min: 50\n    max: 40\n",
     [Problem(FILE, 22, "metrics.lead_follow_up_sla.max",
              "max must be above min (here min is 50 and max 40)")]),
    ("    max: 10\n",
     [Problem(FILE, 17, "metrics.lead_follow_up_sla.green",
              "green 24 is outside the values this metric allows (0 to 10)"),
      Problem(FILE, 18, "metrics.lead_follow_up_sla.yellow",
              "yellow 48 is outside the values this metric allows (0 to 10)")]),
    ("    max: .inf\n",
     [Problem(FILE, 21, "metrics.lead_follow_up_sla.max", "input should be a finite number")]),
    ("    min: many\n",
     [Problem(FILE, 21, "metrics.lead_follow_up_sla.min",
              "input should be a valid number, unable to parse string as a number")]),
])
def test_bad_bounds_name_file_line_and_field(root, added, expected):
    definitions, problems = _load(root, GOOD.replace("max_age_days: 45\n",
                                                     "max_age_days: 45\n" + added))
    assert definitions is None
    assert problems == expected


def test_a_percent_minimum_above_100_and_bounds_on_the_readiness_metric(root):
    text = GOOD.replace("unit: hours", "unit: percent").replace(
        "max_age_days: 45\n", "max_age_days: 45\n    min: 150\n").replace(
        "max_age_days: 2\n", "max_age_days: 2\n    max: 100\n")
    _definitions, problems = _load(root, text)
    assert problems == [
        Problem(FILE, 12, "metrics.enablement_readiness.max",
                "the readiness metric is computed here (0 to 100), never imported; remove "
                "this bound"),
        Problem(FILE, 22, "metrics.lead_follow_up_sla.min",
                "max must be above min (here min is 150 and max 100; max 100 comes from "
                "unit: percent)")]


# --- `lms content check` ---------------------------------------------------------------------

def test_content_check_names_the_scorecard_in_its_summary(app, tmp_path, monkeypatch):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["content", "check", str(CONTENT)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK: 5 tracks, ")
    assert result.stdout.endswith(", scorecard metrics version 3 (9 metrics, 2 compliance "
                                  "checkpoints).\n")
    monkeypatch.chdir(tmp_path)
    shutil.copytree(CONTENT, tmp_path / "content", ignore=shutil.ignore_patterns("scorecard"))
    result = runner.invoke(args=["content", "check", "content"])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(" tiers, no scorecard metrics.\n")
    shutil.copytree(CONTENT / "scorecard", tmp_path / "content/scorecard")
    metrics = tmp_path / "content/scorecard/metrics.yml"
    text = metrics.read_text()
    metrics.write_text(text.replace("    min: 0\n    max: 5\n", "    min: 0\n    max: 3\n"))
    line = text[:text.index("    max: 5\n")].count("\n") + 1
    result = runner.invoke(args=["content", "check", "content"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"content/scorecard/metrics.yml:{line - 3}: metrics.joint_roadmap.green: green 4 is "
        "outside the values this metric allows (0 to 3)",
        "1 problem(s); nothing was changed."]
