"""Pages issue a fixed number of SQL statements, however much data stands behind them."""

from sqlalchemy import insert

from lms.accounts.models import User
from lms.catalog.models import Assignment, LessonCompletion
from lms.core import clock, tallies
from lms.extensions import db
from lms.journeys import overview, service
from tests.factories import login, make_organisation, make_track, make_user
from tests.journeys.support import insert_partners_onboarding, milestone, org_journey


def _add_staff(organisation, count: int) -> None:
    """Bulk-insert staff with an assignment and progress each (factories are too slow here)."""
    track = make_track(lessons=2)
    first_lesson = track.current_version.courses[0].lessons[0]
    start = db.session.query(User).count()
    db.session.execute(insert(User), [
        {"email": f"bulk{start + i}@example.com", "full_name": f"Bulk {i}", "role": "learner",
         "organisation_id": organisation.id, "job_role": "sales"} for i in range(count)])
    ids = [user.id for user in db.session.query(User.id)
           .filter(User.email.like("bulk%@example.com"), User.organisation_id == organisation.id)]
    db.session.execute(insert(Assignment), [
        {"user_id": user_id, "track_id": track.id, "manual": True} for user_id in ids])
    db.session.execute(insert(LessonCompletion), [
        {"user_id": user_id, "lesson_id": first_lesson.id} for user_id in ids[::2]])
    db.session.flush()
    tallies.rebuild()  # the bulk load bypassed the writers that keep the tallies


def _count(client, count_queries, url: str) -> int:
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200
    return counter.count


def test_partner_staff_list_is_constant_in_queries(client, count_queries):
    small, large = make_organisation("Small Partner"), make_organisation("Large Partner")
    _add_staff(small, 10)
    _add_staff(large, 1000)
    vendor = make_user(role="vendor_admin")
    login(client, vendor)
    small_count = _count(client, count_queries, f"/organisations/{small.id}/staff")
    large_count = _count(client, count_queries, f"/organisations/{large.id}/staff")
    assert small_count == large_count, (small_count, large_count)
    page = client.get(f"/organisations/{large.id}/staff").get_data(as_text=True)
    assert page.count('data-person="bulk') == 50  # one page of them (tests/catalog pages on)


def test_my_learning_is_constant_in_queries(client, count_queries):
    organisation = make_organisation()
    few, many = make_user(organisation), make_user(organisation)
    for learner, tracks in ((few, 10), (many, 1000)):
        created = [make_track(lessons=2) for _ in range(tracks)]
        db.session.execute(insert(Assignment), [
            {"user_id": learner.id, "track_id": track.id, "manual": True} for track in created])
        db.session.execute(insert(LessonCompletion), [
            {"user_id": learner.id, "lesson_id": track.current_version.courses[0].lessons[0].id}
            for track in created[::3]])
    db.session.flush()
    few_count = _count(login(client, few), count_queries, "/learning")
    many_count = _count(login(client, many), count_queries, "/learning")
    assert few_count == many_count, (few_count, many_count)
    page = client.get("/learning").get_data(as_text=True)
    assert page.count("data-track=") >= 1000


def test_partner_admins_staff_list_is_constant_in_queries(client, count_queries):
    """The same, seen by each partner's own admin (the scoped path)."""
    small, large = make_organisation("Small Partner"), make_organisation("Large Partner")
    _add_staff(small, 10)
    _add_staff(large, 1000)
    counts = []
    for organisation in (small, large):
        login(client, make_user(organisation, role="partner_admin"))
        counts.append(_count(client, count_queries, f"/organisations/{organisation.id}/staff"))
    assert counts[0] == counts[1], counts


# --- onboarding journeys ---------------------------------------------------------------------


def _count_page(client, count_queries, url: str) -> tuple[int, str]:
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return counter.count, response.get_data(as_text=True)


def test_vendor_onboarding_overview_is_constant_in_queries(client, count_queries,
                                                           frozen_clock):
    """Acceptance: the same number of queries with 10 and with 1,000 partners."""
    insert_partners_onboarding(10, prefix="Small", now=clock.now())
    login(client, make_user(role="vendor_admin"))
    few, page = _count_page(client, count_queries, "/onboarding")
    assert page.count("data-partner=") == 10
    insert_partners_onboarding(990, prefix="Large", now=clock.now())
    many, page = _count_page(client, count_queries, "/onboarding")
    assert few == many, (few, many)
    assert page.count("data-partner=") == 50  # one page of them
    assert "Page 1 of 20 · 1000 partners" in page
    data = overview.vendor_overview(template_id=None, stage=None, overdue=False,
                                    stalled=False, page=1, per_page=50, now=clock.now())
    progress = [i % 4 for i in range(10)] + [i % 4 for i in range(990)]
    assert (data.started, data.completed) == (1000, progress.count(3))
    assert [step.reached for step in data.funnel] == [
        sum(1 for p in progress if p >= stage) for stage in range(3)]
    # Filters and later pages cost no more.
    for url in ("/onboarding?stalled=1", "/onboarding?overdue=1&stage=0", "/onboarding?page=7"):
        assert _count_page(client, count_queries, url)[0] == many, url


def test_organisation_onboarding_page_is_constant_in_queries(client, count_queries,
                                                             frozen_clock):
    """3 or 30 staff journeys, seen by the vendor and by the partner's own admin."""
    small, large = make_organisation("Small Partner"), make_organisation("Large Partner")
    job_roles = ("sales", "presales", "technical", "support")
    for organisation, staff in ((small, 3), (large, 30)):
        for i in range(staff):
            make_user(organisation, job_role=job_roles[i % 4])
    service.sign_off(milestone(org_journey(large), "portal-access").id,
                     actor=make_user(large, role="partner_admin"))
    counts = {}
    for organisation, expected_rows in ((small, 3), (large, 31)):
        url = f"/organisations/{organisation.id}/onboarding"
        login(client, make_user(role="vendor_admin"))
        counts[organisation.name, "vendor"], page = _count_page(client, count_queries, url)
        assert page.count("data-staff-journey=") == expected_rows
        login(client, make_user(organisation, role="partner_admin", job_role="sales"))
        counts[organisation.name, "admin"], _ = _count_page(client, count_queries, url)
    assert counts["Small Partner", "vendor"] == counts["Large Partner", "vendor"], counts
    assert counts["Small Partner", "admin"] == counts["Large Partner", "admin"], counts


# --- the partner scorecard ---------------------------------------------------------------------


def test_scorecard_partner_page_is_constant_in_queries(client, count_queries, frozen_clock):
    """One import and no snapshot, then 30 imports by 30 people and 8 closed quarters."""
    from datetime import UTC, date, datetime, timedelta

    from lms.scorecard import periods
    from tests.scorecard.support import ALL_GREEN, put_readiness, put_values

    partner = make_organisation("Counted Partner")
    put_readiness(partner, 80, "green")
    put_values(partner, ALL_GREEN, actor=make_user(role="channel_manager"))
    login(client, make_user(role="vendor_admin"))
    url = f"/scorecard/partners/{partner.id}"
    few, page = _count_page(client, count_queries, url)
    assert page.count('class="sc-log"') == 1  # the imports; no snapshot yet

    today = clock.now().date()
    for day in range(1, 31):  # each import by someone else, with a value of most metrics
        put_values(partner, {code: (value + day, today - timedelta(days=3 * day))
                             for code, value in ALL_GREEN.items() if code != "joint_roadmap"},
                   actor=make_user(role="channel_manager"), file_name=f"day-{day}.csv")
    for year in (2024, 2025):
        for month in (1, 4, 7, 10):  # each closed while it was the current quarter
            periods.close(date(year, month, 1), actor_id=None,
                          now=datetime(year, month, 2, 9, tzinfo=UTC))
    many, page = _count_page(client, count_queries, url)
    assert page.count("/scorecard/imports/") >= 31 and page.count("#partner-") == 8
    assert few == many, (few, many)


def test_scorecard_imports_list_is_constant_in_queries(client, count_queries, frozen_clock):
    """The list names who ran each import: 1 import, then 30 by 30 different people."""
    from tests.scorecard.support import put_values

    partner = make_organisation("Listed Partner")
    put_values(partner, {"mdf_spend": 10}, actor=make_user(role="channel_manager"))
    login(client, make_user(role="vendor_admin"))
    few, _ = _count_page(client, count_queries, "/scorecard/imports")
    for number in range(1, 31):
        put_values(partner, {"mdf_spend": 10 + number}, file_name=f"list-{number}.csv",
                   actor=make_user(role="channel_manager", full_name=f"Importer {number}"))
    many, page = _count_page(client, count_queries, "/scorecard/imports")
    assert "Importer 30" in page and "Importer 1<" in page
    assert few == many, (few, many)


def test_readiness_recompute_of_everyone_is_constant_in_queries(count_queries, frozen_clock):
    """The hourly recompute: the same statements for a few partners as for many with
    staff and certificates (one gather, the names, one upsert per thousand scores)."""
    from datetime import timedelta

    from lms.readiness import service as readiness
    from tests.certifications.support import insert_staff_with_certificates

    make_organisation("First Scored")
    readiness.recompute()  # SQLAlchemy compiles and caches the statements once
    with count_queries() as counter:
        few_scored = readiness.recompute()
    few = counter.count
    for number in range(12):
        partner = make_organisation(f"Scored {number}", tier="gold")
        _add_staff(partner, 5)
        insert_staff_with_certificates(partner, 4, "technical-associate",
                                       issued_at=frozen_clock - timedelta(days=number * 50))
    with count_queries() as counter:
        many_scored = readiness.recompute()
    assert many_scored == few_scored + 12
    assert counter.count == few, (few, counter.count)


def _outbox_message(to: str, template: str, created_at):
    from lms.core import tallies
    from lms.core.mail import OUTBOX_TALLIES, OutboxMessage

    db.session.add(OutboxMessage(to_address=to, subject="Hello", body_text="Hello",
                                 template=template, created_at=created_at))
    db.session.flush()
    tallies.rebuild(OUTBOX_TALLIES.values())


def test_the_outbox_is_constant_in_queries(client, count_queries, frozen_clock):
    login(client, make_user(role="vendor_admin"))
    _outbox_message("one@example.com", "invitation", frozen_clock)
    with count_queries() as few:
        assert client.get("/admin/outbox").status_code == 200
    for n in range(200):
        _outbox_message(f"n{n}@example.com", f"kind_{n % 7}", frozen_clock)
    with count_queries() as many:
        assert client.get("/admin/outbox?status=queued").status_code == 200
    assert few.count == many.count


def test_person_page_is_constant_in_queries(client, count_queries, frozen_clock):
    """Certificates, attempts, journey and last activity: the same statements for a person
    with one certificate as for one with many."""
    from datetime import timedelta

    from lms.assessments.models import Attempt
    from tests.assessments.support import CHECK, current_version
    from tests.certifications.support import insert_certificate

    organisation = make_organisation("Person Count Partner")
    few, many = make_user(organisation), make_user(organisation)
    version = current_version(CHECK)
    for person, count in ((few, 1), (many, 30)):
        for n in range(count):
            insert_certificate(person, "technical-associate",
                               issued_at=frozen_clock - timedelta(days=800 * (n + 1)), cycle=n + 1)
            db.session.add(Attempt(public_id=f"p{person.id}x{n}y".ljust(32, "0"),
                                   user_id=person.id, assessment_id=version.assessment_id,
                                   assessment_version_id=version.id, number=n + 1,
                                   max_points=15, status="submitted", percent=40.0,
                                   passed=False, submitted_at=frozen_clock))
    db.session.flush()
    login(client, make_user(role="vendor_admin"))
    few_count = _count(client, count_queries, f"/people/{few.id}")
    many_count = _count(client, count_queries, f"/people/{many.id}")
    assert few_count == many_count, (few_count, many_count)


def test_tier_change_preview_is_constant_in_queries(client, count_queries):
    """The preview of a tier change (tracks gained and lost, the new tier's demands) issues
    the same statements for a partner of 10 staff as for one of 300."""
    counts = []
    login(client, make_user(role="vendor_admin"))
    for size in (10, 300):
        organisation = make_organisation(f"Preview {size}", tier="silver")
        _add_staff(organisation, size)
        with count_queries() as counter:
            response = client.post(f"/admin/organisations/{organisation.id}/edit", data={
                "name": organisation.name, "partner_type": organisation.partner_type,
                "tier": "gold", "region": organisation.region, "status": "active"})
        assert response.status_code == 200 and b"Confirm and save" in response.data
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
