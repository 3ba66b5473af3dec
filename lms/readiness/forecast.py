"""Forecasts: readiness and tier standing at each rubric horizon (30, 60, 90 days by default)
under two what-ifs, and the day a partner falls below its tier if nobody renews.

- "nobody renews": every certificate simply expires on its date;
- "everyone in a renewal window renews": each certificate whose renewal window is already
  open now is renewed before it expires, so (as lms.certifications.lifecycle dates it) it
  runs on for the program's validity from its old expiry. The others expire as they are.

Certificates expire, and newcomers' time to finish the tier's tracks (tiers.yml's
new_staff_days) runs out: from then on an unfinished track counts against the tier. Nobody
completes anything new and onboarding stays where it is: the forecast answers "what does
time alone do to this partner", not "what will people finish".

`outlook` is the fall date, what keeping the tier takes and the sentence; `forecast` adds
the horizons (six more scorings). A recompute stores both, the horizons for the readiness
page, which reads them instead of working them out.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from lms.certifications.lifecycle import add_months
from lms.readiness.facts import HeldCertificate, Names, OrganisationFacts
from lms.readiness.gaps import TierStanding, meets_at, standing
from lms.readiness.loader import CertificationRule, Rubric, TierRule, TierRules
from lms.readiness.scoring import Readiness, holders, score, totals
from lms.readiness.wording import day, plural


class Renewal:
    """"Everyone in a renewal window renews", answering for the certificates (see
    scoring.Holding) from the few whose window is open at `now` and the facts as they are,
    without rebuilding and sorting every certificate again: a recompute asks it of every
    partner at every horizon."""

    def __init__(self, facts: OrganisationFacts, now: datetime):
        self.facts, self.now = facts, now
        # (certificate, its expiry once renewed): renewed before expiry, a certificate runs
        # on from its old expiry date (as lms.certifications.lifecycle dates it).
        # (Most certificates have no window open: facts without detail give them none.)
        self.renewing = [(certificate, add_months(certificate.expires_at,
                                                  certificate.validity_months))
                         for certificate in facts.certificates
                         if certificate.renewal_opens_at is not None
                         and _window_open(certificate, now)]
        self._old = sorted(certificate.expires_at for certificate, _ in self.renewing)
        self._new = sorted(renewed for _, renewed in self.renewing)
        self._holders: dict[tuple[str, tuple[str, ...]], list[datetime]] = {}

    def live_count(self, moment: datetime) -> int:
        """Certificates valid at `moment`: the facts' count, the renewed ones moved on."""
        return (self.facts.live_count(moment)
                - (len(self._old) - bisect_right(self._old, moment))
                + (len(self._new) - bisect_right(self._new, moment)))

    def holder_count(self, program: str, job_roles: tuple[str, ...], moment: datetime) -> int:
        """Holders counting at `moment`: a holder's last expiry, later when they renew."""
        ordered = self._last_expiries(program, job_roles)
        return len(ordered) - bisect_right(ordered, moment)

    def holder_counts(self, program: str, job_roles: tuple[str, ...],
                      moments: Sequence[datetime]) -> list[int]:
        """holder_count at each of `moments`."""
        ordered = self._last_expiries(program, job_roles)
        return [len(ordered) - bisect_right(ordered, moment) for moment in moments]

    def _last_expiries(self, program: str, job_roles: tuple[str, ...]) -> list[datetime]:
        ordered = self._holders.get((program, job_roles))
        if ordered is None:
            last = self.facts.holder_expiries(program, job_roles)
            renewed_here = {}
            for certificate, renewed in self.renewing:
                if certificate.program_code == program and (
                        not job_roles or certificate.job_role in job_roles):
                    renewed_here[certificate.user_id] = max(
                        renewed_here.get(certificate.user_id, last[certificate.user_id]),
                        renewed)
            if renewed_here:
                last = {**last, **renewed_here}
                ordered = sorted(last.values())
            else:  # nobody here renews: the facts' own order
                ordered = self.facts.last_expiries(program, job_roles)
            self._holders[(program, job_roles)] = ordered
        return ordered

    def facts_renewed(self) -> OrganisationFacts:
        """The facts as if they renewed (to score and explain a what-if in full)."""
        return self.facts.with_certificates(renew_open_windows(self.facts.certificates,
                                                               self.now))


@dataclass(frozen=True)
class Scenario:
    """One what-if at one horizon: its total, health and whether the partner keeps its
    current tier, worked out without words (a recompute stores these for every partner);
    the full score and standing when asked for."""

    facts: OrganisationFacts  # as they are
    renewal: Renewal | None  # None: nobody renews
    rubric: Rubric
    tiers: TierRules
    at: datetime
    names: Names
    total: float
    health: str
    meets: bool

    @classmethod
    def at_moments(cls, facts: OrganisationFacts, renewal: Renewal | None, rubric: Rubric,
                   tiers: TierRules, moments: Sequence[datetime],
                   names: Names) -> list[Scenario]:
        """The what-if at each of `moments` (every horizon at once)."""
        points = totals(facts, rubric, tiers, moments, holding=renewal)
        kept = meets_at(facts, tiers, facts.tier, moments, holding=renewal)
        return [cls(facts, renewal, rubric, tiers, at, names, total, rubric.health(total), meets)
                for at, total, meets in zip(moments, points, kept, strict=True)]

    @cached_property
    def what_if(self) -> OrganisationFacts:
        return self.facts if self.renewal is None else self.renewal.facts_renewed()

    @cached_property
    def readiness(self) -> Readiness:
        return score(self.what_if, self.rubric, self.tiers, self.at, names=self.names)

    @cached_property
    def standing(self) -> TierStanding:
        """Against the partner's current tier, at the horizon."""
        return standing(self.what_if, self.tiers, self.facts.tier, self.at, names=self.names)


@dataclass(frozen=True)
class Horizon:
    days: int
    at: datetime
    nobody_renews: Scenario
    window_renews: Scenario  # everyone whose renewal window is open now renews
    expiring: tuple[HeldCertificate, ...]  # live now, expired by `at` unless renewed
    # Newcomers whose time to finish a tier track has run out by `at` while they have not
    # finished it (ascending ids).
    newcomers: tuple[int, ...] = ()

    @cached_property
    def text(self) -> str:
        """The horizon in a sentence (worked out when asked: a recompute stores numbers)."""
        nobody = self.nobody_renews
        return _horizon_text(self.days, self.at, self.at - timedelta(days=self.days), nobody,
                             self.window_renews, nobody.facts.tier, nobody.names)


@dataclass(frozen=True)
class RenewalNeed:
    """One certification rule the partner fails on the day it falls below its tier."""

    rule: CertificationRule
    needed: int  # how many of the expiring holders must renew to keep the rule
    expiring: tuple[int, ...]  # qualifying holders whose certificates expire by that day


@dataclass(frozen=True)
class TrackNeed:
    """A track of the tier that newcomers must finish by the day the partner falls below it,
    because their new_staff_days run out by then."""

    track: str  # slug
    count: int  # newcomers whose time runs out by then
    first_by: datetime  # when the first of them runs out of time
    user_ids: tuple[int, ...] = ()  # who, soonest first


@dataclass(frozen=True)
class Outlook:
    """When the partner falls below its tier if nobody renews, and what renewing by then
    takes, in one sentence: the part of the forecast a stored score keeps (lists and risk
    flags read it). `forecast` adds the horizons."""

    meets_now: bool
    # First moment the partner stops meeting its tier if nobody renews or finishes
    # anything: a certificate's expiry, or a newcomer's time for a tier track running out.
    # None when it does not meet its tier now, or when neither can cost it the tier.
    falls_below_on: datetime | None
    within_horizon: bool  # falls_below_on is no later than the furthest horizon
    # What keeping the tier takes, each counted when it falls within the forecast (or is
    # the first fall, beyond it): renewals by the expiry that would cost the tier...
    renewals_needed: tuple[RenewalNeed, ...]
    renewals_by: datetime | None
    # ...and newcomers finishing the tier's tracks before their time runs out.
    finishing_needed: tuple[TrackNeed, ...]
    sentence: str


@dataclass(frozen=True)
class Forecast:
    organisation_id: int
    tier: str
    at: datetime  # the `now` forecast from
    meets_now: bool
    horizons: tuple[Horizon, ...]
    falls_below_on: datetime | None  # as in Outlook
    within_horizon: bool
    renewals_needed: tuple[RenewalNeed, ...]
    renewals_by: datetime | None
    finishing_needed: tuple[TrackNeed, ...]
    sentence: str


def forecast(facts: OrganisationFacts, rubric: Rubric, tiers: TierRules, now: datetime, *,
             organisation: str, names: Names | None = None) -> Forecast:
    """Readiness and tier standing at each horizon, the fall date and the sentence.

    `now` is the moment the facts were gathered for: facts without detail keep only the
    renewal windows open then, all "everyone in a renewal window renews" asks for."""
    names = names or Names()
    moments = [now + timedelta(days=days) for days in rubric.forecast_days]
    # Scoring at a moment is "nobody renews": a certificate counts only while it is live.
    nobody = Scenario.at_moments(facts, None, rubric, tiers, moments, names)
    window = Scenario.at_moments(facts, Renewal(facts, now), rubric, tiers, moments, names)
    rule = tiers.rule(facts.tier)
    horizons = [Horizon(days, at, nobody_renews, window_renews, facts.expiring_between(now, at),
                        _newcomers_run_out(facts, rule, at))
                for days, at, nobody_renews, window_renews
                in zip(rubric.forecast_days, moments, nobody, window, strict=True)]
    ahead = outlook(facts, rubric, tiers, now, organisation=organisation, names=names)
    return Forecast(
        organisation_id=facts.organisation_id, tier=facts.tier, at=now,
        meets_now=ahead.meets_now, horizons=tuple(horizons),
        falls_below_on=ahead.falls_below_on, within_horizon=ahead.within_horizon,
        renewals_needed=ahead.renewals_needed, renewals_by=ahead.renewals_by,
        finishing_needed=ahead.finishing_needed, sentence=ahead.sentence)


def outlook(facts: OrganisationFacts, rubric: Rubric, tiers: TierRules, now: datetime, *,
            organisation: str, names: Names | None = None) -> Outlook:
    """The fall date, what keeping the tier takes and the sentence, without the horizons:
    no scoring, one standing (the current one, which the gaps ask for too), a sort of each
    rule's holders' last expiries and the newcomers' deadlines.

    Expiries and newcomers' deadlines cost the tier independently (renewing does not
    finish a track), so each has its own date; the sentence names the first, and the
    second too when it also falls within the forecast."""
    names = names or Names()
    current = standing(facts, tiers, facts.tier, now, names=names)
    rule = tiers.rule(facts.tier)
    days = max(rubric.forecast_days)
    if not (current.meets and rule):
        return Outlook(current.meets, None, False, (), None, (),
                       _sentence(organisation, facts.tier, current, rule, (), False, days,
                                 now, names))
    furthest = now + timedelta(days=days)
    expiry = certifications_fall(facts, rule, now)
    deadline = _tracks_fall(facts, rule, now)
    falls_on = min((moment for moment in (expiry, deadline) if moment is not None),
                   default=None)

    def counted(moment: datetime | None) -> bool:
        return moment is not None and (moment <= furthest or moment == falls_on)

    renewals = _needs(facts, rule, now, expiry) if counted(expiry) else ()
    finishing = _finishing(facts, rule, max(furthest, deadline)) if counted(deadline) else ()
    causes = []  # (day, what prevents it)
    if renewals:
        causes.append((expiry, " and ".join(_renewal_clause(need, names) for need in renewals)))
    if finishing:
        # The same needs the page's "to keep" box lists, so the sentence and the box give
        # one number: everyone whose time runs out within the forecast, not only the first.
        causes.append((deadline, " and ".join(_finishing_clause(need, names)
                                              for need in finishing)))
    return Outlook(
        meets_now=True, falls_below_on=falls_on,
        within_horizon=falls_on is not None and falls_on <= furthest,
        renewals_needed=renewals, renewals_by=expiry if renewals else None,
        finishing_needed=finishing,
        sentence=_sentence(organisation, facts.tier, current, rule, sorted(causes),
                           bool(renewals) and not finishing, days, now, names))


def renew_open_windows(certificates: tuple[HeldCertificate, ...],
                       now: datetime) -> tuple[HeldCertificate, ...]:
    """The certificates as if everyone whose renewal window is open at `now` renewed."""
    result = []
    for certificate in certificates:
        if _window_open(certificate, now):
            # Renewed before expiry, a certificate runs from its old expiry date.
            expires_at = add_months(certificate.expires_at, certificate.validity_months)
            window = certificate.expires_at - certificate.renewal_opens_at
            certificate = HeldCertificate(certificate.user_id, certificate.program_code,
                                          certificate.job_role, expires_at,
                                          expires_at - window, certificate.validity_months)
        result.append(certificate)
    return tuple(result)


def _window_open(certificate: HeldCertificate, now: datetime) -> bool:
    opens_at = certificate.renewal_opens_at
    return opens_at is not None and opens_at <= now < certificate.expires_at


def fall_date(facts: OrganisationFacts, rule: TierRule, now: datetime) -> datetime | None:
    """The first moment `rule` is no longer met if nobody renews or finishes anything: an
    expiry that breaks its certifications, or a newcomer's time for one of its tracks
    running out. None when neither ever happens."""
    falls = [moment for moment in (certifications_fall(facts, rule, now),
                                   _tracks_fall(facts, rule, now)) if moment is not None]
    return min(falls) if falls else None


def _tracks_fall(facts: OrganisationFacts, rule: TierRule, now: datetime) -> datetime | None:
    ends = [end for slug in rule.tracks if (progress := facts.track(slug)) is not None
            for end in progress.settling_ends if end > now]
    return min(ends) if ends else None


def _newcomers_run_out(facts: OrganisationFacts, rule: TierRule | None,
                       at: datetime) -> tuple[int, ...]:
    if rule is None:
        return ()
    return tuple(sorted({user_id for slug in rule.tracks
                         if (progress := facts.track(slug)) is not None
                         for user_id in progress.settling[:progress.run_out_by(at)]}))


def certifications_fall(facts: OrganisationFacts, rule: TierRule,
                        now: datetime) -> datetime | None:
    """The first expiry after which `rule`'s certifications are no longer met, if nobody
    renews; None when it asks for none (or they are not met at `now`)."""
    falls = []
    for requirement in rule.certifications:
        # holder -> when their last qualifying certificate expires, of those live now
        last = [expires_at for expires_at in facts.holder_expiries(
            requirement.program, requirement.job_roles).values() if now < expires_at]
        if len(last) < requirement.count:
            return None
        # The rule holds while `count` holders remain: it breaks when the count-th latest
        # of the holders' last expiries passes (sorting, not replaying every expiry).
        falls.append(sorted(last, reverse=True)[requirement.count - 1])
    return min(falls) if falls else None


def _needs(facts: OrganisationFacts, rule: TierRule, now: datetime,
           falls_on: datetime) -> tuple[RenewalNeed, ...]:
    needs = []
    for requirement in rule.certifications:
        later = holders(facts, requirement, falls_on)
        if len(later) < requirement.count:
            expiring = holders(facts, requirement, now) - later
            needs.append(RenewalNeed(requirement, requirement.count - len(later),
                                     tuple(sorted(expiring))))
    return tuple(needs)


def _finishing(facts: OrganisationFacts, rule: TierRule,
               falls_on: datetime) -> tuple[TrackNeed, ...]:
    needs = []
    for slug in rule.tracks:
        progress = facts.track(slug)
        run_out = progress.run_out_by(falls_on) if progress is not None else 0
        if run_out:
            needs.append(TrackNeed(slug, run_out, progress.settling_ends[0],
                                   progress.settling[:run_out]))
    return tuple(needs)


def _finishing_clause(need: TrackNeed, names: Names) -> str:
    if need.count == 1:
        return f"1 new staff member finishes {names.track(need.track)} by then"
    return f"{need.count} new staff finish {names.track(need.track)}, the first by then"


def _renewal_clause(need: RenewalNeed, names: Names) -> str:
    name = names.program(need.rule.program)
    held, needed = len(need.expiring), need.needed
    if needed == held == 1:
        return f"the expiring {name} renews"
    if needed == held == 2:
        return f"both expiring {plural(name)} renew"
    if needed == held:
        return f"all {held} expiring {plural(name)} renew"
    return f"{needed} of {held} expiring {plural(name)} {'renews' if needed == 1 else 'renew'}"


def _sentence(organisation: str, tier: str, current: TierStanding, rule: TierRule | None,
              causes: list[tuple[datetime, str]], renewals_only: bool, furthest_days: int,
              now: datetime, names: Names) -> str:
    """`causes`: (day, what prevents the fall then), soonest first; at most two."""
    tier_name = names.tier(tier)
    if rule is None:
        return f"{organisation} is on a tier with no rules ('{tier}'): nothing to forecast."
    if not current.meets:
        return (f"{organisation} does not meet {tier_name} now: "
                + "; ".join(gap.text for gap in current.gaps) + ".")
    if not causes:
        return (f"{organisation} keeps {tier_name} whatever expires: {tier_name} asks for "
                "no certifications.")
    if len(causes) == 2 and causes[0][0] == causes[1][0]:  # the same day: one clause
        causes = [(causes[0][0], f"{causes[0][1]} and {causes[1][1]}")]
    (falls_on, clause), later = causes[0], causes[1:]
    if falls_on <= now + timedelta(days=furthest_days):
        text = f"{organisation} falls below {tier_name} on {day(falls_on, now)} unless {clause}"
        for moment, then in later:
            text += f", and on {day(moment, now)} unless {then}"
        return text + "."
    if renewals_only:
        return (f"{organisation} keeps {tier_name} for the next {furthest_days} days even if "
                f"nobody renews; without renewals it falls below {tier_name} on "
                f"{day(falls_on, now)}.")
    return (f"{organisation} keeps {tier_name} for the next {furthest_days} days even if "
            f"nobody renews; it falls below {tier_name} on {day(falls_on, now)} unless "
            f"{clause}.")


def _horizon_text(days: int, at: datetime, now: datetime, nobody: Scenario,
                  window: Scenario, tier: str, names: Names) -> str:
    def part(scenario: Scenario) -> str:
        kept = "keeps" if scenario.meets else "below"
        return f"{scenario.total:g} ({scenario.health}), {kept} {names.tier(tier)}"

    return (f"In {days} days ({day(at, now)}): {part(nobody)} if nobody renews; "
            f"{part(window)} if everyone in a renewal window renews.")
