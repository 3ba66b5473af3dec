"""Journey pages and actions: sign-offs by the owner only (own organisation, own person),
evidence that must be given, files kept and served in scope, due dates moved by vendor
admins with a reason, and every journey URL not found for another partner."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import select

from lms.core import clock
from lms.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from lms.extensions import db
from lms.journeys import nudges, service
from lms.journeys.models import EvidenceFile, JourneyEvent, JourneyNudge
from tests.factories import login, make_organisation, make_user
from tests.journeys.support import (
    events,
    milestone,
    org_journey,
    person_journey,
    template,
)


@pytest.fixture
def world(frozen_clock):
    northwind, rival = make_organisation("Northwind"), make_organisation("Rival Reseller")
    return {
        "northwind": northwind, "rival": rival,
        "nw_admin": make_user(northwind, role="partner_admin", full_name="Nora Admin",
                              job_role="support"),
        "nw_learner": make_user(northwind, full_name="Nils Learner", job_role="sales"),
        "nw_presales": make_user(northwind, full_name="Pia Presales", job_role="presales"),
        "rival_admin": make_user(rival, role="partner_admin", full_name="Rita Rival"),
        "rival_learner": make_user(rival, full_name="Rufus Rival", job_role="sales"),
        "vendor_admin": make_user(role="vendor_admin", full_name="Val Vendor"),
        "channel_manager": make_user(role="channel_manager", full_name="Cam Channel"),
    }


def sign_off(client, m, *, note: str | None = None, file=None, **extra):
    data = {**extra}
    if note is not None:
        data[f"m{m.id}-note"] = note
    if file is not None:
        data[f"m{m.id}-evidence_file"] = file
    return client.post(f"/journeys/milestones/{m.id}/sign-off", data=data,
                       content_type="multipart/form-data")


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


# --- sign-offs -------------------------------------------------------------------------------


def test_a_partner_admin_signs_off_their_organisations_step(client, world):
    journey = org_journey(world["northwind"])
    portal = milestone(journey, "portal-access")
    clock.advance(timedelta(days=2))
    login(client, world["nw_admin"])
    response = sign_off(client, portal, note="Nora is the admin; three colleagues invited")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/journeys/{journey.id}#milestone-{portal.id}")
    db.session.refresh(portal)
    assert (portal.done_at, portal.done_by_id, portal.note) == (
        clock.now(), world["nw_admin"].id, "Nora is the admin; three colleagues invited")
    [signed] = events(journey, "signed_off")
    assert (signed.actor_id, signed.milestone_id) == (world["nw_admin"].id, portal.id)
    page = text(client.get(f"/journeys/{journey.id}"))
    assert "Nora is the admin; three colleagues invited" in page
    assert "Signed off: Partner admin named and portal access set up." in page


def test_signing_off_from_the_organisation_page_returns_there(client, world):
    organisation = world["northwind"]
    portal = milestone(org_journey(organisation), "portal-access")
    login(client, world["nw_admin"])
    response = sign_off(client, portal, return_to="organisation")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(
        f"/organisations/{organisation.id}/onboarding#milestone-{portal.id}")


def test_another_organisations_step_is_not_found_and_unchanged(client, world):
    theirs = milestone(org_journey(world["rival"]), "portal-access")
    login(client, world["nw_admin"])
    response = sign_off(client, theirs, note="Not mine to sign")
    assert response.status_code == 404
    assert "Rival" not in text(response)
    db.session.refresh(theirs)
    assert theirs.done_at is None and theirs.note is None
    assert events(theirs.journey, "signed_off") == []
    # ...nor can the service be talked into it.
    with pytest.raises(NotFound):
        service.sign_off(theirs.id, actor=world["nw_admin"])


def test_a_vendor_owned_step_of_their_own_organisation_is_forbidden(client, world):
    agreement = milestone(org_journey(world["northwind"]), "agreement-signed")
    login(client, world["nw_admin"])
    response = sign_off(client, agreement,
                        file=(io.BytesIO(b"%PDF-1.4 fake"), "agreement.pdf"))
    assert response.status_code == 403
    db.session.refresh(agreement)
    assert agreement.done_at is None
    assert db.session.scalar(select(EvidenceFile).where(
        EvidenceFile.milestone_id == agreement.id)) is None
    # The page offers the admin no button for it, but does for their own steps.
    page = client.get(f"/journeys/{agreement.journey_id}").get_data(as_text=True)
    assert 'data-signoff="portal-access"' in page
    assert 'data-signoff="agreement-signed"' not in page


def test_a_note_is_required_where_the_template_asks_for_one(client, world):
    deal = milestone(org_journey(world["northwind"]), "first-deal-registered")
    login(client, world["nw_admin"])
    response = sign_off(client, deal, note="   ")
    assert response.status_code == 422
    page = text(response)
    assert "Add a note saying how this was done." in page
    assert 'data-signoff="first-deal-registered"' in page  # the form, shown again
    db.session.refresh(deal)
    assert deal.done_at is None


def test_a_file_is_required_where_the_template_asks_for_one(client, world):
    agreement = milestone(org_journey(world["northwind"]), "agreement-signed")
    login(client, world["vendor_admin"])
    response = sign_off(client, agreement)
    assert response.status_code == 422
    assert "Attach the file that shows this was done." in text(response)
    db.session.refresh(agreement)
    assert agreement.done_at is None


def test_a_refused_sign_off_shows_the_form_again_with_the_note(client, world):
    plan = milestone(org_journey(world["northwind"]), "joint-business-plan")
    login(client, world["nw_admin"])
    neither = sign_off(client, plan, note="")
    assert neither.status_code == 422
    assert "Add a note or attach a file as evidence." in text(neither)
    empty_file = sign_off(client, plan, note="Targets: EMEA mid-market <b>2026</b>",
                          file=(io.BytesIO(b""), "plan.pdf"))
    assert empty_file.status_code == 422
    page = empty_file.get_data(as_text=True)
    assert "The file is empty." in page
    # What they typed is kept (and escaped), so nothing is lost.
    assert "Targets: EMEA mid-market &lt;b&gt;2026&lt;/b&gt;</textarea>" in page
    db.session.refresh(plan)
    assert plan.done_at is None and plan.evidence_file is None


def test_an_evidence_file_is_kept_and_served_only_in_scope(client, world):
    plan = milestone(org_journey(world["northwind"]), "joint-business-plan")
    login(client, world["nw_admin"])
    content = b"%PDF-1.4\nJoint business plan 2026\n"
    response = sign_off(client, plan, file=(io.BytesIO(content), "plan 2026.pdf",
                                            "application/pdf"))
    assert response.status_code == 303
    db.session.refresh(plan)
    stored = plan.evidence_file
    assert (stored.filename, stored.content_type, stored.size, stored.data,
            stored.uploaded_by_id) == ("plan 2026.pdf", "application/pdf", len(content),
                                       content, world["nw_admin"].id)
    assert plan.done_at == clock.now() and plan.note is None

    url = f"/journeys/milestones/{plan.id}/evidence"
    for viewer in ("nw_admin", "vendor_admin", "channel_manager"):
        login(client, world[viewer])
        download = client.get(url)
        assert download.status_code == 200, viewer
        assert download.data == content
        assert download.mimetype == "application/pdf"  # inert, but still an attachment
        assert download.headers["Content-Disposition"] == 'attachment; filename="plan 2026.pdf"'
        assert download.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    for viewer in ("rival_admin", "rival_learner", "nw_learner"):
        login(client, world[viewer])
        assert client.get(url).status_code == 404, viewer
    # The organisation page links the file for those who may see it.
    login(client, world["nw_admin"])
    assert url in client.get(f"/organisations/{world['northwind'].id}/onboarding") \
        .get_data(as_text=True)


@pytest.mark.parametrize(("name", "declared"), [
    ("steal.js", "text/javascript"), ("page.html", "text/html"), ("pic.svg", "image/svg+xml")])
def test_an_uploaded_file_cannot_run_as_a_script_or_page_of_the_app(client, world, name,
                                                                      declared):
    plan = milestone(org_journey(world["northwind"]), "joint-business-plan")
    login(client, world["nw_admin"])
    body = b"fetch('/admin/users').then(r => r.text()).then(alert)"
    assert sign_off(client, plan, file=(io.BytesIO(body), name, declared)).status_code == 303
    download = client.get(f"/journeys/milestones/{plan.id}/evidence")
    assert download.status_code == 200 and download.data == body
    headers = download.headers
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers.getlist("Content-Security-Policy") == ["sandbox; default-src 'none'"]


def test_a_step_without_a_file_has_no_download(client, world):
    portal = milestone(org_journey(world["northwind"]), "portal-access")
    service.sign_off(portal.id, actor=world["nw_admin"])
    login(client, world["nw_admin"])
    assert client.get(f"/journeys/milestones/{portal.id}/evidence").status_code == 404


def test_a_file_over_the_limit_is_refused(world, monkeypatch):
    monkeypatch.setattr(service, "MAX_EVIDENCE_BYTES", 10)
    plan = milestone(org_journey(world["northwind"]), "joint-business-plan")
    with pytest.raises(Invalid) as refused:
        service.sign_off(plan.id, actor=world["nw_admin"],
                         upload=service.Upload("big.pdf", "application/pdf", b"x" * 11))
    assert refused.value.field == "evidence_file"
    assert plan.done_at is None


def test_learners_sign_off_only_their_own_steps(client, world):
    learner = world["nw_learner"]
    own = milestone(person_journey(learner), "meet-your-admin")
    login(client, learner)
    assert sign_off(client, own, note="Met Nora on Monday").status_code == 303
    db.session.refresh(own)
    assert own.done_by_id == learner.id and own.note == "Met Nora on Monday"

    # A colleague's step, the organisation's step: not found.
    colleague = milestone(person_journey(world["nw_presales"]), "demo-signed-off")
    portal = milestone(org_journey(world["northwind"]), "portal-access")
    for other in (colleague, portal):
        assert sign_off(client, other, note="x").status_code == 404

    # Their own journey's step that the partner admin owns: forbidden.
    presales = world["nw_presales"]
    demo = milestone(person_journey(presales), "demo-signed-off")
    login(client, presales)
    response = sign_off(client, demo, note="I think it went well")
    assert response.status_code == 403
    db.session.refresh(demo)
    assert demo.done_at is None
    # ...which their admin signs off.
    login(client, world["nw_admin"])
    assert sign_off(client, demo, note="Clear demo; practise objections").status_code == 303
    db.session.refresh(demo)
    assert demo.done_by_id == world["nw_admin"].id


def test_steps_that_are_done_or_automatic_cannot_be_signed_off(client, world):
    learner = world["nw_learner"]
    journey = person_journey(learner)
    login(client, learner)
    own = milestone(journey, "meet-your-admin")
    assert sign_off(client, own).status_code == 303
    again = sign_off(client, own, note="Once more")
    assert again.status_code == 409
    db.session.refresh(own)
    assert own.note is None
    track = milestone(journey, "onboarding-essentials")
    automatic = sign_off(client, track)
    assert automatic.status_code == 409
    db.session.refresh(track)
    assert track.done_at is None
    with pytest.raises(Conflict, match="completes by itself"):
        service.sign_off(track.id, actor=learner)
    with pytest.raises(Conflict, match="already signed off"):
        service.sign_off(own.id, actor=learner)


def test_a_refused_sign_off_says_why(client, world):
    agreement = milestone(org_journey(world["northwind"]), "agreement-signed")
    login(client, world["nw_admin"])
    response = sign_off(client, agreement)
    assert response.status_code == 403
    assert "Only the vendor's partner team can sign this off." in text(response)


def test_who_may_sign_off_what(world):
    journey = org_journey(world["northwind"])
    agreement, portal = milestone(journey, "agreement-signed"), milestone(journey, "portal-access")
    may = service.may_sign_off
    assert may(world["vendor_admin"], agreement) and may(world["channel_manager"], agreement)
    assert may(world["vendor_admin"], portal)  # vendor admins may act for a partner admin
    assert not may(world["channel_manager"], portal)
    assert may(world["nw_admin"], portal) and not may(world["nw_admin"], agreement)
    assert not may(world["rival_admin"], portal) and not may(world["nw_learner"], portal)
    with pytest.raises(PermissionDenied):
        service.sign_off(portal.id, actor=world["channel_manager"])


# --- due dates -------------------------------------------------------------------------------


def test_a_vendor_admin_moves_a_due_date_with_a_reason(client, world):
    journey = org_journey(world["northwind"])
    agreement = milestone(journey, "agreement-signed")
    login(client, world["vendor_admin"])
    response = client.post(f"/journeys/milestones/{agreement.id}/due", data={
        "due_on": "2026-03-20", "reason": "Their legal team needs two more weeks"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(
        f"/journeys/{journey.id}#milestone-{agreement.id}")
    db.session.refresh(agreement)
    assert agreement.due_at == datetime(2026, 3, 20, 23, 59, 59, tzinfo=UTC)
    [moved] = events(journey, "due_changed")
    assert moved.actor_id == world["vendor_admin"].id and moved.milestone_id == agreement.id
    assert moved.detail == ("Partner agreement signed: 09 Mar 2026 → 20 Mar 2026. "
                            "Their legal team needs two more weeks")
    # No longer overdue on day 8, so no nudge either.
    clock.advance(timedelta(days=8))
    assert nudges.sweep() > 0  # other steps are overdue by now...
    assert db.session.scalar(select(JourneyNudge).where(  # ...but not this one
        JourneyNudge.milestone_id == agreement.id)) is None
    assert "Their legal team needs two more weeks" in text(client.get(f"/journeys/{journey.id}"))


def test_a_due_date_change_needs_a_reason(client, world):
    agreement = milestone(org_journey(world["northwind"]), "agreement-signed")
    before = agreement.due_at
    login(client, world["vendor_admin"])
    response = client.post(f"/journeys/milestones/{agreement.id}/due",
                           data={"due_on": "2026-03-20", "reason": "  "})
    assert response.status_code == 422
    page = text(response)
    assert "Say why the due date changes; it is logged." in page
    assert 'value="2026-03-20"' in page  # the date they chose is kept
    db.session.refresh(agreement)
    assert agreement.due_at == before
    assert events(agreement.journey, "due_changed") == []
    with pytest.raises(Invalid) as refused:
        service.change_due_date(agreement.id, due_on=date(2026, 3, 20), reason="",
                                actor=world["vendor_admin"])
    assert refused.value.field == "reason"


def test_a_due_date_cannot_go_before_the_start_or_move_when_done(client, world):
    journey = org_journey(world["northwind"])
    agreement = milestone(journey, "agreement-signed")
    login(client, world["vendor_admin"])
    response = client.post(f"/journeys/milestones/{agreement.id}/due",
                           data={"due_on": "2026-02-01", "reason": "Backdating"})
    assert response.status_code == 422
    assert "cannot be before the journey started" in text(response)
    portal = milestone(journey, "portal-access")
    service.sign_off(portal.id, actor=world["nw_admin"])
    with pytest.raises(Conflict):
        service.change_due_date(portal.id, due_on=date(2026, 4, 1), reason="Late",
                                actor=world["vendor_admin"])
    with pytest.raises(Invalid) as refused:
        service.change_due_date(agreement.id, due_on=None, reason="Later",
                                actor=world["vendor_admin"])
    assert refused.value.field == "due_on"


@pytest.mark.parametrize("viewer", ["nw_admin", "nw_learner", "channel_manager", "rival_admin"])
def test_only_vendor_admins_move_due_dates(client, world, viewer):
    agreement = milestone(org_journey(world["northwind"]), "agreement-signed")
    before = agreement.due_at
    login(client, world[viewer])
    response = client.post(f"/journeys/milestones/{agreement.id}/due",
                           data={"due_on": "2026-04-30", "reason": "Because I can"})
    assert response.status_code == 404
    db.session.refresh(agreement)
    assert agreement.due_at == before
    with pytest.raises(PermissionDenied):
        service.change_due_date(agreement.id, due_on=date(2026, 4, 30), reason="Because",
                                actor=world[viewer])
    assert db.session.scalar(select(JourneyEvent).where(
        JourneyEvent.kind == "due_changed")) is None


# --- pages -----------------------------------------------------------------------------------


def test_a_learner_sees_their_journey_as_a_timeline(client, world):
    learner = world["nw_learner"]
    journey = person_journey(learner)
    clock.advance(timedelta(days=6))  # the first step (due day 5) is late
    login(client, learner)
    mine = client.get("/onboarding/mine")
    assert mine.status_code == 302
    assert mine.headers["Location"].endswith(f"/journeys/{journey.id}")
    page = text(client.get(f"/journeys/{journey.id}"))
    for stage in ("Week 1: access and orientation", "Days 8–30: foundations",
                  "Day 90: first certification"):
        assert stage in page
    assert 'data-milestone="meet-your-admin" data-state="overdue"' in page
    assert 'data-milestone="onboarding-essentials" data-state="open"' in page
    assert "0 of 5 milestones done" in page and "1 overdue" in page
    assert 'href="/tracks/partner-onboarding-essentials"' in page
    assert "History" not in page  # the audit trail is for admins


def test_a_learner_with_no_journey_or_several_sees_a_list(client, world):
    learner = world["nw_learner"]
    support = next(t for t in service.live_templates("person") if t.code == "new-support")
    service.start(support.id, user_id=learner.id, actor=world["vendor_admin"])
    login(client, learner)
    page = client.get("/onboarding/mine")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "New seller onboarding" in html and "New support engineer onboarding" in html

    template("new-sales").archived_at = clock.now()
    db.session.flush()
    nobody = make_user(world["northwind"], job_role="sales")
    login(client, nobody)
    response = client.get("/onboarding/mine")
    assert response.status_code == 200
    assert "You have no onboarding journey" in text(response)


def test_the_organisation_page_shows_its_journey_and_its_staff(client, world):
    organisation = world["northwind"]
    login(client, world["nw_admin"])
    response = client.get(f"/organisations/{organisation.id}/onboarding")
    assert response.status_code == 200
    page = text(response)
    assert f'data-journey="{org_journey(organisation).id}"' in page
    assert "Partner onboarding" in page
    assert 'data-signoff="portal-access"' in page and 'data-signoff="agreement-signed"' not in page
    staff_rows = [person_journey(world[key]).id for key in ("nw_admin", "nw_learner",
                                                            "nw_presales")]
    assert sorted(int(row) for row in re.findall(r'data-staff-journey="(\d+)"', page)) \
        == sorted(staff_rows)
    for name in ("Nora Admin", "Nils Learner", "Pia Presales"):
        assert name in page
    assert "Rival" not in page and "Rufus" not in page
    start = f'action="/organisations/{organisation.id}/onboarding/start"'
    assert start not in page  # starting by hand is for vendor admins
    login(client, world["vendor_admin"])
    assert start in client.get(f"/organisations/{organisation.id}/onboarding") \
        .get_data(as_text=True)


def test_the_journey_page_shows_the_history_to_admins(client, world):
    journey = org_journey(world["northwind"])
    service.sign_off(milestone(journey, "portal-access").id, actor=world["nw_admin"])
    login(client, world["nw_admin"])
    page = text(client.get(f"/journeys/{journey.id}"))
    assert "History" in page and "signed off: Partner admin named" in page
    assert "started: Partner onboarding (version 1)" in page
    assert f'href="/organisations/{world["northwind"].id}/onboarding"' in page


@pytest.mark.parametrize("viewer", ["nw_admin", "nw_learner", "rival_admin"])
def test_the_vendor_overview_is_for_the_vendors_team(client, world, viewer):
    login(client, world[viewer])
    assert client.get("/onboarding").status_code == 404


def test_the_vendor_overview_lists_every_partner(client, world):
    for viewer in ("vendor_admin", "channel_manager"):
        login(client, world[viewer])
        response = client.get("/onboarding")
        assert response.status_code == 200
        page = text(response)
        assert 'data-partner="Northwind"' in page and 'data-partner="Rival Reseller"' in page
        assert "<svg" in page  # the funnel chart


def test_a_person_who_moves_partner_takes_their_journey_along(client, world):
    from lms.accounts import service as accounts

    mover = world["nw_learner"]
    journey = person_journey(mover)
    service.sign_off(milestone(journey, "meet-your-admin").id, actor=mover,
                     note="Met Nora, my admin at Northwind")
    accounts.update_user(mover.id, organisation_id=world["rival"].id,
                         actor=world["vendor_admin"])
    db.session.refresh(journey)
    assert journey.organisation_id == world["rival"].id
    assert [e.kind for e in events(journey, "moved")] == ["moved"]
    # The old partner no longer sees the journey; the new partner does.
    login(client, world["nw_admin"])
    assert client.get(f"/journeys/{journey.id}").status_code == 404
    page = client.get(f"/organisations/{world['northwind'].id}/onboarding")
    assert f'data-staff-journey="{journey.id}"' not in page.get_data(as_text=True)
    login(client, world["rival_admin"])
    assert client.get(f"/journeys/{journey.id}").status_code == 200
    assert "Nils Learner" in client.get(f"/organisations/{world['rival'].id}/onboarding") \
        .get_data(as_text=True)
    # Changing something else moves nothing.
    accounts.update_user(mover.id, full_name="Nils Mover")
    assert len(events(journey, "moved")) == 1


def test_the_old_partners_sign_off_notes_and_files_stay_with_the_old_partner(client, world):
    from lms.accounts import service as accounts

    mover = world["nw_learner"]
    journey = person_journey(mover)
    meet = milestone(journey, "meet-your-admin")
    service.sign_off(meet.id, actor=mover, note="Northwind's internal runbook is at wiki/nw-42",
                     upload=service.Upload("nw-runbook.pdf", "application/pdf",
                                           b"%PDF-1.4 Northwind only"))
    evidence_url = f"/journeys/milestones/{meet.id}/evidence"
    for viewer in ("nw_admin", "nw_learner"):  # before the move: theirs to see
        login(client, world[viewer])
        assert "wiki/nw-42" in text(client.get(f"/journeys/{journey.id}")), viewer
        assert client.get(evidence_url).status_code == 200, viewer
    accounts.update_user(mover.id, organisation_id=world["rival"].id,
                         actor=world["vendor_admin"])
    evidence_url = f"/journeys/milestones/{meet.id}/evidence"

    # The new partner (and the person, now theirs) sees the step done, not what was given.
    for viewer in ("rival_admin", "nw_learner"):
        login(client, world[viewer])
        page = text(client.get(f"/journeys/{journey.id}"))
        assert 'data-milestone="meet-your-admin" data-state="done"' in page, viewer
        assert "wiki/nw-42" not in page and "nw-runbook.pdf" not in page, viewer
        assert "Signed off at a previous partner" in page, viewer
        assert client.get(evidence_url).status_code == 404, viewer
    login(client, world["rival_admin"])
    assert "wiki/nw-42" not in text(client.get(f"/organisations/{world['rival'].id}/onboarding"))

    # The old partner keeps them, on its onboarding page, and can still download the file.
    login(client, world["nw_admin"])
    page = text(client.get(f"/organisations/{world['northwind'].id}/onboarding"))
    assert "Sign-offs for people who have moved on" in page
    assert "wiki/nw-42" in page and evidence_url in page and "Nils Learner" in page
    assert client.get(evidence_url).data == b"%PDF-1.4 Northwind only"

    # The vendor sees everything, wherever the journey is now.
    login(client, world["vendor_admin"])
    page = text(client.get(f"/journeys/{journey.id}"))
    assert "wiki/nw-42" in page and "nw-runbook.pdf" in page
    assert client.get(evidence_url).status_code == 200
