"""Taking assessments: start, save answers, submit, grade. Flush, never commit.

The server owns every rule: the deadline, the attempt limit (backed by a database
constraint), the cooldown, and which items and options belong to an attempt.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from lms.accounts.models import User
from lms.assessments import access, answer_keys
from lms.assessments.items import item_type
from lms.assessments.models import (
    Assessment,
    AssessmentItem,
    AssessmentVersion,
    Attempt,
    AttemptItem,
    ItemStatistic,
    OptionStatistic,
    Response,
)
from lms.catalog.models import Lesson
from lms.catalog.service import knowledge_check_blocker
from lms.core import clock, events
from lms.core.errors import Conflict, NotFound, PermissionDenied
from lms.core.pages import Window, window
from lms.core.pages import clamp as pages_of
from lms.core.upsert import insert_or_add
from lms.extensions import db

# Answers that reach the server this long after the deadline still count (network lag).
GRACE = timedelta(seconds=5)


class NotEligible(Conflict):
    title = "Not available yet"


class TimeUp(Conflict):
    """The deadline passed; the attempt has been finalised (the caller should commit that)."""

    title = "Time is up"


# --- looking things up -----------------------------------------------------------------------

def get_live_assessment(slug: str) -> Assessment:
    assessment = db.session.scalar(select(Assessment).where(
        Assessment.slug == slug, Assessment.archived_at.is_(None),
        Assessment.current_version_id.is_not(None)))
    if assessment is None:
        raise NotFound("No such assessment.")
    return assessment


def get_own_attempt(user: User, public_id: str) -> Attempt:
    """Only the owner may see, answer or submit an attempt; anyone else gets not-found."""
    attempt = db.session.scalar(select(Attempt).where(Attempt.public_id == public_id))
    if attempt is None or attempt.user_id != user.id:
        raise NotFound("No such attempt.")
    finalise_if_expired(attempt)
    return attempt


def history(user_id: int, assessment_id: int) -> list[Attempt]:
    return list(db.session.scalars(
        select(Attempt).where(Attempt.user_id == user_id, Attempt.assessment_id == assessment_id)
        .order_by(Attempt.number)))


@dataclass
class Standing:
    """Where a person stands with an assessment: what they may do next, and why not."""

    attempts: list[Attempt]
    open_attempt: Attempt | None
    passed_attempt: Attempt | None
    next_allowed_at: datetime | None
    attempts_left: int | None
    reason: str | None
    # Whether to offer the assessment to this person at all (see access.Refusal.listed).
    listed: bool = True

    @property
    def attempt_limit(self) -> int | None:
        """The limit copied onto a new attempt row, whose number may not pass it: the
        version's limit, counted afresh from a reopening."""
        if self.attempts_left is None:
            return None
        return len(self.attempts) + self.attempts_left

    @property
    def can_start(self) -> bool:
        return self.open_attempt is None and self.reason is None


def reopened_since(user_id: int, assessment_slug: str) -> datetime | None:
    """When a higher domain reopened a passed assessment for this person (a renewal
    window, a lapsed certification): passes and attempts before it no longer count."""
    return reopenings(user_id, [assessment_slug]).get(assessment_slug)


def reopenings(user_id: int, assessment_slugs) -> dict[str, datetime]:
    """reopened_since() for several assessments, asked once: {slug: moment}, reopened only."""
    found: dict[str, datetime] = {}
    for _, answers in events.assessment_reopening.send(
            user_id, assessment_slugs=list(assessment_slugs)):
        for slug, moment in (answers or {}).items():
            if moment is not None and (slug not in found or moment > found[slug]):
                found[slug] = moment
    return found


def standing(user: User, assessment: Assessment) -> Standing:
    return _standing(user, assessment, history(user.id, assessment.id),
                     reopened_since(user.id, assessment.slug),
                     lambda: access.refusal(user.id, assessment.slug),
                     lambda: knowledge_check_blocker(user, assessment.slug))


def standings(user: User, assessments: list[Assessment],
              refused: dict | None = None) -> dict[int, Standing]:
    """standing() for each of `assessments` (by id), in the same few queries however many:
    one for the person's attempts, one question each to the higher domains, and one for
    which are knowledge checks (only those ask their track, as standing() does)."""
    if not assessments:
        return {}
    attempts: dict[int, list[Attempt]] = {a.id: [] for a in assessments}
    for attempt in db.session.scalars(select(Attempt).where(
            Attempt.user_id == user.id, Attempt.assessment_id.in_(list(attempts)))
            .order_by(Attempt.assessment_id, Attempt.number)):
        attempts[attempt.assessment_id].append(attempt)
    slugs = [a.slug for a in assessments]
    since = reopenings(user.id, slugs)
    if refused is None:
        refused = access.refusals(user.id, slugs)
    in_tracks = knowledge_check_slugs(slugs)
    return {a.id: _standing(
        user, a, attempts[a.id], since.get(a.slug), lambda slug=a.slug: refused.get(slug),
        (lambda slug=a.slug: knowledge_check_blocker(user, slug)) if a.slug in in_tracks
        else (lambda: None)) for a in assessments}


def knowledge_check_slugs(slugs) -> set[str]:
    """Which of these assessments some lesson points at (a knowledge check in a track)."""
    return set(db.session.scalars(select(Lesson.assessment_slug).where(
        Lesson.assessment_slug.in_(list(slugs))).distinct()))


def _standing(user: User, assessment: Assessment, attempts: list[Attempt],
              since: datetime | None, refusal, blocker) -> Standing:
    """Where the person stands, from their attempts and the reopening; `refusal` and
    `blocker` are asked only when the answer matters (they may cost a query)."""
    version = assessment.current_version
    for attempt in attempts:
        finalise_if_expired(attempt)
    open_attempt = next((a for a in attempts if a.status == "in_progress"), None)
    # After a reopening the attempt limit starts afresh; earlier attempts stay on record.
    counted = [a for a in attempts if since is None or a.started_at >= since]
    passed = next((a for a in counted if a.passed), None)
    finished = [a for a in counted if a.finished]
    left = None if version.max_attempts is None else max(0, version.max_attempts - len(counted))
    next_allowed, reason = None, None
    refused = refusal() if open_attempt is None else None
    if refused is not None:
        reason = refused.reason
    elif passed is not None:
        reason = f"You passed on {passed.submitted_at:%d %b %Y} with {passed.percent:.0f}%."
    elif left == 0:
        reason = f"You have used all {version.max_attempts} attempts."
    elif open_attempt is None and (found := blocker()):
        reason = found
    elif finished and version.cooldown_hours:
        next_allowed = finished[-1].submitted_at + timedelta(hours=version.cooldown_hours)
        if next_allowed > clock.now():
            reason = (f"Your next attempt opens on "
                      f"{next_allowed:%d %b %Y at %H:%M} UTC.")
        else:
            next_allowed = None
    return Standing(attempts, open_attempt, passed, next_allowed, left, reason,
                    listed=refused is None or refused.listed)


# --- starting --------------------------------------------------------------------------------

def start_attempt(user: User, assessment_slug: str, *, rng: random.Random | None = None
                  ) -> Attempt:
    """Open an attempt (or return the one already open), freezing its items and order."""
    if user.is_vendor_staff:
        raise PermissionDenied("Assessments are taken by partner staff.")
    assessment = get_live_assessment(assessment_slug)
    state = standing(user, assessment)
    if state.open_attempt is not None:
        return state.open_attempt
    if state.reason:
        raise NotEligible(state.reason)
    version = assessment.current_version
    rng = rng or random.SystemRandom()
    items = _draw(version, rng)
    now = clock.now()
    attempt = Attempt(
        public_id=secrets.token_urlsafe(16), user_id=user.id, assessment_id=assessment.id,
        assessment_version_id=version.id, number=len(state.attempts) + 1,
        max_attempts=state.attempt_limit, status="in_progress", started_at=now,
        deadline_at=now + timedelta(minutes=version.time_limit_minutes)
        if version.time_limit_minutes else None,
        max_points=sum(item.points for item in items))
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
            db.session.flush()
            db.session.add_all([
                AttemptItem(attempt_id=attempt.id, assessment_item_id=item.id, position=position,
                            option_order=_option_order(item, version, rng))
                for position, item in enumerate(items, start=1)])
    except IntegrityError:
        # Another request started one at the same moment: the constraints let only one
        # through. Resume that one, or say why none can start.
        db.session.expire_all()
        again = standing(user, assessment)
        if again.open_attempt is not None:
            return again.open_attempt
        raise NotEligible(again.reason or "Another attempt was started at the same time.") \
            from None
    return attempt


def _draw(version: AssessmentVersion, rng: random.Random) -> list[AssessmentItem]:
    items = list(db.session.scalars(select(AssessmentItem).where(
        AssessmentItem.assessment_version_id == version.id).order_by(AssessmentItem.position)))
    if version.draw_rules:
        by_id = {item.id: item for item in items}
        drawn = []
        for rule in version.draw_rules:
            drawn.extend(by_id[i] for i in rng.sample(rule["item_ids"], rule["count"]))
        items = drawn
    if version.shuffle_items:
        rng.shuffle(items)
    return items


def _option_order(item: AssessmentItem, version: AssessmentVersion, rng: random.Random) -> list:
    ids = item_type(item.item_type).shuffle_ids(item.definition)
    if version.shuffle_options or item.item_type in ("ordering", "matching"):
        # Ordering and matching are always shuffled: their stored order is the answer.
        rng.shuffle(ids)
    return ids


# --- answering -------------------------------------------------------------------------------

def _attempt_item(attempt: Attempt, position: int) -> AttemptItem:
    attempt_item = db.session.scalar(select(AttemptItem).where(
        AttemptItem.attempt_id == attempt.id, AttemptItem.position == position))
    if attempt_item is None:
        raise NotFound("This attempt has no such question.")
    return attempt_item


def save_answer(attempt: Attempt, position: int, data) -> Response:
    """Check and store one answer (replacing an earlier one) while the attempt is open."""
    _require_open(attempt)
    attempt_item = _attempt_item(attempt, position)
    item = attempt_item.item
    answer = item_type(item.item_type).parse(item.definition, data)
    response = db.session.scalar(select(Response).where(
        Response.attempt_item_id == attempt_item.id))
    if response is None:
        try:
            with db.session.begin_nested():
                response = Response(attempt_item_id=attempt_item.id, answer=answer,
                                    saved_at=clock.now())
                db.session.add(response)
            return response
        except IntegrityError:
            # The same question saved twice at once (a double click, an autosave racing
            # the button): the other save made the row, and this later one replaces it.
            response = db.session.scalar(select(Response).where(
                Response.attempt_item_id == attempt_item.id))
    response.answer, response.saved_at = answer, clock.now()
    db.session.flush()
    return response


def _require_open(attempt: Attempt) -> None:
    # Lock the row and re-read its status: a submit running at the same moment either
    # finished first (we see it closed) or waits until this answer is in.
    db.session.refresh(attempt, with_for_update=True)
    if attempt.status != "in_progress":
        raise Conflict("This attempt is already submitted; answers can no longer change.")
    if attempt.deadline_at is not None and clock.now() > attempt.deadline_at + GRACE:
        finalise(attempt, status="expired")
        raise TimeUp("Time is up. Your attempt was submitted with the answers saved before "
                     "the deadline.")


# --- submitting and grading ------------------------------------------------------------------

def submit(attempt: Attempt) -> Attempt:
    """Grade the attempt once; repeated or concurrent submissions return the same result."""
    if attempt.status == "in_progress" and attempt.deadline_at is not None \
            and clock.now() > attempt.deadline_at + GRACE:
        return finalise(attempt, status="expired")
    return finalise(attempt, status="submitted")


def finalise_if_expired(attempt: Attempt) -> Attempt:
    if attempt.status == "in_progress" and attempt.deadline_at is not None \
            and clock.now() > attempt.deadline_at + GRACE:
        finalise(attempt, status="expired")
    return attempt


def finalise(attempt: Attempt, *, status: str) -> Attempt:
    """Close and grade an attempt exactly once, whoever gets here first."""
    claimed = db.session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.status == "in_progress")
        .values(status=status)
        .execution_options(synchronize_session=False, preserve_rowcount=True)).rowcount
    db.session.refresh(attempt)
    if claimed != 1:
        return attempt  # graded by whoever claimed it
    # The time is read only once the claim holds the row (PostgreSQL) or the database
    # (SQLite): a save that held it before us is then never later than the submission.
    now = clock.now()
    attempt.submitted_at = now if status == "submitted" else min(now, attempt.deadline_at)
    db.session.flush()
    _grade(attempt)
    return attempt


def _grade(attempt: Attempt) -> None:
    rows = db.session.execute(
        select(AttemptItem, AssessmentItem, Response)
        .join(AssessmentItem, AssessmentItem.id == AttemptItem.assessment_item_id)
        .outerjoin(Response, Response.attempt_item_id == AttemptItem.id)
        .where(AttemptItem.attempt_id == attempt.id)).all()
    latest = attempt.deadline_at + GRACE if attempt.deadline_at else None
    total = 0.0
    chosen: dict[tuple[int, str], int] = {}
    for _attempt_item, item, response in rows:
        if response is None:
            continue
        kind = item_type(item.item_type)
        counts = latest is None or response.saved_at <= latest
        response.score = kind.score(item.definition, response.answer) if counts else 0.0
        response.points = response.score * item.points
        total += response.points
        for option in kind.chosen_options(item.definition, response.answer):
            chosen[(item.id, option)] = chosen.get((item.id, option), 0) + 1
    version = db.session.get(AssessmentVersion, attempt.assessment_version_id)
    attempt.score_points = round(total, 4)
    attempt.percent = round(100 * total / attempt.max_points, 2) if attempt.max_points else 0.0
    attempt.passed = attempt.percent >= version.pass_mark
    db.session.flush()
    # The stored (rounded) total, as the migration's backfill uses: the sums agree exactly.
    _add_to_item_statistics(rows, attempt.score_points, chosen)
    if attempt.passed:
        assessment = db.session.get(Assessment, attempt.assessment_id)
        events.assessment_passed.send(attempt.user_id, attempt_id=attempt.id,
                                      assessment_version_id=version.id,
                                      assessment_slug=assessment.slug)


def _add_to_item_statistics(rows, total: float, chosen: dict[tuple[int, str], int]) -> None:
    """Add this attempt to the running sums the statistics page reads (once per attempt)."""
    sums = []
    for _attempt_item, item, response in rows:
        x = response.score if response is not None else 0.0
        r = total - (response.points if response is not None else 0.0)
        sums.append({"assessment_item_id": item.id, "attempts": 1,
                     "answered": int(response is not None), "sum_x": x, "sum_xx": x * x,
                     "sum_r": r, "sum_rr": r * r, "sum_xr": x * r})
    insert_or_add(ItemStatistic, sums, ["assessment_item_id"],
                  ["attempts", "answered", "sum_x", "sum_xx", "sum_r", "sum_rr", "sum_xr"])
    insert_or_add(OptionStatistic,
                  [{"assessment_item_id": item_id, "option_id": option, "chosen": count}
                   for (item_id, option), count in chosen.items()],
                  ["assessment_item_id", "option_id"], ["chosen"])


def finalise_expired(now: datetime | None = None) -> int:
    """Periodic job: close every attempt whose time ran out. Idempotent."""
    cutoff = (now or clock.now()) - GRACE
    overdue = db.session.scalars(select(Attempt).where(
        Attempt.status == "in_progress", Attempt.deadline_at < cutoff)).all()
    for attempt in overdue:
        finalise(attempt, status="expired")
    return len(overdue)


# --- what the learner may see ----------------------------------------------------------------

def certifying_programs(assessment_slug: str) -> list[str]:
    """The certifications a pass of this assessment counts toward (asked of higher domains)."""
    return sorted({name for _, names in events.assessment_certifies.send(assessment_slug)
                   for name in names or ()})


def feedback_allowed(attempt: Attempt, state: Standing | None = None,
                     certifies: list[str] | None = None) -> bool:
    """Whether a finished attempt may show its key: the feedback policy, then the rule in
    answer_keys. `state` is where the person stands now (None: the assessment is retired,
    so nothing can be drawn again)."""
    if not attempt.finished:
        return False
    if state is None:
        passed, limits = True, attempt.version
    else:
        assessment = db.session.get(Assessment, attempt.assessment_id)
        passed = state.passed_attempt is not None or state.attempts_left == 0
        limits = assessment.current_version
    if certifies is None:
        certifies = certifying_programs(db.session.get(Assessment, attempt.assessment_id).slug)
    return answer_keys.key_visible(
        attempt.version.feedback, attempt_passed=bool(attempt.passed), passed=passed,
        certifies=bool(certifies), max_attempts=limits.max_attempts,
        cooldown_hours=limits.cooldown_hours)


def answered_positions(attempt: Attempt) -> set[int]:
    return set(db.session.scalars(
        select(AttemptItem.position).join(Response, Response.attempt_item_id == AttemptItem.id)
        .where(AttemptItem.attempt_id == attempt.id)))


def attempt_count(version_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Attempt).where(
        Attempt.assessment_version_id == version_id, Attempt.status != "in_progress"))


def versions(assessment_id: int) -> list[AssessmentVersion]:
    return list(db.session.scalars(select(AssessmentVersion).where(
        AssessmentVersion.assessment_id == assessment_id).order_by(AssessmentVersion.number)))


LIST_PER_PAGE = 25


@dataclass
class Listed:
    """An assessment in a list: its current version, how many questions an attempt draws
    and how many the bank holds (counted in SQL, not by loading the items)."""

    assessment: Assessment
    version: AssessmentVersion
    bank_size: int
    attempts: int = 0  # finished ones, on this version (vendor list)
    passed: int = 0
    standing: Standing | None = None  # the person's (learner list)

    @property
    def questions(self) -> int:
        if self.version.draw_rules:
            return sum(rule["count"] for rule in self.version.draw_rules)
        return self.bank_size


def _live_with_bank_size():
    bank_size = (select(func.count(AssessmentItem.id))
                 .where(AssessmentItem.assessment_version_id == AssessmentVersion.id)
                 .correlate(AssessmentVersion).scalar_subquery())
    return (select(Assessment, AssessmentVersion, bank_size)
            .join(AssessmentVersion, AssessmentVersion.id == Assessment.current_version_id)
            .where(Assessment.archived_at.is_(None))
            .order_by(AssessmentVersion.title, AssessmentVersion.id))


def overview_page(*, page: int, per_page: int = LIST_PER_PAGE,
                  search: str | None = None) -> Window:
    """A page of live assessments by title, with finished attempts and passes on their
    current versions (counted for the page's versions only); searched by title or slug."""
    statement = _live_with_bank_size()
    if search and search.strip():
        needle = search.strip()[:200].lower()
        statement = statement.where(
            func.lower(AssessmentVersion.title).contains(needle, autoescape=True)
            | Assessment.slug.contains(needle, autoescape=True))
    found = window(db.session, statement, page=page, per_page=per_page)
    version_ids = [version.id for _, version, _ in found.rows]
    counts = {row[0]: (row[1], row[2]) for row in db.session.execute(
        select(Attempt.assessment_version_id, func.count(),
               func.count().filter(Attempt.passed.is_(True)))
        .where(Attempt.assessment_version_id.in_(version_ids),
               Attempt.status != "in_progress")
        .group_by(Attempt.assessment_version_id))}
    rows = [Listed(a, v, size, *counts.get(v.id, (0, 0))) for a, v, size in found.rows]
    return replace(found, rows=rows)


def exams_page(user: User, *, page: int, per_page: int = LIST_PER_PAGE) -> Window:
    """A page of the stand-alone exams (not knowledge checks inside a track) offered to the
    person, by title, with where they stand. Exams not meant for them (a renewal exam of a
    certification they never held) are left out in SQL, the higher domains asked once."""
    checks = select(Lesson.assessment_slug).where(Lesson.assessment_slug.is_not(None))
    statement = _live_with_bank_size().where(Assessment.slug.not_in(checks))
    every_slug = list(db.session.scalars(
        statement.with_only_columns(Assessment.slug).order_by(None)))
    refused = access.refusals(user.id, every_slug)
    unlisted = [slug for slug, refusal in refused.items() if not refusal.listed]
    if unlisted:
        statement = statement.where(Assessment.slug.not_in(unlisted))
    found = window(db.session, statement, page=page, per_page=per_page)
    states = standings(user, [a for a, _, _ in found.rows], refused=refused)
    return replace(found, rows=[Listed(a, v, size, standing=states[a.id])
                                for a, v, size in found.rows])


# --- the author's preview --------------------------------------------------------------------

PREVIEW_PER_PAGE = 10


@dataclass
class Preview:
    """One page of a version's items, in position order, for an author (with the key)."""

    items: list[AssessmentItem]
    total: int
    page: int
    pages: int
    certifies: list[str]
    unsafe: bool  # the answer-key rule is broken (see answer_keys)


def preview_page(version: AssessmentVersion, page: int,
                 per_page: int = PREVIEW_PER_PAGE) -> Preview:
    """Two queries for the items whatever the size of the bank, and one for the programs."""
    total = db.session.scalar(select(func.count()).select_from(AssessmentItem).where(
        AssessmentItem.assessment_version_id == version.id))
    page, pages, offset = pages_of(total, page, per_page)
    items = list(db.session.scalars(
        select(AssessmentItem).where(AssessmentItem.assessment_version_id == version.id)
        .order_by(AssessmentItem.position).offset(offset).limit(per_page)))
    certifies = certifying_programs(version.assessment.slug)
    return Preview(items, total, page, pages, certifies, answer_keys.unsafe(
        version.feedback, certifies=bool(certifies), max_attempts=version.max_attempts,
        cooldown_hours=version.cooldown_hours))
