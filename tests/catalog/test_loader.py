"""content/ validation: every problem is reported as `path:LINE: field.path: message`.

The helpers at the top (PROGRAM, TRACK, write_program, track_yml) are shared with
test_sync.py and test_content_cli.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lms.catalog import loader
from tests.conftest import CONTENT

PROGRAM = """\
vendor: Test Vendor
partner_types:
  - {code: reseller, name: Reseller}
  - {code: si, name: System integrator}
tiers:
  - {code: silver, name: Silver}
  - {code: gold, name: Gold}
  - {code: platinum, name: Platinum}
regions:
  - {code: emea, name: "Europe, Middle East and Africa"}
  - {code: amer, name: Americas}
job_roles:
  - {code: sales, name: Sales}
  - {code: technical, name: Technical}
"""

# A valid track; the comments give the line numbers the assertions below rely on.
TRACK = """\
slug: x
title: Track X
summary: A test track.
estimated_minutes: 30
prerequisites: []
audience:
  partner_types: [reseller]
  regions: [emea]
  tiers:
    - gold
courses:
  - slug: basics
    title: Basics
    lessons:
      - slug: intro
        title: Introduction
        minutes: 5
        text: lessons/intro.md
      - slug: setup
        title: Setup
        text: lessons/setup.md
  - slug: advanced
    title: Advanced
    lessons:
      - slug: tuning
        title: Tuning
        video: https://videos.example.com/tuning.mp4
"""
#  1 slug        5 prerequisites      7 partner_types   10 - gold        12 - slug: basics
# 15 - slug: intro   17 intro minutes   18 intro text   19 - slug: setup   20 setup title
# 21 setup text      22 - slug: advanced   25 - slug: tuning   27 tuning video


def write_program(root: Path, tracks: dict[str, str], *, program: str = PROGRAM,
                  files: dict[str, str | bytes] | None = None) -> Path:
    """Write program.yml and tracks/<folder>/track.yml for each of `tracks` into `root`.

    For every `text: some/file.md` in a track that stays inside its track folder, a
    Markdown file "Text of some/file.md." is written too. `files` adds or overrides
    files, by path relative to `root`.
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "program.yml").write_text(program, encoding="utf-8")
    for folder, text in tracks.items():
        track_dir = root / "tracks" / folder
        track_dir.mkdir(parents=True, exist_ok=True)
        (track_dir / "track.yml").write_text(text, encoding="utf-8")
        for relative in re.findall(r"^\s*text: (\S+)\s*$", text, flags=re.MULTILINE):
            target = track_dir / relative
            if target.resolve().is_relative_to(track_dir.resolve()):
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(f"Text of {relative}.\n", encoding="utf-8")
    for relative, data in (files or {}).items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            target.write_bytes(data)
        else:
            target.write_text(data, encoding="utf-8")
    return root


def track_yml(slug: str, courses: dict[str, list[str]], *, settings: str = "",
              title: str | None = None) -> str:
    """A valid track.yml: each lesson `l` has title "Lesson l", 5 minutes, lessons/l.md."""
    lines = [f"slug: {slug}", f"title: {title or 'Track ' + slug}",
             "summary: A test track.", "estimated_minutes: 30"]
    lines += settings.splitlines()
    lines.append("courses:")
    for course, lessons in courses.items():
        lines += [f"  - slug: {course}", f"    title: Course {course}", "    lessons:"]
        for lesson in lessons:
            lines += [f"      - slug: {lesson}", f"        title: Lesson {lesson}",
                      "        minutes: 5", f"        text: lessons/{lesson}.md"]
    return "\n".join(lines) + "\n"


def problems_of(root: Path) -> list[str]:
    with pytest.raises(loader.ContentError) as caught:
        loader.load(root)
    return [str(problem) for problem in caught.value.problems]


@pytest.fixture
def root(tmp_path, monkeypatch):
    """An empty content root; the working directory, so problems show short paths."""
    monkeypatch.chdir(tmp_path)
    return tmp_path / "content"


# --- valid content -------------------------------------------------------------------------

def test_shipped_content_loads_without_problems():
    program = loader.load(CONTENT)
    assert program.vendor == "Kestrel Security"
    assert {track.spec.slug for track in program.tracks} == {
        "partner-onboarding-essentials", "sales-foundations", "solution-architecture",
        "support-essentials", "technical-associate"}
    assert [term.code for term in program.terms["tier"]] == [
        "registered", "silver", "gold", "platinum"]
    for track in program.tracks:
        assert track.courses, track.source
        for course in track.courses:
            for lesson in course.lessons:
                assert lesson.body_markdown or lesson.video_url or lesson.download


def test_shipped_download_is_loaded_with_its_bytes():
    program = loader.load(CONTENT)
    track = next(t for t in program.tracks if t.spec.slug == "solution-architecture")
    lesson = next(lesson for course in track.courses for lesson in course.lessons
                  if lesson.slug == "sizing-a-deployment")
    path = CONTENT / "tracks/solution-architecture/files/sizing-worksheet.csv"
    assert lesson.download.filename == "sizing-worksheet.csv"
    assert lesson.download.content_type == "text/csv"
    assert lesson.download.data == path.read_bytes()


def test_tmp_program_loads(root):
    write_program(root, {"x": TRACK})
    program = loader.load(root)
    assert program.vendor == "Test Vendor"
    [track] = program.tracks
    assert track.source == "content/tracks/x/track.yml"
    assert [c.slug for c in track.courses] == ["basics", "advanced"]
    assert [lesson.slug for lesson in track.courses[0].lessons] == ["intro", "setup"]
    assert track.courses[0].lessons[0].body_markdown == "Text of lessons/intro.md.\n"
    assert track.courses[0].lessons[0].minutes == 5
    assert track.courses[1].lessons[0].video_url == "https://videos.example.com/tuning.mp4"
    assert track.settings == {
        "audience": {"partner_types": ["reseller"], "tiers": ["gold"], "regions": ["emea"],
                     "job_roles": []},
        "prerequisites": [], "required": False, "sequential": True, "due_within_days": None,
    }


def test_track_yml_helper_writes_valid_content(root):
    write_program(root, {"a": track_yml("a", {"one": ["l1", "l2"], "two": ["l3"]})})
    [track] = loader.load(root).tracks
    assert [[lesson.slug for lesson in c.lessons] for c in track.courses] == [["l1", "l2"],
                                                                            ["l3"]]


# --- one problem at a time -----------------------------------------------------------------

def test_unknown_tier_in_audience(root):
    write_program(root, {"x": TRACK.replace("    - gold", "    - diamond")})
    assert problems_of(root) == [
        "content/tracks/x/track.yml:10: audience.tiers.0: unknown tier 'diamond' "
        "(known: silver, gold, platinum)",
    ]


def test_unknown_codes_in_each_audience_list(root):
    text = TRACK.replace("partner_types: [reseller]", "partner_types: [reseller, var]") \
        .replace("regions: [emea]", "regions: [emea]\n  job_roles: [sales, helpdesk]")
    write_program(root, {"x": text})
    assert problems_of(root) == [
        "content/tracks/x/track.yml:7: audience.partner_types.1: unknown partner type 'var' "
        "(known: reseller, si)",
        "content/tracks/x/track.yml:9: audience.job_roles.1: unknown job role 'helpdesk' "
        "(known: sales, technical)",
    ]


def test_lesson_text_file_that_does_not_exist(root):
    write_program(root, {"x": TRACK})
    (root / "tracks/x/lessons/setup.md").unlink()
    assert problems_of(root) == [
        "content/tracks/x/track.yml:21: courses.0.lessons.1.text: "
        "file 'lessons/setup.md' does not exist",
    ]


def test_download_file_that_does_not_exist(root):
    text = TRACK.replace("        video: https://videos.example.com/tuning.mp4",
                         "        download: files/worksheet.csv")
    write_program(root, {"x": text})
    assert problems_of(root) == [
        "content/tracks/x/track.yml:27: courses.1.lessons.0.download: "
        "file 'files/worksheet.csv' does not exist",
    ]


def test_duplicate_track_slug_across_two_files(root):
    write_program(root, {"first": TRACK, "second": track_yml("x", {"c": ["l"]})})
    assert problems_of(root) == [
        "content/tracks/second/track.yml:1: slug: duplicate track slug 'x' "
        "(also in content/tracks/first/track.yml)",
    ]


def test_duplicate_lesson_slug_in_one_track_across_courses(root):
    write_program(root, {"x": TRACK.replace("- slug: tuning", "- slug: intro")})
    assert problems_of(root) == [
        "content/tracks/x/track.yml:25: courses.1.lessons.0.slug: "
        "duplicate lesson slug 'intro' in this track",
    ]


def test_duplicate_course_slug_in_one_track(root):
    write_program(root, {"x": TRACK.replace("- slug: advanced", "- slug: basics")})
    assert problems_of(root) == [
        "content/tracks/x/track.yml:22: courses.1.slug: duplicate course slug 'basics' "
        "in this track",
    ]


def test_same_lesson_slug_in_two_tracks_is_fine(root):
    write_program(root, {"x": TRACK, "y": track_yml("y", {"c": ["intro"]})})
    assert len(loader.load(root).tracks) == 2


def test_prerequisite_cycle(root):
    write_program(root, {
        "a": track_yml("a", {"c": ["l"]}, settings="prerequisites:\n  - b"),
        "b": track_yml("b", {"c": ["l"]}, settings="prerequisites:\n  - a"),
    })
    assert problems_of(root) == [
        "content/tracks/a/track.yml:6: prerequisites.0: prerequisite cycle: a -> b -> a",
    ]


def test_longer_prerequisite_cycle_is_reported_once(root):
    write_program(root, {
        "a": track_yml("a", {"c": ["l"]}, settings="prerequisites: [b]"),
        "b": track_yml("b", {"c": ["l"]}, settings="prerequisites: [x, c]"),
        "c": track_yml("c", {"c": ["l"]}, settings="prerequisites: [a]"),
        "x": TRACK,
    })
    assert problems_of(root) == [
        "content/tracks/a/track.yml:5: prerequisites.0: prerequisite cycle: a -> b -> c -> a",
    ]


def test_cycle_is_found_even_when_a_slug_is_also_duplicated(root):
    write_program(root, {
        "a": track_yml("a", {"c": ["l"]}, settings="prerequisites: [b]"),
        "b": track_yml("b", {"c": ["l"]}, settings="prerequisites: [a]"),
        "c": track_yml("a", {"c": ["l"]}),
    })
    assert problems_of(root) == [
        "content/tracks/c/track.yml:1: slug: duplicate track slug 'a' "
        "(also in content/tracks/a/track.yml)",
        "content/tracks/a/track.yml:5: prerequisites.0: prerequisite cycle: a -> b -> a",
    ]


def test_track_that_is_its_own_prerequisite(root):
    write_program(root, {"x": TRACK.replace("prerequisites: []", "prerequisites: [x]")})
    assert problems_of(root) == [
        "content/tracks/x/track.yml:5: prerequisites.0: a track cannot be its own prerequisite",
    ]


def test_unknown_prerequisite(root):
    text = TRACK.replace("prerequisites: []", "prerequisites:\n  - y\n  - onboarding")
    write_program(root, {"x": text, "y": track_yml("y", {"c": ["l"]})})
    assert problems_of(root) == [
        "content/tracks/x/track.yml:7: prerequisites.1: unknown track 'onboarding'",
    ]


def test_prerequisite_on_a_track_with_problems_is_not_reported_unknown(root):
    # Track y exists but is broken: only its own problem is reported, not "unknown track".
    write_program(root, {
        "x": TRACK.replace("prerequisites: []", "prerequisites: [y]"),
        "y": track_yml("y", {"c": ["l"]}).replace("estimated_minutes: 30\n", ""),
    })
    assert problems_of(root) == [
        "content/tracks/y/track.yml:1: estimated_minutes: this field is required",
    ]


def test_missing_required_field(root):
    write_program(root, {"x": TRACK.replace("        title: Setup\n", "")})
    assert problems_of(root) == [
        "content/tracks/x/track.yml:19: courses.0.lessons.1.title: this field is required",
    ]


def test_missing_required_top_level_field(root):
    write_program(root, {"x": TRACK.replace("summary: A test track.\n", "")})
    assert problems_of(root) == [
        "content/tracks/x/track.yml:1: summary: this field is required",
    ]


def test_unknown_field_is_a_typo(root):
    write_program(root, {"x": TRACK.replace("        minutes: 5", "        minuets: 5")})
    assert problems_of(root) == [
        "content/tracks/x/track.yml:17: courses.0.lessons.0.minuets: "
        "unknown field (check the spelling against docs/content-format.md)",
    ]


def test_bad_slug(root):
    write_program(root, {"x": TRACK.replace("- slug: setup", "- slug: Set_Up")})
    assert problems_of(root) == [
        "content/tracks/x/track.yml:19: courses.0.lessons.1.slug: "
        "use lowercase letters, digits and dashes (like 'sales-foundations')",
    ]


def test_bad_track_slug(root):
    write_program(root, {"x": TRACK.replace("slug: x\n", "slug: track x\n")})
    assert problems_of(root) == [
        "content/tracks/x/track.yml:1: slug: "
        "use lowercase letters, digits and dashes (like 'sales-foundations')",
    ]


def test_invalid_yaml_reports_the_line_of_the_syntax_error(root):
    text = TRACK.replace("title: Introduction", "title: Introduction: the basics")
    write_program(root, {"x": text})
    assert problems_of(root) == [
        "content/tracks/x/track.yml:16: (yaml): not valid YAML: "
        "mapping values are not allowed here",
    ]


def test_invalid_yaml_in_program_yml(root):
    write_program(root, {"x": TRACK}, program=PROGRAM.replace("  - {code: gold", "\t- {code: gold"))
    # Without the vocabularies the audience codes cannot be checked; the rest still is.
    (root / "tracks/x/lessons/setup.md").unlink()
    assert problems_of(root) == [
        "content/program.yml:7: (yaml): not valid YAML: "
        "found character '\\t' that cannot start any token",
        "content/tracks/x/track.yml:21: courses.0.lessons.1.text: "
        "file 'lessons/setup.md' does not exist",
    ]


def test_track_file_that_is_not_a_mapping(root):
    write_program(root, {"x": "- just\n- a list\n"})
    assert problems_of(root) == [
        "content/tracks/x/track.yml:1: (file): expected a mapping of fields",
    ]


def test_lesson_without_text_video_or_download(root):
    text = TRACK.replace("        video: https://videos.example.com/tuning.mp4\n", "")
    write_program(root, {"x": text})
    assert problems_of(root) == [
        "content/tracks/x/track.yml:25: courses.1.lessons.0: "
        "a lesson needs at least one of text, video, download or assessment",
    ]


def test_non_https_video_link(root):
    write_program(root, {"x": TRACK.replace("https://videos", "http://videos")})
    assert problems_of(root) == [
        "content/tracks/x/track.yml:27: courses.1.lessons.0.video: must be an https:// link",
    ]


@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/passwd", "../y/lessons/l.md"])
def test_path_escaping_the_track_folder(root, path):
    write_program(root, {"x": TRACK.replace("lessons/setup.md", path),
                         "y": track_yml("y", {"c": ["l"]})})
    assert problems_of(root) == [
        f"content/tracks/x/track.yml:21: courses.0.lessons.1.text: "
        f"'{path}' points outside the track folder",
    ]


def test_symlink_leading_out_of_the_track_folder(root, tmp_path):
    write_program(root, {"x": TRACK})
    secret = tmp_path / "secret.md"
    secret.write_text("secret")
    link = root / "tracks/x/lessons/setup.md"
    link.unlink()
    link.symlink_to(secret)
    assert problems_of(root) == [
        "content/tracks/x/track.yml:21: courses.0.lessons.1.text: "
        "'lessons/setup.md' points outside the track folder",
    ]


def test_numbers_must_be_whole_and_positive(root):
    text = TRACK.replace("estimated_minutes: 30", "estimated_minutes: 0") \
        .replace("minutes: 5", "minutes: 2.5")
    write_program(root, {"x": text})
    assert problems_of(root) == [
        "content/tracks/x/track.yml:4: estimated_minutes: input should be greater than 0",
        "content/tracks/x/track.yml:17: courses.0.lessons.0.minutes: "
        "input should be a valid integer, got a number with a fractional part",
    ]


def test_track_without_courses_and_course_without_lessons(root):
    write_program(root, {
        "x": track_yml("x", {"c": ["l"]}).split("courses:")[0] + "courses: []\n",
        "y": "slug: y\ntitle: Y\nsummary: Y.\nestimated_minutes: 5\ncourses:\n"
             "  - slug: c\n    title: C\n    lessons: []\n",
    })
    assert problems_of(root) == [
        "content/tracks/x/track.yml:5: courses: list should have at least 1 item "
        "after validation, not 0",
        "content/tracks/y/track.yml:8: courses.0.lessons: list should have at least 1 item "
        "after validation, not 0",
    ]


def test_program_problems(root):
    program = PROGRAM.replace("  - {code: gold, name: Gold}\n",
                              "  - {code: silver, name: Silver again}\n") \
        .replace("vendor: Test Vendor\n", "")
    write_program(root, {}, program=program)
    assert problems_of(root) == [
        "content/program.yml:1: vendor: this field is required",
    ]
    write_program(root, {}, program=program.replace("partner_types", "vendor: V\npartner_types",
                                                    1))
    assert problems_of(root) == [
        "content/program.yml:7: tiers.1.code: duplicate code 'silver'",
    ]


def test_term_codes_and_names_fit_the_database(root):
    # term.code is VARCHAR(50) and term.name VARCHAR(100): longer ones must be problems
    # here rather than a database error in the middle of `lms content sync`.
    program = PROGRAM.replace("{code: amer, name: Americas}",
                              "{code: " + "a" * 51 + ", name: " + "N" * 101 + "}")
    write_program(root, {}, program=program)
    assert problems_of(root) == [
        "content/program.yml:11: regions.1.code: string should have at most 50 characters",
        "content/program.yml:11: regions.1.name: string should have at most 100 characters",
    ]


def test_missing_program_yml_and_missing_folder(root, tmp_path):
    write_program(root, {"x": TRACK})
    (root / "program.yml").unlink()
    assert problems_of(root) == ["content/program.yml:0: (file): file not found"]
    assert problems_of(tmp_path / "nowhere") == ["nowhere:0: (path): content folder not found"]


def test_lesson_text_that_is_not_utf8(root):
    write_program(root, {"x": TRACK},
                  files={"tracks/x/lessons/setup.md": b"# Setup\n\ncaf\xe9\n"})
    assert problems_of(root) == [
        "content/tracks/x/lessons/setup.md:3: (file): not UTF-8 text (byte 0xE9 on this "
        "line), the text of lesson 'setup' in content/tracks/x/track.yml",
    ]


# --- many problems in one run --------------------------------------------------------------

def test_every_problem_of_a_run_is_reported(root):
    broken = (TRACK.replace("    - gold", "    - diamond")
              .replace("prerequisites: []", "prerequisites: [y, nope]")
              .replace("lessons/setup.md", "../../etc/passwd")
              .replace("- slug: tuning", "- slug: intro"))
    write_program(root, {
        "x": broken,
        "y": track_yml("y", {"c": ["l"]}, settings="prerequisites: [x]"),
        "z": track_yml("Z", {"c": ["l"]}).replace("minutes: 5", "minuets: 5"),
        "w": "slug: w\n  title: bad indentation\n",
    })
    (root / "tracks/x/lessons/intro.md").unlink()
    assert problems_of(root) == [
        "content/tracks/w/track.yml:2: (yaml): not valid YAML: "
        "mapping values are not allowed here",
        "content/tracks/x/track.yml:10: audience.tiers.0: unknown tier 'diamond' "
        "(known: silver, gold, platinum)",
        "content/tracks/x/track.yml:18: courses.0.lessons.0.text: "
        "file 'lessons/intro.md' does not exist",
        "content/tracks/x/track.yml:21: courses.0.lessons.1.text: "
        "'../../etc/passwd' points outside the track folder",
        "content/tracks/x/track.yml:25: courses.1.lessons.0.slug: "
        "duplicate lesson slug 'intro' in this track",
        "content/tracks/z/track.yml:1: slug: "
        "use lowercase letters, digits and dashes (like 'sales-foundations')",
        "content/tracks/z/track.yml:11: courses.0.lessons.0.minuets: "
        "unknown field (check the spelling against docs/content-format.md)",
        "content/tracks/x/track.yml:5: prerequisites.1: unknown track 'nope'",
        "content/tracks/x/track.yml:5: prerequisites.0: prerequisite cycle: x -> y -> x",
    ]


def test_problems_come_in_a_stable_order(root):
    write_program(root, {"b": TRACK.replace("    - gold", "    - diamond"),
                         "a": track_yml("a", {"c": ["l"]}, settings="prerequisites: [nope]")})
    assert problems_of(root) == problems_of(root)
    assert problems_of(root)[0].startswith("content/tracks/b/track.yml:10:")


def test_track_folder_without_track_yml_is_a_problem_not_an_archive(root):
    write_program(root, {"x": TRACK})
    (root / "tracks" / "y").mkdir()
    (root / "tracks" / "y" / "track.yaml").write_text("slug: y\n")
    assert problems_of(root) == [
        "content/tracks/y/track.yml:0: (file): file not found: every folder in tracks/ "
        "holds a track.yml"]
