"""The person page: tracks, certificates, exam attempts, onboarding, last activity and a
reminder by hand, scoped to who may see the person, in a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lms.assessments.models import Attempt
from lms.catalog.service import complete_lesson
from lms.core.mail import OutboxMessage
from lms.extensions import db
from tests.assessments.support import CHECK, current_version
from tests.certifications.support import insert_certificate
from tests.factories import login, make_organisation, make_user

TA = "technical-associate"


def _reminders(person) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.to_address == person.email,
        OutboxMessage.template == "learning_reminder")))


def test_the_person_page_shows_certificates_attempts_journey_and_last_activity(
        client, frozen_clock):
    now = frozen_clock
    partner = make_organisation("Person Page Partner", tier="gold")
    admin = make_user(partner, role="partner_admin")
    person = make_user(partner, job_role="technical", full_name="Tara Tech",
                       password="a-long-enough-password-1")
    certificate = insert_certificate(person, TA, issued_at=now - timedelta(days=30))
    version = current_version(CHECK)
    attempt = Attempt(public_id="a" * 32, user_id=person.id, assessment_id=version.assessment_id,
                      assessment_version_id=version.id, number=1, max_points=15,
                      started_at=now - timedelta(hours=1))
    db.session.add(attempt)
    db.session.flush()
    complete_lesson(user=person, track_slug="partner-onboarding-essentials",
                    lesson_slug="partner-program-overview")
    html = login(client, admin).get(f"/people/{person.id}").get_data(as_text=True)
    assert f'data-certificate="{certificate.id}"' in html
    assert f'data-attempt="{attempt.id}"' in html and "In progress" in html
    assert "data-journey=" in html and "milestones done" in html
    assert "Last activity: none yet" not in html
    assert "Send a reminder" in html


def test_another_partners_admin_and_authors_do_not_get_the_page(client, frozen_clock):
    partner, rival = make_organisation("Own Partner"), make_organisation("Rival Partner")
    person = make_user(partner)
    for viewer in (make_user(rival, role="partner_admin"), make_user(role="author")):
        assert login(client, viewer).get(f"/people/{person.id}").status_code == 404
        assert login(client, viewer).post(f"/people/{person.id}",
                                          data={"action": "remind"}).status_code == 404
    assert _reminders(person) == []


def test_a_reminder_goes_once_a_day_and_lists_unfinished_tracks(client, frozen_clock):
    partner = make_organisation("Reminding Partner")
    admin = make_user(partner, role="partner_admin")
    person = make_user(partner, password="a-long-enough-password-1")
    login(client, admin)
    response = client.post(f"/people/{person.id}", data={"action": "remind"})
    assert response.status_code == 303
    [mail] = _reminders(person)
    assert "Partner Onboarding Essentials" in mail.body_text and "/learning" in mail.body_text
    # Pressing again the same day sends nothing more and says why.
    again = client.post(f"/people/{person.id}", data={"action": "remind"})
    assert again.status_code == 409 and "less than a day ago" in again.get_data(as_text=True)
    assert len(_reminders(person)) == 1
    assert "Send a reminder" not in client.get(f"/people/{person.id}").get_data(as_text=True)


def test_a_channel_manager_reads_the_page_but_sends_no_reminder(client, frozen_clock):
    partner = make_organisation("Read Only Partner")
    person = make_user(partner, password="a-long-enough-password-1")
    login(client, make_user(role="channel_manager"))
    assert client.get(f"/people/{person.id}").status_code == 200
    assert client.post(f"/people/{person.id}", data={"action": "remind"}).status_code == 403
    assert _reminders(person) == []


def test_the_staff_page_counts_only_staff_who_accepted(client, frozen_clock):
    from lms.accounts import service as accounts

    partner = make_organisation("Counting Partner")
    admin = make_user(partner, role="partner_admin", password="a-long-enough-password-1")
    accounts.invite_user(organisation_id=partner.id, email="pending@counting.example",
                         full_name="Pat Pending", job_role="sales", invited_by=admin)
    html = login(client, admin).get(f"/organisations/{partner.id}/staff").get_data(as_text=True)
    stat = html[html.index("data-active-staff"):]
    assert "<strong>1</strong><span>active staff (1 more invited)" in stat
    assert "Pat Pending" in html  # still listed, as invited
