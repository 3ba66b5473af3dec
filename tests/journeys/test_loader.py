"""Journey templates as code: the shipped ones load, and every problem names file, line and
field (unknown references, one kind per milestone, duplicate keys, scope and owner rules)."""

from __future__ import annotations

import shutil

import pytest

from lms.content import load_all
from lms.core.content_files import ContentError
from tests.conftest import CONTENT

ORG = "content/journeys/partner-onboarding.yml"
SALES = "content/journeys/new-sales.yml"


@pytest.fixture
def root(tmp_path, monkeypatch):
    """A copy of the shipped content/ to edit; problems show paths relative to tmp_path."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(CONTENT, tmp_path / "content")
    return tmp_path / "content"


def edit(root, name: str, old: str, new: str) -> None:
    path = root / "journeys" / f"{name}.yml"
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def problems(root) -> list[str]:
    with pytest.raises(ContentError) as error:
        load_all(root)
    return [str(problem) for problem in error.value.problems]


def test_the_shipped_journeys_load(root):
    journeys = {j.spec.code: j.spec for j in load_all(root).journeys.journeys}
    assert set(journeys) == {"partner-onboarding", "new-sales", "new-presales",
                             "new-technical", "new-support"}
    onboarding = journeys["partner-onboarding"]
    assert (onboarding.scope, onboarding.stalled_after_days) == ("organisation", 21)
    assert [len(stage.milestones) for stage in onboarding.stages] == [2, 2, 2]
    counted = onboarding.stages[2].milestones[0]
    assert (counted.kind, counted.target, counted.certified_staff.count) \
        == ("certified_staff", "sales-professional", 2)
    sales = journeys["new-sales"]
    assert sales.audience.job_roles == ["sales"]
    assert sales.stalled_after_days == 14  # the default
    assert [m.kind for stage in sales.stages for m in stage.milestones] == [
        "manual", "track", "track", "assessment", "certification"]
    # Every job role has its own journey.
    assert {code for spec in journeys.values() for code in spec.audience.job_roles} \
        == {"sales", "presales", "technical", "support"}


@pytest.mark.parametrize(("name", "old", "new", "expected"), [
    ("new-sales", "track: sales-foundations\n", "track: no-such-track\n",
     f"{SALES}:28: stages.1.milestones.0.track: unknown track 'no-such-track'"),
    ("new-sales", "assessment: sales-foundations-check",
     "assessment: no-such-check",
     f"{SALES}:33: stages.1.milestones.1.assessment: unknown assessment 'no-such-check'"),
    ("new-sales", "certification: sales-professional", "certification: wizard",
     f"{SALES}:40: stages.2.milestones.0.certification: "
     "unknown certification program 'wizard'"),
    ("partner-onboarding", "{program: technical-associate, count: 1}",
     "{program: wizard, count: 1}",
     f"{ORG}:43: stages.1.milestones.1.certified_staff.program: "
     "unknown certification program 'wizard'"),
    ("new-sales", "job_roles: [sales]", "job_roles: [sales, astronaut]",
     f"{SALES}:8: audience.job_roles.1: unknown code 'astronaut' "
     "(program.yml lists: presales, sales, support, technical)"),
    ("partner-onboarding", "audience: {}", "audience: {tiers: [diamond]}",
     f"{ORG}:8: audience.tiers.0: unknown code 'diamond' "
     "(program.yml lists: gold, platinum, registered, silver)"),
    # Exactly one kind per milestone: two, or none.
    ("new-sales", "track: sales-foundations\n",
     "track: sales-foundations\n        assessment: sales-foundations-check\n",
     f"{SALES}:24: stages.1.milestones.0: give exactly one of track, assessment, "
     "certification, certified_staff or manual (found: track, assessment)"),
    ("new-sales", "        manual: {}\n", "",
     f"{SALES}:12: stages.0.milestones.0: give exactly one of track, assessment, "
     "certification, certified_staff or manual (found: none)"),
    ("new-sales", "key: sales-foundations-check", "key: sales-foundations",
     f"{SALES}:29: stages.1.milestones.1.key: duplicate milestone key 'sales-foundations'"),
    # A person's kind of evidence in an organisation journey, and the other way round.
    ("partner-onboarding", "certified_staff: {program: technical-associate, count: 1}",
     "certification: technical-associate",
     f"{ORG}:43: stages.1.milestones.1.certification: an organisation journey cannot wait "
     "for one person's certification; use certified_staff or manual"),
    ("new-sales", "certification: sales-professional",
     "certified_staff: {program: sales-professional, count: 2}",
     f"{SALES}:40: stages.2.milestones.0.certified_staff: certified_staff counts an "
     "organisation's staff; use certification in a person's journey"),
    # Owner rules.
    ("partner-onboarding", "due_days: 7\n        owner: vendor",
     "due_days: 7\n        owner: person",
     f"{ORG}:16: stages.0.milestones.0.owner: an organisation journey has no single person "
     "to own a step; use partner_admin or vendor"),
    ("new-sales", "due_days: 14\n        owner: person", "due_days: 14\n        owner: vendor",
     f"{SALES}:20: stages.0.milestones.1.owner: only the person can complete a track; "
     "set owner: person"),
    ("new-sales", "owner: person\n        manual: {}", "owner: boss\n        manual: {}",
     f"{SALES}:15: stages.0.milestones.0.owner: input should be 'person', 'partner_admin' "
     "or 'vendor'"),
    # Audiences by the wrong vocabulary for the scope.
    ("new-sales", "job_roles: [sales]", "job_roles: [sales]\n  tiers: [gold]",
     f"{SALES}:9: audience.tiers: person journeys cannot be chosen by tiers "
     "(use job_roles)"),
    ("partner-onboarding", "audience: {}", "audience: {job_roles: [sales]}",
     f"{ORG}:8: audience.job_roles: organisation journeys cannot be chosen by job_roles "
     "(use partner_types, tiers, regions)"),
    ("new-sales", "due_days: 5", "due_days: -1",
     f"{SALES}:14: stages.0.milestones.0.due_days: input should be greater than or equal "
     "to 0"),
    ("new-sales", "due_days: 5", "due_days: 5\n        colour: blue",
     f"{SALES}:15: stages.0.milestones.0.colour: unknown field (check the spelling against "
     "docs/content-format.md)"),
    ("partner-onboarding", "evidence: file", "evidence: photo",
     f"{ORG}:18: stages.0.milestones.0.manual.evidence: input should be 'none', 'note', "
     "'file' or 'note_or_file'"),
])
def test_problems_name_file_line_and_field(root, name, old, new, expected):
    edit(root, name, old, new)
    found = problems(root)
    assert expected in found, found


def test_a_journey_code_used_twice_is_refused(root):
    shutil.copy(root / "journeys" / "new-sales.yml", root / "journeys" / "zz-copy.yml")
    assert ("content/journeys/zz-copy.yml:1: code: duplicate journey code 'new-sales' "
            f"(also in {SALES})") in problems(root)


def test_a_template_without_stages_or_scope_is_refused(root):
    (root / "journeys" / "broken.yml").write_text("code: broken\nname: Broken\nstages: []\n")
    found = problems(root)
    assert "content/journeys/broken.yml:1: scope: this field is required" in found
    assert any(p.startswith("content/journeys/broken.yml:3: stages: ") for p in found), found


def test_every_problem_in_a_file_is_reported_at_once(root):
    edit(root, "new-sales", "track: sales-foundations\n", "track: no-such-track\n")
    edit(root, "new-sales", "certification: sales-professional", "certification: wizard")
    found = [p for p in problems(root) if p.startswith(SALES)]
    assert len(found) == 2, found


def test_without_a_journeys_folder_there_are_no_journeys(root):
    shutil.rmtree(root / "journeys")
    assert load_all(root).journeys.journeys == []
