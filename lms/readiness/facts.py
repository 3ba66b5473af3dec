"""The facts readiness is computed from: plain frozen values, one set per organisation.

They are shaped so that a handful of set-based queries can fill them for every organisation
at once (one row per staff member, per live certificate, per organisation and track, per
organisation), and the scoring, gaps and forecast never go back to the database. Everything
here describes one moment, the `now` the facts were gathered for.

Facts come in two levels of detail. With `detailed` they name everyone: the staff, who has
not finished each tier track, who is behind on onboarding, and each certificate's renewal
window. Without (what a recompute of every partner gathers) each of those lists is cut to
the first NAMED people by id and counted in SQL, and only the renewal windows open at the
gathered moment are kept (all the forecast's "everyone in a renewal window renews" asks
for): the stored score names as many people as the readiness page shows, and the full
lists are most of the rows a full gather would read.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from itertools import groupby
from operator import attrgetter
from typing import NamedTuple

# People a list in facts without detail names (the first by id; the rest are counted), and
# so what a stored score names per gap and per forecast horizon: what the readiness page shows.
NAMED = 8


@dataclass(frozen=True)
class StaffMember:
    """An active member of the organisation's staff (deactivated people are left out)."""

    user_id: int
    job_role: str | None  # job role code from program.yml; None when the person has none


class HeldCertificate(NamedTuple):
    """A live certificate of an active staff member: neither revoked nor superseded, and
    not expired at `now` (status active or expiring). Lapsed and grace-period certificates
    are not held: they count for nothing until renewed.

    A named tuple rather than a dataclass: a full recompute makes about 300,000 of them,
    and a tuple is made, read and freed in a third of the time (immutable all the same)."""

    user_id: int
    program_code: str
    job_role: str | None  # the holder's job role now (as on their StaffMember), not at issue
    expires_at: datetime
    # expires_at minus the program's renewal window. In facts gathered without detail, only
    # when the window is open at the gathered moment (None otherwise).
    renewal_opens_at: datetime | None = None
    # Of the program's current version: a renewal issued before expiry runs this many months
    # from the old expiry (lms.certifications.lifecycle.dates_for). Used by the forecast's
    # "everyone in a renewal window renews"; without detail, given with renewal_opens_at.
    validity_months: int | None = None

    def live_at(self, moment: datetime) -> bool:
        """Still valid at `moment` if nobody renews it (expiry is the first invalid instant)."""
        return moment < self.expires_at


@dataclass(frozen=True)
class TrackProgress:
    """One track across the organisation's active staff.

    The gather supplies a row for every track marked `required: true` in its track.yml and
    for every track that the tier rules of the organisation's tier or the next one name.
    """

    slug: str
    # `required: true` in track.yml: only these count in the track-completion component.
    required: bool
    assigned: int  # active staff who have the track assigned
    completed: int  # of those assigned, how many completed it (any version counts)
    # Active staff, assigned or not, who have not completed it and joined at least
    # new_staff_days ago (ascending ids; without detail, the first NAMED): a tier rule asks
    # a track of all staff, so someone the audience rules skipped is still behind.
    unfinished: tuple[int, ...] = ()
    # Active staff who have not completed it but joined less than new_staff_days ago: they
    # still have time, so the tier does not count them yet. `settling_ends` says when each
    # one's time runs out (ascending) and `settling` who they are, in the same order (all
    # of them, with or without detail: only people who joined lately and have not finished).
    settling: tuple[int, ...] = ()
    settling_ends: tuple[datetime, ...] = ()
    # How many staff are held to it and have not finished. Given when the gather counted
    # them without listing them all (facts without detail); otherwise taken from the list.
    unfinished_count: int = -1

    def __post_init__(self):
        if self.unfinished_count < 0:
            object.__setattr__(self, "unfinished_count", len(self.unfinished))

    @property
    def settling_count(self) -> int:
        return len(self.settling_ends)

    def run_out_by(self, moment: datetime) -> int:
        """How many newcomers' time to finish it has run out by `moment`: a newcomer counts
        from the instant their new_staff_days end (like an expiry)."""
        return bisect_right(self.settling_ends, moment)

    def behind_at(self, moment: datetime) -> int:
        """Staff held to it and not finished at `moment`, if nobody finishes meanwhile."""
        return self.unfinished_count + self.run_out_by(moment)

    def behind_ids_at(self, moment: datetime) -> tuple[int, ...]:
        """Who they are (ascending ids; without detail, the first NAMED are right)."""
        return tuple(sorted(self.unfinished + self.settling[:self.run_out_by(moment)]))


@dataclass(frozen=True)
class OnboardingFacts:
    """Onboarding journeys: the organisation's own and those of its active staff."""

    # Milestones (of all those journeys) whose due date is at or before `now`.
    milestones_due: int = 0
    # Of those, the ones done at or before their due date (done late does not count).
    milestones_done_on_time: int = 0
    # Every onboarding journey of the organisation itself is completed; True when it has
    # none (a partner that predates journeys has nothing left to finish).
    complete: bool = True
    # Titles of the organisation journey's milestones not done yet, in journey order.
    outstanding: tuple[str, ...] = ()
    # Staff with an overdue milestone in their own journey (ascending ids; without detail,
    # the first NAMED), and how many they are.
    behind: tuple[int, ...] = ()
    behind_count: int = -1

    def __post_init__(self):
        if self.behind_count < 0:
            object.__setattr__(self, "behind_count", len(self.behind))


_EXPIRES_AT = attrgetter("expires_at")
_PROGRAM_CODE = attrgetter("program_code")


@dataclass(frozen=True)
class OrganisationFacts:
    """Everything readiness needs to know about one partner organisation at one moment."""

    organisation_id: int
    tier: str  # tier code from program.yml
    staff: tuple[StaffMember, ...] = ()  # empty in facts gathered without detail
    certificates: tuple[HeldCertificate, ...] = ()
    tracks: tuple[TrackProgress, ...] = ()
    onboarding: OnboardingFacts = field(default_factory=OnboardingFacts)
    # False when gathered without detail (see the module's docstring): lists of people are
    # cut to NAMED, and `candidates` stands in for the staff list.
    detailed: bool = True
    # Without detail: per certification rule of the organisation's tier or the next one,
    # keyed (program, job_roles), the staff with a qualifying job role who hold no live
    # certificate of the program at the gathered moment: the first NAMED ids and how many.
    candidates: Mapping[tuple[str, tuple[str, ...]], tuple[tuple[int, ...], int]] = \
        field(default_factory=dict)

    @cached_property
    def certificates_by_program(self) -> Mapping[str, tuple[HeldCertificate, ...]]:
        """The certificates grouped by program code (rules look at one program each), each
        group soonest expiry first."""
        # A stable sort keeps each program's certificates in expiry order (sorting and
        # grouping run in C: a full recompute groups 300,000 certificates).
        ordered = sorted(self.by_expiry, key=_PROGRAM_CODE)
        return {code: tuple(group) for code, group in groupby(ordered, key=_PROGRAM_CODE)}

    @cached_property
    def by_expiry(self) -> tuple[HeldCertificate, ...]:
        """The certificates, soonest expiry first. Scoring asks "which are live at X" for
        several moments (now and each forecast horizon); with this, each is a bisection."""
        return tuple(sorted(self.certificates, key=_EXPIRES_AT))

    @cached_property
    def expiries(self) -> tuple[datetime, ...]:
        """by_expiry's expiry dates (ascending), to bisect."""
        return tuple(map(_EXPIRES_AT, self.by_expiry))

    def live_count(self, moment: datetime) -> int:
        """How many certificates are still valid at `moment` (see HeldCertificate.live_at)."""
        return len(self.expiries) - bisect_right(self.expiries, moment)

    def expiring_between(self, start: datetime, end: datetime) -> tuple[HeldCertificate, ...]:
        """Certificates live at `start` that are no longer live at `end`, soonest first."""
        return self.by_expiry[bisect_right(self.expiries, start):
                              bisect_right(self.expiries, end)]

    def holder_expiries(self, program: str,
                        job_roles: tuple[str, ...] = ()) -> Mapping[int, datetime]:
        """Holder -> when their last certificate of `program` expires, over holders with
        one of `job_roles` (any role when empty). A holder counts at a moment while that
        last expiry is after it, so rules check this instead of every certificate again."""
        key = ("holders", program, job_roles)
        found = self.memo.get(key)
        if found is None:
            # Soonest expiry first, so each holder's last certificate is the one kept.
            found = self.memo[key] = {
                certificate.user_id: certificate.expires_at
                for certificate in self.certificates_by_program.get(program, ())
                if not job_roles or certificate.job_role in job_roles}
        return found

    def holder_count(self, program: str, job_roles: tuple[str, ...], moment: datetime) -> int:
        """len() of the holders counting at `moment` (a bisection on their last expiries)."""
        ordered = self.last_expiries(program, job_roles)
        return len(ordered) - bisect_right(ordered, moment)

    def holder_counts(self, program: str, job_roles: tuple[str, ...],
                      moments: Sequence[datetime]) -> list[int]:
        """holder_count at each of `moments` (a forecast asks for every horizon at once)."""
        ordered = self.last_expiries(program, job_roles)
        return [len(ordered) - bisect_right(ordered, moment) for moment in moments]

    def last_expiries(self, program: str, job_roles: tuple[str, ...]) -> list[datetime]:
        """holder_expiries' dates, ascending (to bisect)."""
        key = ("holder expiries", program, job_roles)
        ordered = self.memo.get(key)
        if ordered is None:
            ordered = self.memo[key] = sorted(self.holder_expiries(program, job_roles).values())
        return ordered

    @cached_property
    def memo(self) -> dict:
        """What scoring, gaps and forecasts derive from these facts, kept for the next ask:
        the facts never change, and one recompute asks the same things of them many times
        (now, every horizon, both what-ifs). Not copied by with_certificates."""
        return {}

    def track(self, slug: str) -> TrackProgress | None:
        """The progress row for `slug`, or None when the gather supplied none."""
        return self._tracks_by_slug.get(slug)

    @cached_property
    def _tracks_by_slug(self) -> Mapping[str, TrackProgress]:
        # Scoring, gaps and the forecast look tracks up by slug a dozen times per partner.
        return {progress.slug: progress for progress in self.tracks}

    def with_certificates(self, certificates: tuple[HeldCertificate, ...]) -> OrganisationFacts:
        """The same facts holding other certificates (the forecast's what-ifs)."""
        return replace(self, certificates=certificates)


@dataclass(frozen=True)
class Names:
    """Display names for codes, passed in by the caller (from content/ or the database).

    A code without a name is shown title-cased ("technical-associate" becomes "Technical
    Associate"), so sentences stay readable when a mapping is incomplete.
    """

    programs: Mapping[str, str] = field(default_factory=dict)
    tracks: Mapping[str, str] = field(default_factory=dict)
    tiers: Mapping[str, str] = field(default_factory=dict)
    job_roles: Mapping[str, str] = field(default_factory=dict)

    def program(self, code: str) -> str:
        return self.programs.get(code) or _titled(code)

    def track(self, slug: str) -> str:
        return self.tracks.get(slug) or _titled(slug)

    def tier(self, code: str) -> str:
        return self.tiers.get(code) or _titled(code)

    def job_role(self, code: str) -> str:
        return self.job_roles.get(code) or _titled(code)


def _titled(code: str) -> str:
    return " ".join(part.capitalize() for part in code.split("-"))
