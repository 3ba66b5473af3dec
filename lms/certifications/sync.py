"""Apply loaded certification programs: new immutable versions when a program changes.

When a new version changes the requirements, holders of earlier versions are flagged:
their next renewal needs the version's delta track, and they are told once.
"""

from __future__ import annotations

from sqlalchemy import select

from lms.accounts.models import User
from lms.catalog.sync import SyncReport
from lms.certifications import notices
from lms.certifications.loader import CertificationProgram, LoadedProgram
from lms.certifications.models import Certificate, CertificateEvent, Program, ProgramVersion
from lms.core import clock, settings
from lms.extensions import db

# When service.award_due_everyone last looked (service sits above sync, so it lives here).
SWEPT_SETTING = "certificates_swept_at"


def apply(loaded: CertificationProgram, report: SyncReport) -> None:
    existing = {p.code: p for p in db.session.scalars(select(Program))}
    for program in loaded.programs:
        _sync_one(program, existing.get(program.spec.code), report)
    now = clock.now()
    for code, program in existing.items():
        if code not in loaded.codes and program.archived_at is None:
            program.archived_at = now  # certificates already issued keep verifying
            report.archived.append(f"certification {code}")
    if any(line.startswith("certification ") for line in report.created + report.changed):
        settings.put(SWEPT_SETTING, None)  # requirements changed: look at everyone again
    db.session.flush()


def _sync_one(loaded: LoadedProgram, program: Program | None, report: SyncReport) -> None:
    code = loaded.spec.code
    if program is None:
        program = Program(code=code)
        db.session.add(program)
        db.session.flush()
        program.current_version_id = _publish(program, loaded, 1).id
        report.created.append(f"certification {code} (version 1)")
        return
    notes = []
    if program.archived_at is not None:
        program.archived_at = None
        notes.append("restored from archive")
    current = program.current_version
    if current is None or current.content_hash != loaded.content_hash:
        number = (current.number if current else 0) + 1
        version = _publish(program, loaded, number)
        program.current_version_id = version.id
        notes.append(f"new version {number}")
        if current is not None and current.requirements_hash != loaded.requirements_hash:
            notes.append(_flag_holders(program, version))
    if notes:
        report.changed.append(f"certification {code} ({'; '.join(notes)})")
    else:
        report.unchanged.append(f"certification {code}")


def _publish(program: Program, loaded: LoadedProgram, number: int) -> ProgramVersion:
    spec = loaded.spec
    version = ProgramVersion(
        program_id=program.id, number=number, name=spec.name, level=spec.level,
        description=spec.description, requirements=spec.requirements.model_dump(),
        validity_months=spec.validity_months, renewal_window_days=spec.renewal_window_days,
        grace_days=spec.grace_days, renewal=spec.renewal.model_dump(),
        delta_track=spec.delta_track, reminder_days=list(spec.reminder_days),
        job_roles=list(spec.job_roles), requirements_hash=loaded.requirements_hash,
        content_hash=loaded.content_hash, published_at=clock.now())
    db.session.add(version)
    db.session.flush()
    return version


def _flag_holders(program: Program, version: ProgramVersion) -> str:
    """Holders of older versions whose certificate can still be renewed need the delta track."""
    if not version.delta_track:
        return "requirements changed; no delta_track, so holders renew as before"
    now = clock.now()
    rows = db.session.execute(
        select(Certificate, User.email).join(User, User.id == Certificate.user_id)
        .where(Certificate.program_id == program.id,
               Certificate.program_version_number < version.number,
               Certificate.revoked_at.is_(None), Certificate.superseded_at.is_(None),
               Certificate.grace_ends_at > now)).all()
    for certificate, email in rows:
        certificate.delta_track = version.delta_track
        certificate.delta_flagged_at = now
        db.session.add(CertificateEvent(
            certificate_id=certificate.id, at=now, kind="delta_flagged",
            detail=f"version {version.number} changed the requirements; the next renewal "
                   f"needs the track '{version.delta_track}'"))
        notices.notify(certificate, f"delta-v{version.number}", to=email,
                       subject=f"{version.name}: what your next renewal needs",
                       template="certificate_delta", version=version)
    db.session.flush()
    return f"{len(rows)} holder(s) flagged for the delta track {version.delta_track}"
