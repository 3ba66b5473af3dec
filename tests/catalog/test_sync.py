"""Applying content to the database: versions, carried completions, archiving, settings."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.accounts.models import Term
from lms.catalog import service
from lms.catalog.models import (
    Asset,
    Assignment,
    Course,
    CourseCompletion,
    Lesson,
    LessonCompletion,
    Track,
    TrackCompletion,
    TrackVersion,
)
from lms.core import clock
from lms.core.errors import NotFound
from lms.extensions import db
from tests.catalog.test_loader import PROGRAM, track_yml, write_program
from tests.conftest import CONTENT
from tests.factories import make_organisation, make_user

ALPHA = track_yml("alpha", {"basics": ["intro", "setup"], "advanced": ["tuning"]})
BETA = track_yml("beta", {"only": ["first", "second"]})
SHIPPED = ["partner-onboarding-essentials", "sales-foundations", "solution-architecture",
           "support-essentials", "technical-associate"]


@pytest.fixture
def root(tmp_path):
    return tmp_path / "content"


def sync(root):
    return service.sync_content(str(root))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def track(slug: str) -> Track:
    return db.session.scalar(select(Track).where(Track.slug == slug))


def version(slug: str, number: int) -> TrackVersion:
    return db.session.scalar(select(TrackVersion).join(Track, Track.id == TrackVersion.track_id)
                             .where(Track.slug == slug, TrackVersion.number == number))


def lessons(slug: str, number: int) -> dict[str, Lesson]:
    return {lesson.slug: lesson for lesson in db.session.scalars(
        select(Lesson).where(Lesson.track_version_id == version(slug, number).id))}


def live_slugs() -> list[str]:
    return list(db.session.scalars(select(Track.slug).where(Track.archived_at.is_(None))
                                   .order_by(Track.slug)))


def completion(user, lesson: Lesson) -> LessonCompletion | None:
    return db.session.scalar(select(LessonCompletion).where(
        LessonCompletion.user_id == user.id, LessonCompletion.lesson_id == lesson.id))


def complete(user, slug: str, *lesson_slugs: str) -> None:
    for lesson_slug in lesson_slugs:
        service.complete_lesson(user=user, track_slug=slug, lesson_slug=lesson_slug)
        clock.advance(timedelta(minutes=10))


@pytest.fixture
def learner(frozen_clock):
    return make_user(make_organisation())


# --- first sync ----------------------------------------------------------------------------

def test_sync_creates_tracks_versions_courses_and_lessons(root, learner):
    write_program(root, {"alpha": ALPHA, "beta": BETA.replace(
        "text: lessons/second.md",
        "text: lessons/second.md\n        video: https://videos.example.com/second.mp4")})
    report = sync(root)

    assert report.created == ["track alpha (version 1: 3 lessons)",
                              "track beta (version 1: 2 lessons)"]
    assert [f"track {slug}" for slug in SHIPPED] == [
        item for item in report.archived if item.startswith("track ")]
    alpha = track("alpha")
    assert alpha.archived_at is None
    assert alpha.audience == {"partner_types": [], "tiers": [], "regions": [], "job_roles": []}
    assert (alpha.required, alpha.sequential, alpha.due_within_days) == (False, True, None)
    v1 = alpha.current_version
    assert (v1.number, v1.title, v1.summary, v1.estimated_minutes) == (
        1, "Track alpha", "A test track.", 30)
    courses = db.session.scalars(select(Course).where(Course.track_version_id == v1.id)
                                 .order_by(Course.position)).all()
    assert [(c.slug, c.title, c.position) for c in courses] == [
        ("basics", "Course basics", 0), ("advanced", "Course advanced", 1)]
    rows = db.session.scalars(select(Lesson).where(Lesson.track_version_id == v1.id)
                              .order_by(Lesson.position)).all()
    assert [(lesson.slug, lesson.position, lesson.course_id, lesson.minutes) for lesson in rows] \
        == [("intro", 0, courses[0].id, 5), ("setup", 1, courses[0].id, 5),
            ("tuning", 2, courses[1].id, 5)]
    assert rows[0].body_markdown == "Text of lessons/intro.md.\n"
    assert lessons("beta", 1)["second"].video_url == "https://videos.example.com/second.mp4"
    # The learner matched the everyone-audience when the sync re-evaluated assignments.
    assigned = db.session.scalars(select(Assignment).where(
        Assignment.user_id == learner.id, Assignment.track_id.in_(
            [alpha.id, track("beta").id]))).all()
    assert len(assigned) == 2 and all(a.by_rule for a in assigned)
    assert "assignments (+2, -0)" in report.changed


def test_shipped_tracks_are_archived_by_a_program_without_them(root):
    write_program(root, {"alpha": ALPHA})
    report = sync(root)
    for slug in SHIPPED:
        assert track(slug).archived_at is not None
        assert f"track {slug}" in report.archived
    with pytest.raises(NotFound):
        service.complete_lesson(user=make_user(make_organisation()),
                                track_slug="sales-foundations", lesson_slug="value-and-roi")


def test_downloads_are_stored_once_by_content_hash(root):
    download = "        download: files/sheet.csv\n"
    write_program(root, {
        "alpha": ALPHA.replace("        text: lessons/tuning.md\n", download),
        "beta": BETA.replace("        text: lessons/second.md\n", download),
    }, files={"tracks/alpha/files/sheet.csv": "a,b\n1,2\n",
              "tracks/beta/files/sheet.csv": "a,b\n1,2\n"})
    assets_before = count(Asset)
    sync(root)
    assert count(Asset) == assets_before + 1
    tuning = lessons("alpha", 1)["tuning"]
    assert tuning.asset.data == b"a,b\n1,2\n"
    assert tuning.asset.filename == "sheet.csv"
    assert tuning.asset.content_type == "text/csv"
    assert tuning.body_markdown == ""
    assert lessons("beta", 1)["second"].asset_sha256 == tuning.asset_sha256


# --- idempotence ---------------------------------------------------------------------------

def test_second_sync_of_the_same_files_changes_nothing(root, learner):
    write_program(root, {"alpha": ALPHA, "beta": BETA})
    sync(root)
    before = [count(model) for model in (Track, TrackVersion, Course, Lesson, Asset, Term,
                                         Assignment)]
    report = sync(root)
    assert (report.created, report.changed, report.archived) == ([], [], [])
    assert not report.touched
    assert "track alpha" in report.unchanged and "track beta" in report.unchanged
    assert "tier gold" in report.unchanged
    assert report.lines() == [f"0 created, 0 changed, 0 archived, {len(report.unchanged)} "
                              "unchanged"]
    assert [count(model) for model in (Track, TrackVersion, Course, Lesson, Asset, Term,
                                       Assignment)] == before


def test_shipped_content_is_already_in_sync():
    report = sync(CONTENT)
    assert not report.touched
    assert sorted(item for item in report.unchanged if item.startswith("track ")) == [
        f"track {slug}" for slug in SHIPPED]


# --- new versions and carried completions --------------------------------------------------

def test_editing_a_lesson_publishes_version_2_and_carries_unchanged_completions(
        root, learner):
    write_program(root, {"alpha": ALPHA})
    sync(root)
    complete(learner, "alpha", "intro", "setup")
    v1 = lessons("alpha", 1)
    v1_snapshot = {slug: (lesson.id, lesson.body_markdown, lesson.content_hash)
                   for slug, lesson in v1.items()}
    intro_done, setup_done = completion(learner, v1["intro"]), completion(learner, v1["setup"])

    (root / "tracks/alpha/lessons/setup.md").write_text("Rewritten setup.\n")
    report = sync(root)

    assert report.changed == ["track alpha (new version 2, 1 completion(s) carried forward)"]
    alpha = track("alpha")
    assert alpha.current_version.number == 2
    assert alpha.current_version_id == version("alpha", 2).id
    # Version 1 is immutable: same rows, same text.
    db.session.expire_all()
    assert {slug: (lesson.id, lesson.body_markdown, lesson.content_hash)
            for slug, lesson in lessons("alpha", 1).items()} == v1_snapshot
    assert count_lessons_of(version("alpha", 1)) == 3
    v2 = lessons("alpha", 2)
    assert v2["setup"].body_markdown == "Rewritten setup.\n"
    assert v2["intro"].id != v1["intro"].id
    assert v2["intro"].content_hash == v1["intro"].content_hash
    assert v2["setup"].content_hash != v1["setup"].content_hash
    # The unchanged lesson's completion is copied; the edited lesson's stays on version 1.
    carried = completion(learner, v2["intro"])
    assert carried.carried_from_id == intro_done.id
    assert carried.completed_at == intro_done.completed_at
    assert completion(learner, v2["setup"]) is None
    assert completion(learner, v1["intro"]).id == intro_done.id
    assert completion(learner, v1["setup"]).id == setup_done.id
    assert completion(learner, v1["setup"]).carried_from_id is None
    # The course was complete on v1 but is not on v2 until the edited lesson is redone.
    assert not course_completed(learner, version("alpha", 2), "basics")
    # The learner carries on from the edited lesson on the new version.
    redone = service.complete_lesson(user=learner, track_slug="alpha", lesson_slug="setup")
    assert redone.lesson_id == v2["setup"].id
    assert course_completed(learner, version("alpha", 2), "basics")


def count_lessons_of(track_version: TrackVersion) -> int:
    return db.session.scalar(select(func.count()).select_from(Lesson)
                             .where(Lesson.track_version_id == track_version.id))


def course_completed(user, track_version: TrackVersion, course_slug: str) -> bool:
    return db.session.scalar(
        select(func.count()).select_from(CourseCompletion)
        .join(Course, Course.id == CourseCompletion.course_id)
        .where(CourseCompletion.user_id == user.id, Course.slug == course_slug,
               Course.track_version_id == track_version.id)) == 1


def track_completion(user, track_version: TrackVersion) -> TrackCompletion | None:
    return db.session.scalar(select(TrackCompletion).where(
        TrackCompletion.user_id == user.id,
        TrackCompletion.track_version_id == track_version.id))


def test_carried_lessons_that_finish_a_course_or_the_track_record_it(root, learner):
    partial = make_user(learner.organisation)
    write_program(root, {"alpha": ALPHA})
    sync(root)
    complete(learner, "alpha", "intro", "setup", "tuning")
    complete(partial, "alpha", "intro", "setup")
    v1 = version("alpha", 1)
    first = track_completion(learner, v1)
    assert first is not None and not first.carried_forward
    last_lesson_done = completion(learner, lessons("alpha", 1)["tuning"]).completed_at

    clock.advance(timedelta(days=3))
    # A new summary publishes version 2 with every lesson unchanged.
    (root / "tracks/alpha/track.yml").write_text(
        ALPHA.replace("summary: A test track.", "summary: A better summary."))
    report = sync(root)

    assert report.changed == ["track alpha (new version 2, 5 completion(s) carried forward)"]
    v2 = version("alpha", 2)
    assert v2.summary == "A better summary."
    assert course_completed(learner, v2, "basics") and course_completed(learner, v2, "advanced")
    carried = track_completion(learner, v2)
    assert carried.carried_forward is True
    assert carried.track_id == track("alpha").id
    assert carried.completed_at == last_lesson_done  # when it was really earned, not now
    assert course_completed(partial, v2, "basics")
    assert not course_completed(partial, v2, "advanced")
    assert track_completion(partial, v2) is None
    # Version 1 keeps its own records.
    assert track_completion(learner, v1).id == first.id
    assert course_completed(partial, v1, "basics")


@pytest.mark.parametrize("edit", [
    pytest.param(lambda text: text.replace("title: Lesson intro", "title: Welcome"), id="title"),
    pytest.param(lambda text: text.replace("        minutes: 5\n", "        minutes: 7\n", 1),
                 id="minutes"),
    pytest.param(lambda text: text.replace(
        "text: lessons/intro.md", "text: lessons/intro.md\n        video: https://v.example/1"),
        id="video"),
    pytest.param(lambda text: text.replace("text: lessons/intro.md", "text: lessons/setup.md"),
                 id="text-file"),
])
def test_any_change_to_a_lesson_stops_its_completion_carrying_forward(root, learner, edit):
    write_program(root, {"alpha": ALPHA})
    sync(root)
    complete(learner, "alpha", "intro", "setup")
    (root / "tracks/alpha/track.yml").write_text(edit(ALPHA))
    report = sync(root)
    assert report.changed == ["track alpha (new version 2, 1 completion(s) carried forward)"]
    v2 = lessons("alpha", 2)
    assert completion(learner, v2["intro"]) is None
    assert completion(learner, v2["setup"]).carried_from_id is not None


def test_a_changed_download_behind_the_same_path_is_a_new_version(root, learner):
    text = ALPHA.replace("        text: lessons/tuning.md\n", "        download: files/a.csv\n")
    write_program(root, {"alpha": text}, files={"tracks/alpha/files/a.csv": "v1\n"})
    sync(root)
    complete(learner, "alpha", "intro", "setup", "tuning")
    (root / "tracks/alpha/files/a.csv").write_text("v2\n")
    report = sync(root)
    assert report.changed == ["track alpha (new version 2, 2 completion(s) carried forward)"]
    assert lessons("alpha", 1)["tuning"].asset.data == b"v1\n"
    assert lessons("alpha", 2)["tuning"].asset.data == b"v2\n"
    assert completion(learner, lessons("alpha", 2)["tuning"]) is None
    assert track_completion(learner, version("alpha", 2)) is None


@pytest.mark.parametrize("edit", [
    pytest.param(lambda text: text.replace("title: Track alpha", "title: Alpha"),
                 id="track-title"),
    pytest.param(lambda text: text.replace("estimated_minutes: 30", "estimated_minutes: 45"),
                 id="estimated-minutes"),
    pytest.param(lambda text: text.replace("title: Course advanced", "title: Going further"),
                 id="course-title"),
    pytest.param(lambda text: text.replace("    title: Course basics",
                                           "    title: Course basics\n    summary: Start."),
                 id="course-summary"),
    pytest.param(lambda text: text.replace("[advanced]", "").replace(
        "      - slug: tuning", "      - slug: extra\n        title: Extra\n"
        "        video: https://v.example/x\n      - slug: tuning"), id="added-lesson"),
    pytest.param(lambda text: text.replace("      - slug: intro", "      - slug: tmp").replace(
        "      - slug: setup", "      - slug: intro").replace("      - slug: tmp",
                                                               "      - slug: setup"),
                 id="swapped-slugs"),
])
def test_versioned_content_changes_publish_a_new_version(root, edit):
    write_program(root, {"alpha": ALPHA})
    sync(root)
    (root / "tracks/alpha/track.yml").write_text(edit(ALPHA))
    report = sync(root)
    assert report.changed == ["track alpha (new version 2)"]
    assert track("alpha").current_version.number == 2


def test_three_versions_in_a_row_carry_completions_along(root, learner):
    write_program(root, {"alpha": ALPHA})
    sync(root)
    complete(learner, "alpha", "intro")
    for number, body in ((2, "Second.\n"), (3, "Third.\n")):
        (root / "tracks/alpha/lessons/tuning.md").write_text(body)
        report = sync(root)
        assert report.changed == [
            f"track alpha (new version {number}, 1 completion(s) carried forward)"]
    first = completion(learner, lessons("alpha", 1)["intro"])
    second = completion(learner, lessons("alpha", 2)["intro"])
    third = completion(learner, lessons("alpha", 3)["intro"])
    assert (second.carried_from_id, third.carried_from_id) == (first.id, second.id)
    assert track("alpha").current_version.number == 3


# --- settings ------------------------------------------------------------------------------

def test_changing_only_the_audience_changes_settings_without_a_new_version(root, learner):
    write_program(root, {"alpha": ALPHA})
    sync(root)
    versions_before = count(TrackVersion)
    assert db.session.scalar(select(Assignment).where(
        Assignment.user_id == learner.id, Assignment.track_id == track("alpha").id))

    (root / "tracks/alpha/track.yml").write_text(track_yml(
        "alpha", {"basics": ["intro", "setup"], "advanced": ["tuning"]},
        settings="audience:\n  tiers: [platinum]"))
    report = sync(root)

    assert report.changed == ["track alpha (settings: audience)", "assignments (+0, -1)"]
    alpha = track("alpha")
    assert alpha.audience == {"partner_types": [], "tiers": ["platinum"], "regions": [],
                              "job_roles": []}
    assert alpha.current_version.number == 1
    assert count(TrackVersion) == versions_before
    # The gold-tier learner had not started, so the rule assignment went away.
    assert db.session.scalar(select(Assignment).where(
        Assignment.user_id == learner.id, Assignment.track_id == alpha.id)) is None


def test_all_settings_change_without_a_new_version(root, learner):
    write_program(root, {"alpha": ALPHA, "beta": BETA})
    sync(root)
    complete(learner, "alpha", "intro")
    settings = ("required: true\nsequential: false\ndue_within_days: 14\n"
                "prerequisites: [beta]\n")
    (root / "tracks/alpha/track.yml").write_text(track_yml(
        "alpha", {"basics": ["intro", "setup"], "advanced": ["tuning"]}, settings=settings))
    report = sync(root)
    assert report.changed == [
        "track alpha (settings: due_within_days, prerequisites, required, sequential)"]
    alpha = track("alpha")
    assert (alpha.required, alpha.sequential, alpha.due_within_days, alpha.prerequisites) == (
        True, False, 14, ["beta"])
    assert alpha.current_version.number == 1
    # Same version, so the learner's completion is simply still there.
    assert completion(learner, lessons("alpha", 1)["intro"]) is not None


def test_settings_and_content_change_together(root):
    write_program(root, {"alpha": ALPHA})
    sync(root)
    (root / "tracks/alpha/track.yml").write_text(track_yml(
        "alpha", {"basics": ["intro", "setup"]}, settings="required: true"))
    report = sync(root)
    assert report.changed == ["track alpha (settings: required; new version 2)"]


# --- archiving -----------------------------------------------------------------------------

def test_removing_a_track_folder_archives_it_and_putting_it_back_restores_it(
        root, learner, tmp_path):
    write_program(root, {"alpha": ALPHA, "beta": BETA})
    sync(root)
    complete(learner, "beta", "first", "second")
    beta = track("beta")
    completions = {c.id for c in db.session.scalars(select(LessonCompletion).where(
        LessonCompletion.user_id == learner.id))}
    assert len(completions) == 2

    shutil.move(root / "tracks/beta", tmp_path / "beta-away")
    clock.advance(timedelta(days=1))
    report = sync(root)

    assert report.archived == ["track beta"]
    assert report.changed == [] and report.created == []
    assert beta.archived_at == clock.now()
    assert beta.current_version.number == 1
    assert {c.id for c in db.session.scalars(select(LessonCompletion).where(
        LessonCompletion.user_id == learner.id))} == completions
    assert track_completion(learner, beta.current_version) is not None
    with pytest.raises(NotFound):
        service.complete_lesson(user=learner, track_slug="beta", lesson_slug="first")
    assert live_slugs() == ["alpha"]
    # Archiving again is not news.
    assert sync(root).archived == []

    shutil.move(tmp_path / "beta-away", root / "tracks/beta")
    report = sync(root)
    assert report.changed == ["track beta (restored from archive)"]
    assert beta.archived_at is None
    assert beta.current_version.number == 1
    assert count_lessons_of(beta.current_version) == 2
    assert live_slugs() == ["alpha", "beta"]


def test_a_track_restored_with_new_content_gets_a_new_version(root, learner, tmp_path):
    write_program(root, {"alpha": ALPHA, "beta": BETA})
    sync(root)
    complete(learner, "beta", "first")
    shutil.rmtree(root / "tracks/beta")
    sync(root)
    write_program(root, {"beta": track_yml("beta", {"only": ["first", "third"]})})
    report = sync(root)
    assert report.changed == [
        "track beta (restored from archive; new version 2, 1 completion(s) carried forward)"]


# --- vocabulary ----------------------------------------------------------------------------

def test_a_removed_vocabulary_term_is_archived_and_comes_back(root):
    write_program(root, {"alpha": ALPHA})
    sync(root)
    without = PROGRAM.replace("  - {code: platinum, name: Platinum}\n", "")
    write_program(root, {}, program=without)
    report = sync(root)
    assert report.archived == ["tier platinum"]
    platinum = db.session.scalar(select(Term).where(Term.kind == "tier",
                                                    Term.code == "platinum"))
    assert platinum.archived_at is not None

    write_program(root, {}, program=PROGRAM.replace("name: Platinum", "name: Platinum+"))
    report = sync(root)
    assert report.changed == ["tier platinum"]
    assert (platinum.archived_at, platinum.name, platinum.rank) == (None, "Platinum+", 2)


def test_term_names_and_order_follow_program_yml(root):
    program = PROGRAM.replace("  - {code: silver, name: Silver}\n", "") \
        .replace("  - {code: platinum, name: Platinum}\n",
                 "  - {code: platinum, name: Platinum}\n  - {code: silver, name: Silver}\n")
    write_program(root, {"alpha": ALPHA}, program=program)
    sync(root)
    tiers = db.session.scalars(select(Term).where(Term.kind == "tier",
                                                  Term.archived_at.is_(None))
                               .order_by(Term.rank)).all()
    assert [t.code for t in tiers] == ["gold", "platinum", "silver"]


def test_vendor_name_from_program_yml_is_shown_in_pages(client, tmp_path):
    from lms.core import settings
    from tests.factories import login

    assert settings.get("vendor_name") == "Kestrel Security"
    program = (CONTENT / "program.yml").read_text().replace(
        "vendor: Kestrel Security", "vendor: Falcon Networks")
    shutil.copytree(CONTENT, tmp_path / "content")
    (tmp_path / "content" / "program.yml").write_text(program)
    report = service.sync_content(str(tmp_path / "content"))
    assert "vendor name: Falcon Networks" in report.changed
    page = login(client, make_user(role="author")).get("/catalogue").get_data(as_text=True)
    assert "Falcon Networks <strong>Partner Academy</strong>" in page
