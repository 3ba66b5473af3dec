"""content/readiness/: the shipped rubric and tier rules, and problems that name file, line
and field."""

from __future__ import annotations

import pytest

from lms.assessments import loader as assessment_loader
from lms.catalog import loader as catalog_loader
from lms.certifications import loader as certification_loader
from lms.core.content_files import Problem
from lms.readiness import loader
from tests.conftest import CONTENT

PROGRAMS = {"technical-associate", "sales-professional", "solution-architect"}
TRACKS = {"partner-onboarding-essentials", "sales-foundations", "technical-associate",
          "solution-architecture", "support-essentials"}
TIERS = ["registered", "silver", "gold", "platinum"]
JOB_ROLES = {"sales", "presales", "technical", "support"}
RUBRIC = "content/readiness/rubric.yml"
TIER_FILE = "content/readiness/tiers.yml"

RUBRIC_YML = """\
version: 3
components:
  certification_coverage:
    weight: 40
  certification_currency:
    weight: 20
    expiring_within_days: 60
  track_completion:
    weight: 25
  onboarding:
    weight: 15
health:
  green: 80
  yellow: 60
forecast_days: [30, 60, 90]
"""

TIERS_YML = """\
tiers:
  registered:
  silver:
    certifications:
      - {program: sales-professional, count: 1}
    tracks: [partner-onboarding-essentials]
  gold:
    certifications:
      - {program: sales-professional, count: 2, job_roles: [sales, presales]}
      - {program: technical-associate, count: 1}
    tracks: [partner-onboarding-essentials]
    onboarding_complete: true
  platinum: {}
"""


@pytest.fixture
def root(tmp_path, monkeypatch):
    """A content root with a readiness folder; problems show paths relative to tmp_path."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "content" / "readiness"
    folder.mkdir(parents=True)
    (folder / "rubric.yml").write_text(RUBRIC_YML)
    (folder / "tiers.yml").write_text(TIERS_YML)
    return tmp_path / "content"


def load(root, **known) -> tuple[loader.ReadinessContent, list[str]]:
    problems: list[Problem] = []
    arguments = dict(programs=PROGRAMS, tracks=TRACKS, tiers=TIERS, job_roles=JOB_ROLES)
    arguments.update(known)
    content = loader.load(root, problems, **arguments)
    return content, [str(problem) for problem in problems]


def edit(root, name: str, old: str, new: str) -> None:
    path = root / "readiness" / name
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_the_shipped_rubric_and_tiers_are_valid_against_the_shipped_program():
    catalog = catalog_loader.load(CONTENT)
    problems: list[Problem] = []
    tracks = {track.spec.slug for track in catalog.tracks}
    job_roles = {term.code for term in catalog.terms["job_role"]}
    assessments = assessment_loader.load(CONTENT, problems)
    programs = certification_loader.load(CONTENT, problems, tracks=tracks,
                                         assessments=assessments.slugs, job_roles=job_roles)
    tiers = [term.code for term in catalog.terms["tier"]]
    content = loader.load(CONTENT, problems, programs=programs.codes, tracks=tracks,
                          tiers=tiers, job_roles=job_roles)
    assert problems == []
    assert content.configured
    rubric = content.rubric
    # PRODUCT.md's default rubric.
    assert dict(rubric.weights) == {"certification_coverage": 40, "certification_currency": 20,
                                    "track_completion": 25, "onboarding": 15}
    assert rubric.expiring_within_days == 60
    assert rubric.forecast_days == (30, 60, 90)
    assert rubric.yellow < rubric.green
    assert content.tiers.order == tuple(tiers)
    assert set(content.tiers.rules) == set(tiers)
    gold = content.tiers.rule("gold")
    assert [(rule.program, rule.count) for rule in gold.certifications] == [
        ("sales-professional", 2), ("technical-associate", 1)]
    assert gold.onboarding_complete
    assert content.tiers.rule("registered").certifications == ()
    assert content.tiers.new_staff_days == 90


def test_a_valid_folder_loads_both_files(root):
    content, problems = load(root)
    assert problems == []
    assert content.rubric.version == 3
    assert content.rubric.source == RUBRIC
    assert content.tiers.source == TIER_FILE
    assert content.tiers.above("gold") == "platinum"
    assert content.tiers.above("platinum") is None
    assert content.tiers.above("diamond") is None
    # An empty entry (YAML null or {}) is a tier that asks nothing.
    assert content.tiers.rule("registered") == loader.TierRule("registered")
    assert content.tiers.rule("platinum") == loader.TierRule("platinum")
    silver = content.tiers.rule("silver")
    assert silver.certifications == (loader.CertificationRule("sales-professional", 1),)
    assert not silver.onboarding_complete
    gold = content.tiers.rule("gold").certifications[0]
    assert gold.job_roles == ("sales", "presales")
    assert gold.qualifies("presales") and not gold.qualifies("technical")
    assert not gold.qualifies(None)


def test_content_without_a_readiness_folder_has_no_readiness_and_no_problems(tmp_path):
    content, problems = load(tmp_path)
    assert problems == []
    assert not content.configured
    assert content.rubric is None and content.tiers is None


def test_a_missing_file_in_the_folder_is_a_problem(root):
    (root / "readiness" / "tiers.yml").unlink()
    content, problems = load(root)
    assert problems == [f"{TIER_FILE}:0: (file): file not found"]
    assert content.rubric is not None and content.tiers is None
    assert not content.configured


def test_weights_must_add_up_to_100(root):
    edit(root, "rubric.yml", "weight: 25", "weight: 20")
    content, problems = load(root)
    assert problems == [f"{RUBRIC}:2: components: the weights add up to 95 "
                        "(40 + 20 + 20 + 15); they must add up to 100"]
    assert content.rubric is None


def test_thresholds_must_be_ordered(root):
    edit(root, "rubric.yml", "yellow: 60", "yellow: 85")
    _, problems = load(root)
    assert problems == [f"{RUBRIC}:14: health.yellow: must be lower than green (80)"]


def test_rubric_field_problems_name_line_and_field(root):
    edit(root, "rubric.yml", "version: 3\n", "")
    edit(root, "rubric.yml", "    weight: 15", "    wieght: 15")
    edit(root, "rubric.yml", "weight: 40", "weight: 140")
    edit(root, "rubric.yml", "[30, 60, 90]", "[30, 90, 90]")
    _, problems = load(root)
    assert problems == [
        f"{RUBRIC}:1: version: this field is required",
        f"{RUBRIC}:3: components.certification_coverage.weight: "
        "input should be less than or equal to 100",
        f"{RUBRIC}:9: components.onboarding.weight: this field is required",
        f"{RUBRIC}:10: components.onboarding.wieght: "
        "unknown field (check the spelling against docs/content-format.md)",
    ]
    edit(root, "rubric.yml", "components:", "version: 3\ncomponents:")
    edit(root, "rubric.yml", "wieght: 15", "weight: 15")
    edit(root, "rubric.yml", "weight: 140", "weight: 40")
    _, problems = load(root)
    assert problems == [f"{RUBRIC}:15: forecast_days.2: each horizon may appear once"]


def test_horizons_are_sorted_and_each_is_a_positive_number_of_days(root):
    edit(root, "rubric.yml", "[30, 60, 90]", "[90, 30]")
    content, problems = load(root)
    assert problems == []
    assert content.rubric.forecast_days == (30, 90)
    edit(root, "rubric.yml", "[90, 30]", "[0, 30]")
    _, problems = load(root)
    assert problems == [f"{RUBRIC}:15: forecast_days.0: input should be greater than or equal to 1"]


def test_unknown_names_in_tier_rules_name_file_line_and_field(root):
    edit(root, "tiers.yml", "program: sales-professional, count: 1",
         "program: sales-pro, count: 1")
    edit(root, "tiers.yml", "job_roles: [sales, presales]", "job_roles: [sales, marketing]")
    edit(root, "tiers.yml", "    tracks: [partner-onboarding-essentials]\n    onboarding",
         "    tracks: [partner-onboarding]\n    onboarding")
    edit(root, "tiers.yml", "  platinum: {}", "  platinum: {}\n  diamond: {}")
    content, problems = load(root)
    assert problems == [
        f"{TIER_FILE}:14: tiers.diamond: unknown tier 'diamond' "
        "(program.yml lists: registered, silver, gold, platinum)",
        f"{TIER_FILE}:5: tiers.silver.certifications.0.program: "
        "unknown certification program 'sales-pro'",
        f"{TIER_FILE}:9: tiers.gold.certifications.0.job_roles.1: "
        "unknown job role 'marketing' (program.yml lists: presales, sales, support, technical)",
        f"{TIER_FILE}:11: tiers.gold.tracks.0: unknown track 'partner-onboarding'",
    ]
    assert content.tiers is None


def test_every_tier_of_program_yml_needs_an_entry(root):
    edit(root, "tiers.yml", "  platinum: {}\n", "")
    _, problems = load(root)
    assert problems == [f"{TIER_FILE}:1: tiers: no rules for tier 'platinum': list every tier "
                        "of program.yml (write `platinum: {}` for a tier that asks nothing)"]


def test_repeated_entries_in_a_tier_are_problems(root):
    edit(root, "tiers.yml", "      - {program: technical-associate, count: 1}",
         "      - {program: technical-associate, count: 1}\n"
         "      - {program: sales-professional, count: 1, job_roles: [presales, sales, sales]}")
    edit(root, "tiers.yml", "    tracks: [partner-onboarding-essentials]\n    onboarding",
         "    tracks: [partner-onboarding-essentials, partner-onboarding-essentials]\n"
         "    onboarding")
    _, problems = load(root)
    assert problems == [
        f"{TIER_FILE}:11: tiers.gold.certifications.2.job_roles.2: 'sales' is listed twice",
        f"{TIER_FILE}:11: tiers.gold.certifications.2: 'sales-professional' for the same job "
        "roles is already required (certifications.0); give one count",
        f"{TIER_FILE}:12: tiers.gold.tracks.1: 'partner-onboarding-essentials' is listed twice",
    ]


def test_tier_rule_field_problems_name_line_and_field(root):
    edit(root, "tiers.yml", "program: technical-associate, count: 1",
         "program: technical-associate, count: 0")
    edit(root, "tiers.yml", "onboarding_complete: true", "onboarding_complete: maybe")
    edit(root, "tiers.yml", "  platinum: {}", "  platinum: {certificates: []}")
    _, problems = load(root)
    assert problems == [
        f"{TIER_FILE}:10: tiers.gold.certifications.1.count: "
        "input should be greater than or equal to 1",
        f"{TIER_FILE}:12: tiers.gold.onboarding_complete: "
        "input should be a valid boolean, unable to interpret input",
        f"{TIER_FILE}:13: tiers.platinum.certificates: "
        "unknown field (check the spelling against docs/content-format.md)",
    ]


def test_hashes_follow_the_content_that_decides_a_score(root):
    first, _ = load(root)
    again, _ = load(root)
    assert first.rubric.content_hash == again.rubric.content_hash
    assert len(first.rubric.content_hash) == 64
    edit(root, "rubric.yml", "green: 80", "green: 85")
    changed, _ = load(root)
    assert changed.rubric.content_hash != first.rubric.content_hash
    assert changed.rubric.version == first.rubric.version  # the author's label, not checked here

    gold = first.tiers.rule("gold").content_hash
    platinum = first.tiers.rule("platinum").content_hash
    edit(root, "tiers.yml", "  platinum: {}", "  platinum: {onboarding_complete: true}")
    edited, _ = load(root)
    assert edited.tiers.rule("gold").content_hash == gold  # another tier's edit leaves it
    assert edited.tiers.rule("platinum").content_hash != platinum
    # Same rules under another tier's name are not the same rules.
    assert first.tiers.rule("registered").content_hash != platinum


def test_new_staff_days_give_newcomers_time_for_tier_tracks(root):
    content, _ = load(root)
    assert content.tiers.new_staff_days == 0  # not given: everyone is held to the tracks
    edit(root, "tiers.yml", "tiers:\n", "new_staff_days: 45\ntiers:\n")
    given, problems = load(root)
    assert problems == []
    assert given.tiers.new_staff_days == 45
    assert all(rule.new_staff_days == 45 for rule in given.tiers.rules.values())
    # Each tier's hash covers it: a stored score names the rules that held it to its tracks.
    assert given.tiers.rule("gold").content_hash != content.tiers.rule("gold").content_hash

    edit(root, "tiers.yml", "new_staff_days: 45", "new_staff_days: -3")
    _, problems = load(root)
    assert problems == [f"{TIER_FILE}:1: new_staff_days: "
                        "input should be greater than or equal to 0"]
