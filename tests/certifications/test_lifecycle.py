"""Pure rules: statuses at every boundary, dating renewals, month arithmetic, check sentences,
and certificate IDs. No database."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from lms.certifications import eligibility, lifecycle, public_id
from lms.certifications.eligibility import (
    AssessmentFact,
    AttemptFact,
    Facts,
    HeldFact,
    TrackFact,
)
from lms.certifications.lifecycle import add_months, dates_for

ISSUED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EXPIRES = datetime(2028, 3, 2, 9, 0, tzinfo=UTC)
OPENS = EXPIRES - timedelta(days=90)
GRACE_ENDS = EXPIRES + timedelta(days=30)
SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Cert:
    issued_at: datetime = ISSUED
    expires_at: datetime = EXPIRES
    renewal_opens_at: datetime = OPENS
    grace_ends_at: datetime = GRACE_ENDS
    superseded_at: datetime | None = None
    revoked_at: datetime | None = None


# --- statuses --------------------------------------------------------------------------------


@pytest.mark.parametrize(("now", "status", "current", "renewable", "lapsed"), [
    (ISSUED, "active", True, False, False),
    (OPENS - SECOND, "active", True, False, False),
    (OPENS, "expiring", True, True, False),  # the window opens on the dot
    (EXPIRES - SECOND, "expiring", True, True, False),
    (EXPIRES, "expired", False, True, False),  # expired on the dot, renewable in grace
    (GRACE_ENDS - SECOND, "expired", False, True, False),
    (GRACE_ENDS, "expired", False, False, True),  # grace over: lapsed
    (GRACE_ENDS + timedelta(days=3650), "expired", False, False, True),
])
def test_status_through_every_boundary(now, status, current, renewable, lapsed):
    certificate = Cert()
    assert lifecycle.status(certificate, now) == status
    assert lifecycle.is_current(certificate, now) is current
    assert lifecycle.renewable(certificate, now) is renewable
    assert lifecycle.lapsed(certificate, now) is lapsed


@pytest.mark.parametrize("now", [ISSUED, OPENS, EXPIRES, GRACE_ENDS + SECOND])
def test_revoked_and_superseded_hold_at_any_time(now):
    revoked = Cert(revoked_at=ISSUED + timedelta(days=5))
    superseded = Cert(superseded_at=OPENS + timedelta(days=1))
    assert lifecycle.status(revoked, now) == "revoked"
    assert lifecycle.status(superseded, now) == "superseded"
    # Revocation wins: a renewed certificate revoked later says revoked.
    assert lifecycle.status(replace(superseded, revoked_at=EXPIRES), now) == "revoked"
    for certificate in (revoked, superseded):
        assert not lifecycle.is_current(certificate, now)
        assert not lifecycle.renewable(certificate, now)
        assert not lifecycle.lapsed(certificate, now)


# --- dating ----------------------------------------------------------------------------------


def dates(issued_at, renews=None, *, months=24, window=90, grace=30):
    return dates_for(issued_at, validity_months=months, renewal_window_days=window,
                     grace_days=grace, renews=renews)


def test_a_first_certificate_runs_from_the_day_it_is_issued():
    first = dates(ISSUED)
    assert (first.issued_at, first.expires_at, first.renewal_opens_at, first.grace_ends_at) \
        == (ISSUED, EXPIRES, OPENS, GRACE_ENDS)


def test_early_renewal_keeps_the_time_already_paid_for():
    renewed_on = EXPIRES - timedelta(days=30)
    renewal = dates(renewed_on, Cert())
    assert renewal.issued_at == renewed_on  # issued today...
    assert renewal.expires_at == datetime(2030, 3, 2, 9, 0, tzinfo=UTC)  # ...old expiry + 24m
    assert renewal.renewal_opens_at == renewal.expires_at - timedelta(days=90)
    assert renewal.grace_ends_at == renewal.expires_at + timedelta(days=30)
    # Renewing on the first day of the window gives the same expiry as on its last day.
    assert dates(OPENS, Cert()).expires_at == dates(EXPIRES - SECOND, Cert()).expires_at


def test_renewal_in_grace_runs_from_the_renewal_day():
    renewed_on = EXPIRES + timedelta(days=10)
    renewal = dates(renewed_on, Cert())
    assert renewal.issued_at == renewed_on
    assert renewal.expires_at == datetime(2030, 3, 12, 9, 0, tzinfo=UTC)
    # Renewing exactly at expiry is the same either way.
    assert dates(EXPIRES, Cert()).expires_at == datetime(2030, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("start", "months", "expected"), [
    (datetime(2027, 1, 31, 9, 0, tzinfo=UTC), 1, datetime(2027, 2, 28, 9, 0, tzinfo=UTC)),
    (datetime(2028, 1, 31, 9, 0, tzinfo=UTC), 1, datetime(2028, 2, 29, 9, 0, tzinfo=UTC)),
    (datetime(2028, 2, 29, 9, 0, tzinfo=UTC), 12, datetime(2029, 2, 28, 9, 0, tzinfo=UTC)),
    (datetime(2028, 2, 29, 9, 0, tzinfo=UTC), 48, datetime(2032, 2, 29, 9, 0, tzinfo=UTC)),
    (datetime(2026, 8, 31, 9, 0, tzinfo=UTC), 1, datetime(2026, 9, 30, 9, 0, tzinfo=UTC)),
    (datetime(2026, 12, 15, 23, 59, tzinfo=UTC), 1, datetime(2027, 1, 15, 23, 59, tzinfo=UTC)),
    (datetime(2026, 11, 30, 0, 0, tzinfo=UTC), 3, datetime(2027, 2, 28, 0, 0, tzinfo=UTC)),
    (datetime(2026, 3, 2, 9, 0, tzinfo=UTC), 24, datetime(2028, 3, 2, 9, 0, tzinfo=UTC)),
    (datetime(2026, 3, 2, 9, 0, tzinfo=UTC), 120, datetime(2036, 3, 2, 9, 0, tzinfo=UTC)),
])
def test_add_months_clamps_to_the_end_of_the_month(start, months, expected):
    assert add_months(start, months) == expected
    assert add_months(start, months).tzinfo is UTC


# --- eligibility sentences -------------------------------------------------------------------

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def attempt(percent, passed, day, *, attempt_id=1):
    return AttemptFact(attempt_id, f"pub{attempt_id}", percent, passed,
                       datetime(2026, 5, day, 10, 0, tzinfo=UTC), 1)


def facts(*, attempts=(), completions=(), lessons=(0, 0), held=None, current=11,
          max_attempts=None) -> Facts:
    return Facts(
        now=NOW,
        tracks={"ta": TrackFact("ta", "Technical Associate", lessons[1], lessons[0],
                                tuple(completions), current)},
        assessments={"exam": AssessmentFact("exam", "Technical Associate exam", 70,
                                            tuple(attempts), max_attempts)},
        held=held or {})


def test_assessment_sentences():
    assert eligibility.assessment_passed(facts(), "exam").sentence == \
        "Pass the Technical Associate exam — not attempted yet; needs 70%"
    failed = facts(attempts=[attempt(52.5, False, 3, attempt_id=1),
                             attempt(64.0, False, 5, attempt_id=2)])
    check = eligibility.assessment_passed(failed, "exam")
    assert (check.done, check.evidence) == (False, None)
    assert check.sentence == "Pass the Technical Associate exam — best score 64%, needs 70%"
    passed = facts(attempts=[attempt(64.0, False, 3, attempt_id=1),
                             attempt(85.0, True, 9, attempt_id=2),
                             attempt(95.0, True, 20, attempt_id=3)])
    check = eligibility.assessment_passed(passed, "exam")
    assert check.done
    assert check.detail == "passed with 85% on 9 May 2026"  # the first pass is the evidence
    assert check.evidence["attempt_id"] == 2 and check.evidence["percent"] == 85.0


def test_only_passes_since_a_moment_count_for_renewals_and_after_lapses():
    since = datetime(2026, 5, 10, tzinfo=UTC)
    old_pass = facts(attempts=[attempt(90.0, True, 2)])
    check = eligibility.assessment_passed(old_pass, "exam", since=since)
    assert not check.done
    assert check.detail == "needs a pass after 10 May 2026"
    recent_fail = facts(attempts=[attempt(90.0, True, 2), attempt(40.0, False, 12,
                                                                     attempt_id=2)])
    assert eligibility.assessment_passed(recent_fail, "exam", since=since).detail == \
        "best score 40%, needs 70%"


def test_unknown_assessment_names_itself():
    assert eligibility.assessment_passed(Facts(now=NOW), "gone").sentence == \
        "Pass the gone — not attempted yet; needs 100%"


def test_track_sentences():
    assert eligibility.track_completed(facts(), "ta").sentence == \
        "Complete the Technical Associate track — not started"
    assert eligibility.track_completed(facts(lessons=(4, 12)), "ta").detail == \
        "4 of 12 lessons done"
    done = facts(completions=[(datetime(2026, 4, 7, 15, 0, tzinfo=UTC), 11, 2)])
    check = eligibility.track_completed(done, "ta")
    assert check.sentence == "Complete the Technical Associate track — completed on 7 Apr 2026"
    assert check.evidence["track_version_id"] == 11 and check.evidence["version"] == 2
    assert check.about == ("track", "ta")


def test_renewal_and_delta_tracks_need_the_current_version():
    """A completion is kept once per version: an unchanged track done before counts, an
    updated one must be done again (its unchanged lessons carry forward)."""
    done = facts(completions=[(datetime(2026, 4, 7, 15, 0, tzinfo=UTC), 11, 2)],
                 lessons=(3, 9))
    check = eligibility.current_track_completed(done, "ta")
    assert check.done and check.detail == "version 2 completed on 7 Apr 2026"
    updated = facts(completions=[(datetime(2026, 4, 7, 15, 0, tzinfo=UTC), 11, 2)],
                    lessons=(3, 9), current=12)
    check = eligibility.current_track_completed(updated, "ta")
    assert not check.done
    assert check.detail == "updated since you completed it; 3 of 9 lessons done"


def test_no_attempts_left_is_said():
    attempt = AttemptFact(1, "p1", 64.0, False, datetime(2026, 3, 2, tzinfo=UTC), 1)
    check = eligibility.assessment_passed(facts(attempts=[attempt] * 3, max_attempts=3), "exam")
    assert check.detail == ("best score 64%, needs 70%; no attempts left "
                            "(ask your partner manager)")


def test_certification_held_sentences():
    def held(status, expires=datetime(2027, 1, 5, tzinfo=UTC)):
        return facts(held={"ta": HeldFact("ta", "Technical Associate", "X", status, expires)})

    name = "Technical Associate"
    assert eligibility.certification_held(facts(), "ta", name).sentence == \
        "Hold an active Technical Associate certification — not earned yet"
    for status in ("active", "expiring"):
        check = eligibility.certification_held(held(status), "ta", name)
        assert check.done and check.detail == "valid until 5 Jan 2027"
        assert check.evidence == {"kind": "certification", "code": "ta", "public_id": "X"}
    assert eligibility.certification_held(held("expired"), "ta", name).detail == \
        "expired on 5 Jan 2027"
    assert eligibility.certification_held(held("revoked"), "ta", name).detail == "revoked"


def test_renewal_checks_add_the_delta_track_once():
    checks = eligibility.renewal_checks(
        facts(), {"assessment": "exam", "tracks": ["ta"]},
        window_opened_at=OPENS, delta_track="ta")
    assert [c.name for c in checks] == [
        "Pass the Technical Associate exam",
        "Complete the Technical Associate track"]
    checks = eligibility.renewal_checks(facts(), {"assessment": "exam", "tracks": []},
                                        window_opened_at=OPENS, delta_track="ta")
    assert len(checks) == 2


def test_all_done_needs_at_least_one_check():
    assert not eligibility.all_done([])


# --- public IDs ------------------------------------------------------------------------------


def an_id_with(char: str) -> str:
    """A valid ID whose body contains `char` (for look-alike tests)."""
    body = (char + "7K3M9QPXTRWZ2BDFGHJN4C56AE")[:public_id.RANDOM_CHARS]
    return body + public_id.check_character(body)


def test_generated_ids_are_long_random_and_self_checking():
    ids = {public_id.generate() for _ in range(200)}
    assert len(ids) == 200
    for canonical in ids:
        assert len(canonical) == 28 and set(canonical) <= set(public_id.ALPHABET)
        assert public_id.normalise(canonical) == canonical
        display = public_id.display(canonical)
        assert len(display) == 34 and display.count("-") == 6
        assert all(len(group) == 4 for group in display.split("-"))


def test_normalise_forgives_case_spacing_dashes_and_look_alikes():
    canonical = an_id_with("0")
    display = public_id.display(canonical)
    assert public_id.normalise(display) == canonical
    assert public_id.normalise(display.lower()) == canonical
    assert public_id.normalise(canonical.lower()) == canonical  # no dashes at all
    assert public_id.normalise(display.replace("-", " ")) == canonical
    assert public_id.normalise(f"  {display[:9]}{display[9:].replace('-', '')} ") == canonical
    assert public_id.normalise(display.replace("0", "O")) == canonical  # O typed for 0
    assert public_id.normalise(display.replace("0", "o")) == canonical
    one = an_id_with("1")
    assert public_id.normalise(one.replace("1", "I")) == one
    assert public_id.normalise(one.replace("1", "l")) == one


def test_every_single_character_mistake_is_caught():
    canonical = public_id.generate()
    for position in range(len(canonical)):
        for char in public_id.ALPHABET:
            if char == canonical[position]:
                continue
            typo = canonical[:position] + char + canonical[position + 1:]
            with pytest.raises(public_id.MistypedId):
                public_id.normalise(typo)


def test_neighbour_swaps_are_caught_almost_always():
    caught = total = 0
    for _ in range(50):
        canonical = public_id.generate()
        for i in range(len(canonical) - 1):
            if canonical[i] == canonical[i + 1]:
                continue
            swapped = canonical[:i] + canonical[i + 1] + canonical[i] + canonical[i + 2:]
            total += 1
            try:
                public_id.normalise(swapped)
            except public_id.MistypedId:
                caught += 1
    assert caught / total > 0.9


@pytest.mark.parametrize(("typed", "message"), [
    ("", "A certificate ID has 28 letters and digits; this one has 0."),
    ("ABCD-EFGH", "A certificate ID has 28 letters and digits; this one has 8."),
    ("A" * 29, "A certificate ID has 28 letters and digits; this one has 29."),
    ("U" * 28, "A certificate ID never contains U."),
    ("ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-23*!", "A certificate ID never contains !, *."),
])
def test_malformed_ids(typed, message):
    with pytest.raises(public_id.MalformedId) as error:
        public_id.normalise(typed)
    assert str(error.value) == message
    assert not isinstance(error.value, public_id.MistypedId)
