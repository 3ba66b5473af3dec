"""Eligibility as small named checks, each with a reason a person can read.

Pure: the service gathers a person's facts once, and these functions only look at them.
A check that is met also carries the evidence the certificate will keep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class TrackFact:
    slug: str
    title: str
    lessons_total: int = 0
    lessons_done: int = 0
    # Completions of any version, newest first: (completed_at, track_version_id, number)
    completions: tuple[tuple[datetime, int, int], ...] = ()
    current_version_id: int | None = None


@dataclass(frozen=True)
class AttemptFact:
    attempt_id: int
    public_id: str
    percent: float
    passed: bool
    submitted_at: datetime
    version_number: int


@dataclass(frozen=True)
class AssessmentFact:
    slug: str
    title: str
    pass_mark: int
    attempts: tuple[AttemptFact, ...] = ()  # finished attempts, any order
    max_attempts: int | None = None


@dataclass(frozen=True)
class HeldFact:
    code: str
    name: str
    public_id: str
    status: str
    expires_at: datetime


@dataclass
class Facts:
    """What one person has done, as far as certification requirements care."""

    now: datetime
    tracks: dict[str, TrackFact] = field(default_factory=dict)
    assessments: dict[str, AssessmentFact] = field(default_factory=dict)
    held: dict[str, HeldFact] = field(default_factory=dict)  # program code -> latest cert


@dataclass(frozen=True)
class Check:
    name: str  # what to do, e.g. "Pass the Technical Associate exam"
    done: bool
    detail: str  # where the person stands, e.g. "best score 64%, needs 70%"
    evidence: dict | None = None
    about: tuple[str, str] | None = None  # ("track" | "assessment" | "certification", slug)

    @property
    def sentence(self) -> str:
        return f"{self.name} — {self.detail}" if self.detail else self.name


def track_completed(facts: Facts, slug: str) -> Check:
    track = facts.tracks.get(slug) or TrackFact(slug, slug)
    name = f"Complete the {track.title} track"
    about = ("track", slug)
    for completed_at, version_id, number in track.completions:
        return Check(name, True, f"completed on {completed_at:%-d %b %Y}",
                     {"kind": "track", "slug": slug, "title": track.title,
                      "track_version_id": version_id, "version": number,
                      "completed_at": completed_at.isoformat()}, about)
    return Check(name, False, _progress(track), about=about)


def current_track_completed(facts: Facts, slug: str) -> Check:
    """The track as it is now: for renewals and delta tracks, the latest version counts.

    A completion is kept once per version, so "completed again since" cannot be asked of
    a track; an updated track, with its unchanged lessons carried forward, can be.
    """
    track = facts.tracks.get(slug) or TrackFact(slug, slug)
    name = f"Complete the {track.title} track"
    about = ("track", slug)
    for completed_at, version_id, number in track.completions:
        if version_id == track.current_version_id:
            return Check(name, True, f"version {number} completed on {completed_at:%-d %b %Y}",
                         {"kind": "track", "slug": slug, "title": track.title,
                          "track_version_id": version_id, "version": number,
                          "completed_at": completed_at.isoformat()}, about)
    detail = _progress(track)
    if track.completions:
        detail = f"updated since you completed it; {detail}"
    return Check(name, False, detail, about=about)


def _progress(track: TrackFact) -> str:
    if track.lessons_total:
        return f"{track.lessons_done} of {track.lessons_total} lessons done"
    return "not started"


def assessment_passed(facts: Facts, slug: str, *, since: datetime | None = None) -> Check:
    assessment = facts.assessments.get(slug) or AssessmentFact(slug, slug, 100)
    name = f"Pass the {assessment.title}"
    counted = [a for a in assessment.attempts if since is None or a.submitted_at >= since]
    passes = sorted((a for a in counted if a.passed), key=lambda a: a.submitted_at)
    if passes:
        first = passes[0]
        return Check(name, True,
                     f"passed with {first.percent:.0f}% on {first.submitted_at:%-d %b %Y}",
                     {"kind": "assessment", "slug": slug, "title": assessment.title,
                      "attempt_id": first.attempt_id, "attempt_public_id": first.public_id,
                      "percent": round(first.percent, 1), "version": first.version_number,
                      "passed_at": first.submitted_at.isoformat()}, ("assessment", slug))
    if counted:
        best = max(a.percent for a in counted)
        detail = f"best score {best:.0f}%, needs {assessment.pass_mark}%"
        if assessment.max_attempts and len(counted) >= assessment.max_attempts:
            detail += "; no attempts left (ask your partner manager)"
    elif assessment.attempts and since is not None:
        detail = f"needs a pass after {since:%-d %b %Y}"
    else:
        detail = f"not attempted yet; needs {assessment.pass_mark}%"
    return Check(name, False, detail, about=("assessment", slug))


def certification_held(facts: Facts, code: str, name: str) -> Check:
    held = facts.held.get(code)
    label = f"Hold an active {name} certification"
    about = ("certification", code)
    if held is None:
        return Check(label, False, "not earned yet", about=about)
    if held.status in ("active", "expiring"):
        return Check(label, True, f"valid until {held.expires_at:%-d %b %Y}",
                     {"kind": "certification", "code": code, "public_id": held.public_id},
                     about)
    if held.status == "expired":
        return Check(label, False, f"expired on {held.expires_at:%-d %b %Y}", about=about)
    return Check(label, False, held.status, about=about)


def initial_checks(facts: Facts, requirements: dict, program_names: dict[str, str]
                   ) -> list[Check]:
    """The program's requirements, for a first certificate."""
    checks = [track_completed(facts, slug) for slug in requirements.get("tracks", [])]
    checks += [assessment_passed(facts, slug) for slug in requirements.get("assessments", [])]
    checks += [certification_held(facts, code, program_names.get(code, code))
               for code in requirements.get("certifications", [])]
    return checks


def renewal_checks(facts: Facts, renewal: dict, *, window_opened_at: datetime,
                   delta_track: str | None) -> list[Check]:
    """Renewal: its assessment passed since the window opened; the current version of its
    tracks and of any delta track completed."""
    checks = []
    if renewal.get("assessment"):
        checks.append(assessment_passed(facts, renewal["assessment"], since=window_opened_at))
    tracks = list(renewal.get("tracks", []))
    if delta_track and delta_track not in tracks:
        tracks.append(delta_track)
    checks += [current_track_completed(facts, slug) for slug in tracks]
    return checks


def after_lapse_checks(facts: Facts, requirements: dict, renewal: dict,
                       program_names: dict[str, str], *, lapsed_at: datetime) -> list[Check]:
    """Earning a lapsed certification again: the requirements, with fresh proof.

    The program's assessments must be passed after the lapse. A program without
    assessments (say, a track and another certification) asks for its renewal
    requirements after the lapse instead, so waiting out the grace period is never a
    cheaper way round a renewal.
    """
    checks = [track_completed(facts, slug) for slug in requirements.get("tracks", [])]
    checks += [assessment_passed(facts, slug, since=lapsed_at)
               for slug in requirements.get("assessments", [])]
    checks += [certification_held(facts, code, program_names.get(code, code))
               for code in requirements.get("certifications", [])]
    if not requirements.get("assessments"):
        known = {check.about for check in checks}
        checks += [check for check in renewal_checks(facts, renewal, window_opened_at=lapsed_at,
                                                     delta_track=None)
                   if check.about not in known]
    return checks


def all_done(checks: list[Check]) -> bool:
    return bool(checks) and all(check.done for check in checks)


@dataclass(frozen=True)
class RenewalHolding:
    """A program renewed by one assessment, and the person's latest certificate in it."""

    program_name: str
    status: str | None = None  # lifecycle status; None when never held
    renewal_opens_at: datetime | None = None
    expires_at: datetime | None = None
    renewable: bool = False  # inside the renewal window or the grace period
    lapsed: bool = False
    # The program takes its renewal assessment as fresh proof after a lapse (it has no
    # assessment among its requirements; see after_lapse_checks).
    renews_after_lapse: bool = False


def renewal_exam_open(holdings: list[RenewalHolding]) -> Check:
    """A renewal-only assessment is open to a holder due to renew (window, grace, or a lapse
    the program accepts), and to nobody else: it draws on the certification exam's bank."""
    names = " or ".join(sorted({h.program_name for h in holdings}))
    name = f"Hold a {names} certificate that is due for renewal"
    for holding in holdings:
        if holding.renewable or (holding.lapsed and holding.renews_after_lapse):
            return Check(name, True, f"your {holding.program_name} certificate can be renewed")
    held = [h for h in holdings if h.status is not None]
    if not held:
        return Check(name, False, f"This is the renewal exam for the {names} certification. "
                                  "It opens to holders when their certificate's renewal "
                                  "window opens.")
    waiting = sorted((h for h in held if h.status == "active"),
                     key=lambda h: h.renewal_opens_at)
    if waiting:
        first = waiting[0]
        return Check(name, False, f"This renewal exam opens on "
                                  f"{first.renewal_opens_at:%-d %b %Y}, when the renewal window "
                                  f"of your {first.program_name} certificate opens.")
    lapsed = [h for h in held if h.lapsed]
    if lapsed:
        first = lapsed[0]
        return Check(name, False, f"Your {first.program_name} certificate expired on "
                                  f"{first.expires_at:%-d %b %Y} and its grace period is over: "
                                  "earn the certification again.")
    return Check(name, False, f"Your {held[0].program_name} certificate was {held[0].status}; "
                              "there is nothing to renew.")
