"""Vendor administration of organisations and people; partner admins managing staff."""

import pytest
from sqlalchemy import func, select

from lms.accounts import service as accounts
from lms.accounts.models import Organisation, User
from lms.catalog.models import Assignment, Track
from lms.core import tallies
from lms.core.mail import OUTBOX_TALLIES, OutboxMessage
from lms.extensions import db
from tests.factories import login, make_organisation, make_user


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_vendor_admin_creates_an_organisation(client):
    login(client, make_user(role="vendor_admin"))
    response = client.post("/admin/organisations/new", data={
        "name": "Contoso Cyber", "partner_type": "msp", "tier": "silver", "region": "apac",
        "status": "active"})
    assert response.status_code == 302
    organisation = db.session.scalar(select(Organisation).where(
        Organisation.name == "Contoso Cyber"))
    assert (organisation.partner_type, organisation.tier, organisation.region) == (
        "msp", "silver", "apac")


def test_duplicate_organisation_name_rerenders_with_input(client):
    make_organisation("Contoso Cyber")
    login(client, make_user(role="vendor_admin"))
    before = _count(Organisation)
    response = client.post("/admin/organisations/new", data={
        "name": "CONTOSO cyber", "partner_type": "msp", "tier": "silver", "region": "apac",
        "status": "active"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "already exists" in page and 'value="CONTOSO cyber"' in page
    assert '<option selected value="apac">' in page or 'value="apac" selected' in page
    assert _count(Organisation) == before


def test_unknown_tier_is_refused(client):
    login(client, make_user(role="vendor_admin"))
    response = client.post("/admin/organisations/new", data={
        "name": "Diamond Corp", "partner_type": "msp", "tier": "diamond", "region": "apac",
        "status": "active"})
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)


def _slugs(user) -> set[str]:
    return set(db.session.scalars(select(Track.slug).join(Assignment).where(
        Assignment.user_id == user.id)))


def test_changing_tier_in_the_ui_previews_then_reassigns_tracks_and_tells_staff(client):
    organisation = make_organisation(tier="silver")
    learner = make_user(organisation, job_role="technical", password="a-long-enough-password-1")
    invited = make_user(organisation, job_role="technical")  # no password: not yet arrived
    colleague = make_user(organisation, job_role="sales", password="a-long-enough-password-2")
    before = {person.id: _slugs(person) for person in (learner, invited, colleague)}
    login(client, make_user(role="vendor_admin"))
    change = {"name": organisation.name, "partner_type": "reseller", "tier": "gold",
              "region": "emea", "status": "active"}

    # First the preview: nothing is saved, and the page says what would happen.
    preview = client.post(f"/admin/organisations/{organisation.id}/edit", data=change)
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert "Not saved yet" in page and "Confirm and save" in page
    assert "data-track-effect=" in page and "Solution Architecture" in page
    assert "Gold asks for" in page and "data-tier-standing" in page
    db.session.refresh(organisation)
    assert organisation.tier == "silver"
    assert {person.id: _slugs(person) for person in (learner, invited, colleague)} == before
    assert _count(OutboxMessage) == 0

    # A confirm for other values than those posted shows the preview again.
    stale = client.post(f"/admin/organisations/{organisation.id}/edit",
                        data={**change, "confirm": "reseller|platinum|emea"})
    assert stale.status_code == 200 and organisation.tier == "silver"

    confirmed = client.post(f"/admin/organisations/{organisation.id}/edit",
                            data={**change, "confirm": "reseller|gold|emea"})
    assert confirmed.status_code == 302
    assert "solution-architecture" in _slugs(learner)
    mails = {m.to_address: m for m in db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.template == "tracks_assigned"))}
    # One mail to each person who arrived and gained a track; it names the new tracks.
    gained = {p.email for p in (learner, colleague) if _slugs(p) - before[p.id]}
    assert set(mails) == gained and learner.email in gained
    assert "Solution Architecture" in mails[learner.email].body_text


def test_a_name_or_status_change_saves_without_a_preview(client):
    organisation = make_organisation(tier="silver")
    login(client, make_user(role="vendor_admin"))
    response = client.post(f"/admin/organisations/{organisation.id}/edit", data={
        "name": "Renamed Partner", "partner_type": organisation.partner_type,
        "tier": "silver", "region": organisation.region, "status": "active"})
    assert response.status_code == 302


def test_partner_admin_invites_and_the_form_keeps_input_on_error(client):
    organisation = make_organisation()
    admin = make_user(organisation, role="partner_admin")
    make_user(organisation, email="taken@example.com")
    login(client, admin)
    response = client.post(f"/organisations/{organisation.id}/staff/invite", data={
        "full_name": "Tina Taken", "email": "TAKEN@example.com", "job_role": "support",
        "role": "learner"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "already on your team" in page and 'value="Tina Taken"' in page
    assert _count(OutboxMessage) == 0

    response = client.post(f"/organisations/{organisation.id}/staff/invite", data={
        "full_name": "Nina New", "email": "nina@example.com", "job_role": "support",
        "role": "learner"})
    assert response.status_code == 302
    nina = accounts.get_user_by_email("nina@example.com")
    assert nina.organisation_id == organisation.id and nina.password_hash is None
    message = db.session.scalar(select(OutboxMessage))
    assert message.to_address == "nina@example.com" and "/invitations/" in message.body_text
    staff = client.get(f"/organisations/{organisation.id}/staff").get_data(as_text=True)
    assert "Nina New" in staff and "Invited" in staff


def test_partner_admin_deactivates_and_reactivates(client):
    organisation = make_organisation()
    admin = make_user(organisation, role="partner_admin")
    learner = make_user(organisation)
    login(client, admin)
    assert client.post(f"/people/{learner.id}", data={"action": "deactivate"}).status_code == 303
    assert not db.session.get(User, learner.id).active
    assert client.post(f"/people/{learner.id}", data={"action": "reactivate"}).status_code == 303
    assert db.session.get(User, learner.id).active
    # Nobody deactivates themself by accident.
    response = client.post(f"/people/{admin.id}", data={"action": "deactivate"})
    assert response.status_code == 422
    assert db.session.get(User, admin.id).active


def test_partner_admin_changes_a_job_role(client):
    organisation = make_organisation()
    admin = make_user(organisation, role="partner_admin")
    learner = make_user(organisation, job_role="sales")
    login(client, admin)
    response = client.post(f"/people/{learner.id}", data={
        "action": "job_role", "role-job_role": "technical"})
    assert response.status_code == 303
    assert db.session.get(User, learner.id).job_role == "technical"


def test_vendor_admin_edits_a_person_and_creates_vendor_staff(client):
    vendor = make_user(role="vendor_admin")
    organisation = make_organisation()
    learner = make_user(organisation, full_name="Old Name")
    login(client, vendor)
    response = client.post(f"/admin/users/{learner.id}/edit", data={
        "full_name": "New Name", "email": learner.email, "role": "partner_admin",
        "organisation_id": str(organisation.id), "job_role": "sales", "active": "y"})
    assert response.status_code == 302
    changed = db.session.get(User, learner.id)
    assert (changed.full_name, changed.role) == ("New Name", "partner_admin")

    response = client.post("/admin/users/new", data={
        "full_name": "Vera Vendor", "email": "vera@vendor.example", "role": "author",
        "organisation_id": "", "job_role": ""})
    assert response.status_code == 302
    vera = accounts.get_user_by_email("vera@vendor.example")
    assert vera.role == "author" and vera.organisation_id is None
    assert db.session.scalar(select(OutboxMessage.subject).where(
        OutboxMessage.to_address == "vera@vendor.example")) == \
        "You are invited to the Kestrel Security partner academy"


def test_partner_staff_need_an_organisation(client):
    login(client, make_user(role="vendor_admin"))
    response = client.post("/admin/users/new", data={
        "full_name": "No Org", "email": "noorg@example.com", "role": "learner",
        "organisation_id": "", "job_role": "sales"})
    assert response.status_code == 422
    assert "must belong to an organisation" in response.get_data(as_text=True)
    assert accounts.get_user_by_email("noorg@example.com") is None


def test_outbox_is_visible_to_vendor_admins(client):
    organisation = make_organisation()
    admin = make_user(organisation, role="partner_admin")
    accounts.invite_user(organisation_id=organisation.id, email="o@example.com",
                         full_name="O", job_role="sales", invited_by=admin)
    login(client, make_user(role="vendor_admin"))
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "o@example.com" in page and "recorded but not sent" in page


def test_inviting_another_partners_person_reveals_nothing_about_them(client):
    other = make_organisation("Other Partner")
    make_user(other, email="someone@other.example", full_name="Secret Person")
    organisation = make_organisation()
    login(client, make_user(organisation, role="partner_admin"))
    response = client.post(f"/organisations/{organisation.id}/staff/invite", data={
        "full_name": "Someone", "email": "someone@other.example", "job_role": "sales",
        "role": "learner"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "cannot be invited" in page
    assert "Other Partner" not in page and "Secret Person" not in page


def test_vendor_admin_cannot_demote_or_deactivate_themself(client):
    vendor = make_user(role="vendor_admin")
    login(client, vendor)
    response = client.post(f"/admin/users/{vendor.id}/edit", data={
        "full_name": vendor.full_name, "email": vendor.email, "role": "author",
        "organisation_id": "", "job_role": ""})
    assert response.status_code == 422
    assert "cannot change your own role" in response.get_data(as_text=True)
    assert db.session.get(User, vendor.id).role == "vendor_admin"


def test_a_password_change_signs_out_other_sessions(client, app):
    learner = make_user(make_organisation(), password="first-password-1")
    login(client, learner)
    assert client.get("/learning").status_code == 200
    accounts.set_password(learner.id, "second-password-2")
    assert client.get("/learning").status_code == 302  # back to sign-in


def test_nul_characters_are_refused_with_a_message(client):
    organisation = make_organisation()
    login(client, make_user(organisation, role="partner_admin"))
    response = client.post(f"/organisations/{organisation.id}/staff/invite", data={
        "full_name": "Nul\x00Name", "email": "nul@example.com", "job_role": "sales",
        "role": "learner"})
    assert response.status_code == 422
    assert "NUL" in response.get_data(as_text=True)
    assert accounts.get_user_by_email("nul@example.com") is None


# --- names with text-direction controls ---------------------------------------------------

RLO_NAME = "Eve \u202edeifirev ton\u202c"


def test_invite_form_refuses_a_name_with_text_direction_controls(client):
    organisation = make_organisation()
    login(client, make_user(organisation, role="partner_admin"))
    response = client.post(f"/organisations/{organisation.id}/staff/invite", data={
        "full_name": RLO_NAME, "email": "eve@example.com", "job_role": "support",
        "role": "learner"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "invisible text-direction characters" in page
    assert f'value="{RLO_NAME}"' in page  # kept as typed, in the field, to be corrected
    assert accounts.get_user_by_email("eve@example.com") is None


def test_admin_forms_refuse_names_with_text_direction_controls(client):
    organisation = make_organisation()
    learner = make_user(organisation, full_name="Plain Name", job_role="sales")
    login(client, make_user(role="vendor_admin"))
    edited = client.post(f"/admin/users/{learner.id}/edit", data={
        "full_name": "Ana\u2067 Admin", "email": learner.email, "role": "learner",
        "organisation_id": str(organisation.id), "job_role": "sales", "active": "y"})
    assert edited.status_code == 422
    assert "invisible text-direction characters" in edited.get_data(as_text=True)
    assert db.session.get(User, learner.id).full_name == "Plain Name"
    created = client.post("/admin/users/new", data={
        "full_name": "Vera\u200f Vendor", "email": "vera@vendor.example", "role": "author",
        "organisation_id": "", "job_role": ""})
    assert created.status_code == 422
    assert accounts.get_user_by_email("vera@vendor.example") is None
    organisation_form = client.post("/admin/organisations/new", data={
        "name": "Acme\u202e Corp", "partner_type": "reseller", "tier": "gold",
        "region": "emea", "status": "active"})
    assert organisation_form.status_code == 422
    assert "invisible text-direction characters" in organisation_form.get_data(as_text=True)


@pytest.mark.parametrize("name", ["José Ñúñez", "山田 太郎", "محمد علي", "Zoë O'Brien-Smith"])
def test_real_names_in_any_script_are_accepted(name):
    organisation = make_organisation()
    person = accounts.create_user(email="p@example.com", full_name=name, role="learner",
                                  organisation_id=organisation.id, job_role="sales")
    assert person.full_name == name


def _recorded(to: str, template: str, created_at, *, sent=False, error=None) -> OutboxMessage:
    message = OutboxMessage(to_address=to, subject=f"{template} for {to}", body_text="Hello",
                            template=template, created_at=created_at,
                            sent_at=created_at if sent else None, last_error=error)
    db.session.add(message)
    db.session.flush()
    # Recorded directly, in any status: the outbox's tallies counted again.
    tallies.rebuild(OUTBOX_TALLIES.values())
    return message


def test_the_outbox_is_newest_first_filtered_and_paginated(client, frozen_clock):
    from datetime import timedelta

    now = frozen_clock
    # Recorded out of order: the page goes by when, not by row id.
    later = _recorded("ann@north.example", "invitation", now)
    earlier = _recorded("bob@south.example", "password_reset", now - timedelta(days=2),
                        sent=True)
    failed = _recorded("cat@north.example", "invitation", now - timedelta(days=1),
                       error="SMTP unavailable")
    login(client, make_user(role="vendor_admin"))

    def shown(**query) -> list[int]:
        page = client.get("/admin/outbox", query_string=query).get_data(as_text=True)
        return [int(part.split('"')[0]) for part in page.split('data-message="')[1:]]

    everything = shown()
    mine = [later.id, failed.id, earlier.id]
    assert [i for i in everything if i in mine] == mine
    assert shown(template="invitation", recipient="NORTH") == [later.id, failed.id]
    assert shown(status="sent") == [earlier.id]
    assert shown(status="failed") == [failed.id]
    assert later.id in shown(status="queued") and failed.id not in shown(status="queued")
    assert shown(recipient="%") == [] and shown(recipient="_") == []  # no wildcards
    assert shown(status="bogus") == everything  # an unknown status is no filter
    # The totals come from the tallies: one kind and status, and everything.
    failed_invitations = client.get("/admin/outbox", query_string={
        "template": "invitation", "status": "failed"}).get_data(as_text=True)
    assert "1 message matching" in failed_invitations
    # Out-of-range numbers and NUL are refused for every page, naming the parameter.
    for query in ({"page": "99999999999999999999999"}, {"recipient": "north\x00"}):
        refused = client.get("/admin/outbox", query_string=query,
                             headers={"Accept": "application/json"})
        assert refused.status_code == 422 and refused.json["field"] == next(iter(query))

    for n in range(60):
        _recorded(f"bulk{n}@many.example", "digest", now + timedelta(minutes=n))
    first, second = shown(recipient="many.example"), shown(recipient="many.example", page=2)
    assert len(first) == 50 and len(second) == 10
    assert first[0] == max(first + second) and not set(first) & set(second)

