"""Programs as code: content checks that name file, line and field; new versions; and delta
recertification when a program's requirements change."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.certifications import lifecycle, service
from lms.certifications.models import (
    Certificate,
    CertificateEvent,
    CertificateNotice,
    Program,
    ProgramVersion,
)
from lms.content import load_all, sync_all
from lms.core import clock
from lms.core.content_files import ContentError
from lms.core.mail import OutboxMessage
from lms.extensions import db
from tests.certifications.test_issuing import (
    RENEWAL,
    TA,
    certificates,
    complete_track,
    learner,
    pass_exam,
    remaining,
    standing,
)
from tests.conftest import CONTENT
from tests.factories import make_user

FILE = "content/certifications/technical-associate.yml"


@pytest.fixture
def root(tmp_path, monkeypatch):
    """A copy of the shipped content/ to edit; problems show paths relative to tmp_path."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(CONTENT, tmp_path / "content")
    return tmp_path / "content"


def edit(root, name: str, old: str, new: str) -> None:
    path = root / "certifications" / f"{name}.yml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def problems(root) -> list[str]:
    with pytest.raises(ContentError) as error:
        load_all(root)
    return [str(problem) for problem in error.value.problems]


def test_the_shipped_programs_load(root):
    certifications = load_all(root).certifications
    assert certifications.codes == {"technical-associate", "sales-professional",
                                    "solution-architect"}
    by_code = {p.spec.code: p.spec for p in certifications.programs}
    architect = by_code["solution-architect"]
    assert architect.reminder_days == [90, 30, 7, 0]  # the default
    assert by_code["sales-professional"].reminder_days == [60, 30, 7, 0]
    assert (architect.renewal_window_days, architect.grace_days) == (90, 30)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("assessments: [technical-associate-exam]",
     "assessments: [technical-associate-exam]\n  tracks: [no-such-track]",
     f"{FILE}:11: requirements.tracks.0: unknown track 'no-such-track'"),
    ("assessments: [technical-associate-exam]", "assessments: [no-such-exam]",
     f"{FILE}:10: requirements.assessments.0: unknown assessment 'no-such-exam'"),
    ("assessment: technical-associate-renewal", "assessment: renewal-exam",
     f"{FILE}:15: renewal.assessment: unknown assessment 'renewal-exam'"),
    ("job_roles: [technical, presales]", "job_roles: [technical, astronaut]",
     f"{FILE}:17: job_roles.1: unknown job role 'astronaut' "
     "(program.yml lists: presales, sales, support, technical)"),
    ("assessments: [technical-associate-exam]",
     "assessments: [technical-associate-exam]\n  certifications: [technical-associate]",
     f"{FILE}:11: requirements.certifications.0: a program cannot require itself"),
    ("renewal_window_days: 90", "renewal_window_days: 800",
     f"{FILE}:12: renewal_window_days: must be shorter than the validity (24 month(s))"),
    ("renewal:\n  assessment: technical-associate-renewal", "renewal: {}",
     f"{FILE}:14: renewal: a renewal needs an assessment, tracks, or both"),
    ("requirements:\n  assessments: [technical-associate-exam]", "requirements: {}",
     f"{FILE}:9: requirements: name at least one track, assessment or certification"),
    ("level: Associate", "level: Grandmaster",
     f"{FILE}:3: level: input should be 'Associate', 'Professional' or 'Expert'"),
    ("validity_months: 24", "validity_months: 0",
     f"{FILE}:11: validity_months: input should be greater than or equal to 1"),
    ("reminder_days: [90, 30, 7, 0]", "reminder_days: [90, 30, 30, 0]",
     f"{FILE}:16: reminder_days: each day may appear once"),
    ("reminder_days:", "delta_track: no-such-track\nreminder_days:",
     f"{FILE}:16: delta_track: unknown track 'no-such-track'"),
])
def test_content_problems_name_file_line_and_field(root, old, new, expected):
    edit(root, "technical-associate", old, new)
    assert expected in problems(root)


def test_circular_requirements_are_refused(root):
    edit(root, "technical-associate", "assessments: [technical-associate-exam]",
         "assessments: [technical-associate-exam]\n  certifications: [solution-architect]")
    found = problems(root)
    assert (f"{FILE}:11: requirements.certifications.0: 'solution-architect' requires "
            "'technical-associate' in turn (a circle nobody can complete)") in found
    assert ("content/certifications/solution-architect.yml:10: requirements.certifications.0: "
            "'technical-associate' requires 'solution-architect' in turn "
            "(a circle nobody can complete)") in found


def test_unknown_and_duplicate_programs_are_refused(root):
    edit(root, "solution-architect", "certifications: [technical-associate]",
         "certifications: [network-wizard]")
    shutil.copy(root / "certifications" / "sales-professional.yml",
                root / "certifications" / "zz-copy.yml")
    found = problems(root)
    assert ("content/certifications/solution-architect.yml:10: requirements.certifications.0: "
            "unknown certification program 'network-wizard'") in found
    assert ("content/certifications/zz-copy.yml:1: code: duplicate program code "
            "'sales-professional' (also in content/certifications/sales-professional.yml)") \
        in found


def test_unknown_fields_are_refused(root):
    edit(root, "technical-associate", "grace_days: 30", "grace_days: 30\ngrace_period: 30")
    assert (f"{FILE}:14: grace_period: unknown field (check the spelling against "
            "docs/content-format.md)") in problems(root)


# --- versions --------------------------------------------------------------------------------


def program(code: str) -> Program:
    return db.session.scalar(select(Program).where(Program.code == code))


def test_a_changed_description_is_a_new_version_without_flagging_anyone(root, frozen_clock):
    user = learner()
    pass_exam(user)
    edit(root, "technical-associate", "For the engineers", "For engineers")
    report = sync_all(root)
    assert "certification technical-associate (new version 2)" in report.changed
    assert program(TA).current_version.number == 2
    [certificate] = certificates(user.id)
    assert certificate.program_version_number == 1 and certificate.delta_track is None
    # The version a certificate was earned against stays as it was.
    assert certificate.program_version.number == 1
    report = sync_all(root)  # nothing changed since
    assert "certification technical-associate" in report.unchanged


def test_removing_a_program_archives_it_and_its_certificates_keep_verifying(root,
                                                                           frozen_clock):
    user = learner()
    pass_exam(user)
    (root / "certifications" / "technical-associate.yml").unlink()
    edit(root, "solution-architect", "certifications: [technical-associate]\n", "")
    shutil.rmtree(root / "journeys")  # they wait for it too
    shutil.rmtree(root / "readiness")  # and the tier rules ask for it
    report = sync_all(root)
    assert "certification technical-associate" in report.archived
    assert program(TA).archived_at == clock.now()
    assert TA not in {v.program.code for v in service.current_versions()}
    [certificate] = certificates(user.id)
    assert lifecycle.status(certificate, clock.now()) == "active"


# --- delta recertification -------------------------------------------------------------------


def change_requirements(root) -> None:
    """Version 2: the exam and now the Technical Associate track; support-essentials covers
    what changed for holders of version 1."""
    edit(root, "technical-associate", "assessments: [technical-associate-exam]",
         "assessments: [technical-associate-exam]\n  tracks: [technical-associate]")
    edit(root, "technical-associate", "reminder_days:", "delta_track: support-essentials\n"
                                                        "reminder_days:")


def test_changed_requirements_flag_holders_for_the_delta_track(root, frozen_clock):
    holder, other = learner(), learner()
    pass_exam(holder)
    pass_exam(other)
    revoked = certificates(other.id)[0]
    vendor_admin = make_user()
    service.revoke(revoked.id, reason="Shared the exam questions", actor=vendor_admin)
    clock.advance(timedelta(days=100))

    change_requirements(root)
    report = sync_all(root)
    assert ("certification technical-associate (new version 2; 1 holder(s) flagged for the "
            "delta track support-essentials)") in report.changed
    version = program(TA).current_version
    assert (version.number, version.delta_track) == (2, "support-essentials")
    assert version.requirements["tracks"] == ["technical-associate"]

    [certificate] = certificates(holder.id)
    assert (certificate.delta_track, certificate.delta_flagged_at) == \
        ("support-essentials", clock.now())
    assert revoked.delta_track is None  # a revoked certificate is not renewable anyway
    flagged = db.session.scalars(select(CertificateEvent).where(
        CertificateEvent.certificate_id == certificate.id,
        CertificateEvent.kind == "delta_flagged")).all()
    assert len(flagged) == 1
    # Told once, by mail.
    [message] = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.to_address == holder.email,
        OutboxMessage.template == "certificate_delta")).all()
    assert message.subject == "Kestrel Certified Technical Associate: what your next renewal needs"
    assert "support-essentials" in message.body_text
    assert db.session.scalar(select(CertificateNotice.milestone).where(
        CertificateNotice.certificate_id == certificate.id,
        CertificateNotice.milestone.like("delta-%"))) == "delta-v2"
    # Syncing the same content again neither flags nor mails anyone again.
    sync_all(root)
    assert len(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.template == "certificate_delta")).all()) == 1


def test_a_flagged_holder_renews_only_with_the_delta_track(root, frozen_clock):
    holder = learner()
    complete_track(holder, "partner-onboarding-essentials")  # support-essentials needs it
    pass_exam(holder)
    [old] = certificates(holder.id)
    change_requirements(root)
    sync_all(root)

    clock.set_now(old.renewal_opens_at + timedelta(days=10))
    pass_exam(holder, RENEWAL)
    assert certificates(holder.id) == [old]  # not renewed yet: the delta track is missing
    assert standing(holder.id, TA).phase == "renew"
    assert remaining(holder.id, TA) == [
        "Complete the Support Essentials track — 0 of 4 lessons done"]

    complete_track(holder, "support-essentials")  # the track_completed event renews
    [_, renewal] = certificates(holder.id)
    assert renewal.renewal_of_id == old.id and renewal.cycle == 2
    assert renewal.program_version_number == 2 and renewal.delta_track is None
    assert renewal.expires_at == lifecycle.add_months(old.expires_at, 24)
    assert {e["kind"] for e in renewal.evidence} == {"assessment", "track", "renewal_of"}
    assert old.superseded_at == clock.now()


def test_a_delta_track_already_done_counts_as_it_stands(root, frozen_clock):
    """A completion is kept once per track version, so a holder who already did the
    current version of the delta track is not stuck: it counts for the renewal."""
    holder = learner()
    complete_track(holder, "partner-onboarding-essentials")
    complete_track(holder, "support-essentials")  # before the certificate even existed
    clock.advance(timedelta(days=1))
    pass_exam(holder)
    change_requirements(root)
    sync_all(root)
    clock.set_now(certificates(holder.id)[0].renewal_opens_at + timedelta(days=1))
    pass_exam(holder, RENEWAL)
    old, renewal = certificates(holder.id)
    assert renewal.renewal_of_id == old.id
    assert {e["kind"] for e in renewal.evidence} == {"assessment", "track", "renewal_of"}


def test_requirements_changed_without_a_delta_track_flag_nobody(root, frozen_clock):
    holder = learner()
    pass_exam(holder)
    edit(root, "technical-associate", "assessments: [technical-associate-exam]",
         "assessments: [technical-associate-exam]\n  tracks: [technical-associate]")
    report = sync_all(root)
    assert ("certification technical-associate (new version 2; requirements changed; no "
            "delta_track, so holders renew as before)") in report.changed
    assert certificates(holder.id)[0].delta_track is None
    assert db.session.scalar(select(ProgramVersion.number).join(
        Program, Program.current_version_id == ProgramVersion.id)
        .where(Program.code == TA)) == 2
    assert db.session.scalars(select(Certificate.id).where(
        Certificate.delta_track.is_not(None))).all() == []
