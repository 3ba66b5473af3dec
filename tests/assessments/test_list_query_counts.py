"""The assessment lists page in SQL and cost the same statements whatever their size: the
vendor's list of assessments, a learner's exams (their standing asked once for the page, not
once per exam) and a version's item statistics."""

from __future__ import annotations

import re

from sqlalchemy import insert, select

from lms.assessments.models import (
    Assessment,
    AssessmentItem,
    AssessmentVersion,
    Attempt,
    ItemStatistic,
)
from lms.assessments.stats import flagged_count, version_stats
from lms.extensions import db
from tests.assessments.support import CHECK, EXAM, current_version
from tests.certifications.test_issuing import RENEWAL, learner, pass_exam
from tests.factories import login, make_user


def _count(client, count_queries, url: str) -> int:
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return counter.count


def _clone_exams(count: int, *, prefix: str = "bulk-exam", source: str = EXAM) -> list[str]:
    """`count` more live exams, copies of `source`'s current version (items included)."""
    template = current_version(source)
    items = db.session.scalars(select(AssessmentItem).where(
        AssessmentItem.assessment_version_id == template.id)).all()
    slugs = []
    for number in range(count):
        slug = f"{prefix}-{number:03d}"
        assessment = Assessment(slug=slug)
        db.session.add(assessment)
        db.session.flush()
        version = AssessmentVersion(
            assessment_id=assessment.id, number=1, title=f"Bulk exam {number:03d}",
            pass_mark=template.pass_mark, time_limit_minutes=template.time_limit_minutes,
            max_attempts=template.max_attempts, cooldown_hours=template.cooldown_hours,
            feedback=template.feedback, draw_rules=None, content_hash="x" * 64)
        db.session.add(version)
        db.session.flush()
        assessment.current_version_id = version.id
        db.session.execute(insert(AssessmentItem), [
            {"assessment_version_id": version.id, "position": item.position,
             "bank_slug": item.bank_slug, "item_key": item.item_key,
             "item_type": item.item_type, "points": item.points, "tags": item.tags,
             "definition": item.definition, "content_hash": item.content_hash}
            for item in items[:5]])
        slugs.append(slug)
    db.session.flush()
    return slugs


def _attempt(user, slug: str, *, passed: bool) -> None:
    assessment = db.session.scalar(select(Assessment).where(Assessment.slug == slug))
    db.session.add(Attempt(
        public_id=f"{slug}-{user.id}", user_id=user.id, assessment_id=assessment.id,
        assessment_version_id=assessment.current_version_id, number=1, status="submitted",
        max_points=5, score_points=5 if passed else 1, percent=100.0 if passed else 20.0,
        passed=passed, submitted_at=db.func.now()))
    db.session.flush()


def test_vendor_assessment_list_is_paged_searched_and_constant(client, count_queries):
    login(client, make_user(role="vendor_admin"))
    urls = ["/assessments", "/assessments?page=2", "/assessments?q=bulk+exam+00"]
    few = [_count(client, count_queries, url) for url in urls]
    person = learner()
    for slug in _clone_exams(60):
        _attempt(person, slug, passed=slug.endswith("1"))
    many = [_count(client, count_queries, url) for url in urls]
    assert few == many, (few, many)
    first = client.get("/assessments").get_data(as_text=True)
    assert first.count("data-assessment=") == 25 and "Page 1 of 3" in first
    # The shipped content's titles and the bulk ones, in title order, all of them pageable.
    total = int(re.search(r"· ([\d,]+) assessments", first).group(1).replace(",", ""))
    last = client.get("/assessments?page=3").get_data(as_text=True)
    assert last.count("data-assessment=") == total - 50
    found = client.get("/assessments?q=BULK+exam+05").get_data(as_text=True)
    assert found.count("data-assessment=") == 10 and "10 assessments." in found
    assert 'data-assessment="bulk-exam-051"' in found
    row = found[found.index('data-assessment="bulk-exam-051"'):]
    row = row[:row.index("</tr>")]
    assert re.search(r'class="num">5</td>', row)  # five questions, counted in SQL
    assert re.search(r'class="num">1</td>\s*<td class="num">100%', row)  # one attempt, passed
    assert "No assessment matches" in client.get("/assessments?q=zzz").get_data(as_text=True)


def test_learner_exam_list_asks_once_for_the_page(client, count_queries, frozen_clock):
    person = learner()
    login(client, person)
    few = [_count(client, count_queries, url) for url in ("/assessments", "/assessments?page=2")]
    slugs = _clone_exams(60)
    for slug in slugs[:30]:
        _attempt(person, slug, passed=slug.endswith("0"))
    many = [_count(client, count_queries, url) for url in ("/assessments", "/assessments?page=2")]
    assert few == many, (few, many)
    page = client.get("/assessments").get_data(as_text=True)
    assert "Page 1 of 3" in page and page.count('class="card track-card"') == 25
    assert "Passed 100%" in page and "Not passed yet" in page
    # A renewal exam is not offered to someone who never held its certificate, on any page,
    # and the count says so (it is not in the total).
    every = "".join(client.get(f"/assessments?page={n}").get_data(as_text=True)
                    for n in (1, 2, 3))
    assert f"/assessments/{RENEWAL}\"" not in every and f"/assessments/{EXAM}\"" in every
    total = int(re.search(r"· ([\d,]+) exams", page).group(1).replace(",", ""))
    assert every.count('class="card track-card"') == total


def test_a_holder_is_offered_the_renewal_exam_in_the_list(client, frozen_clock):
    holder = learner()
    pass_exam(holder)
    login(client, holder)
    assert f"/assessments/{RENEWAL}\"" in client.get("/assessments").get_data(as_text=True)


def _item_statistics(version_id: int, values: list[tuple]) -> None:
    items = db.session.scalars(select(AssessmentItem.id).where(
        AssessmentItem.assessment_version_id == version_id)
        .order_by(AssessmentItem.position)).all()
    db.session.execute(insert(ItemStatistic), [
        {"assessment_item_id": item_id, "attempts": n, "answered": n, "sum_x": sx,
         "sum_xx": sxx, "sum_r": sr, "sum_rr": srr, "sum_xr": sxr}
        for item_id, (n, sx, sxx, sr, srr, sxr) in zip(items, values, strict=False)])
    db.session.flush()


# (n, Σx, Σx², Σr, Σr², Σxr): too easy; too hard; discriminating well; poorly (negative);
# too few answers to judge; no spread (no discrimination, difficulty in the middle).
SAMPLES = [(10, 9.5, 9.5, 50, 300, 48), (10, 1, 1, 50, 300, 6), (10, 5, 5, 50, 290, 35),
           (10, 5, 5, 50, 290, 20), (3, 3, 3, 10, 40, 10), (10, 5, 2.5, 50, 250, 25)]


def test_item_statistics_are_paged_with_the_flags_counted_in_sql(client, count_queries):
    version = current_version(CHECK)
    _item_statistics(version.id, SAMPLES * 3)
    every = version_stats(version)
    assert flagged_count(version.id) == sum(1 for stat in every.items if stat.flags) == 8
    login(client, make_user(role="vendor_admin"))
    url = f"/assessments/{CHECK}/statistics"
    few = [_count(client, count_queries, url + query) for query in ("", "?page=2")]
    html = client.get(url).get_data(as_text=True)
    assert html.count("data-item=") == 15 and 'data-flagged="8"' in html

    [bigger] = _clone_exams(1, prefix="long-bank", source=EXAM)
    long_version = current_version(bigger)
    db.session.execute(insert(AssessmentItem), [
        {"assessment_version_id": long_version.id, "position": 10 + n, "bank_slug": "more",
         "item_key": f"item-{n}", "item_type": "single_choice", "points": 1, "tags": [],
         "definition": {"prompt": f"Question {n}", "options": [
             {"id": "a", "text": "A", "correct": True},
             {"id": "b", "text": "B", "correct": False}]}, "content_hash": "y" * 64}
        for n in range(55)])
    db.session.flush()
    _item_statistics(long_version.id, SAMPLES * 10)
    url = f"/assessments/{bigger}/statistics"
    many = [_count(client, count_queries, url + query) for query in ("", "?page=2")]
    assert few == many, (few, many)
    first = client.get(url).get_data(as_text=True)
    assert first.count("data-item=") == 25 and "Page 1 of 3 · 60 items" in first
    assert f'data-flagged="{flagged_count(long_version.id)}"' in first
    assert client.get(url + "?page=3").get_data(as_text=True).count("data-item=") == 10
    # The CSV still carries every item.
    csv = client.get(f"/assessments/{bigger}/statistics.csv").get_data(as_text=True)
    assert len(csv.strip().splitlines()) == 61
