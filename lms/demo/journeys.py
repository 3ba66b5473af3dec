"""Demo onboarding journeys: partners and people at every point of their journey.

The three main partners are long-standing (their certified staff go back two years), so
they sign up before anyone joins them and their first colleagues onboard in order;
seven smaller partners signed up in the last four months. Manual milestones are signed
off through the journeys service with the clock frozen at plausible past dates, some on
time and some late; a few partners and people are left behind so the pages have
something to act on. Everything is keyed on what exists, so running it twice changes
nothing.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lms.accounts import service as accounts
from lms.accounts.models import Organisation, User
from lms.catalog import service as catalog
from lms.catalog.models import Lesson, LessonCompletion, Track
from lms.certifications.models import Certificate
from lms.core import clock
from lms.demo import exams
from lms.extensions import db
from lms.journeys import service as journeys
from lms.journeys.models import Journey, JourneyEvent, JourneyMilestone

LESSON_GAP = timedelta(hours=20)  # the long-standing staff worked through a lesson a day
SETTLING = timedelta(days=90)  # time enough for a first colleague's tracks and checks
EXAM = "technical-associate-exam"
BEHIND = "learner@northwind.example"  # the browser tests complete his first week themselves

# Days before now each main partner signed up: before any of its people joined.
MAIN_SIGNED_UP = {"Northwind Systems": 750, "Bluepeak Integrators": 790,
                  "Harbor Managed Services": 870}

# The first colleagues of the main partners, who joined in their first weeks and earned
# Sales Professional then: (email, name, partner, role, job role, days after signing up).
FIRST_STAFF = [
    ("mei.tan@harbor.example", "Mei Tan", "Harbor Managed Services", "partner_admin",
     "sales", 1),
    ("pieter.jansen@northwind.example", "Pieter Jansen", "Northwind Systems", "partner_admin",
     "sales", 2),
    ("arjun.nair@harbor.example", "Arjun Nair", "Harbor Managed Services", "learner",
     "sales", 20),
]
# Northwind's two sellers who joined in the last year: their Sales Professional
# certificates are the two Gold asks for, valid well past the forecast. They come after the
# people certified years ago (journeys count certified staff in date order).
LATER_STAFF = [
    ("clara.schmidt@northwind.example", "Clara Schmidt", "Northwind Systems", "learner",
     "sales", 560),
    ("samuel.osei@northwind.example", "Samuel Osei", "Northwind Systems", "learner",
     "presales", 610),
]

# Organisation milestones signed off: partner -> {key: days after signing up}.
# Harbor finished everything on time; Northwind a little late on its business plan (and
# its second Sales Professional); Bluepeak went quiet after signing and was relaunched.
MAIN_SIGN_OFFS = {
    "Harbor Managed Services": {"portal-access": 2, "agreement-signed": 3,
                                "joint-business-plan": 19, "first-deal-registered": 58},
    "Northwind Systems": {"portal-access": 3, "agreement-signed": 5,
                          "joint-business-plan": 34, "first-deal-registered": 71},
    "Bluepeak Integrators": {"agreement-signed": 6},
}
# Bluepeak's relaunch: days before its new partner admin joined, the vendor re-planned the
# open milestones (days after the relaunch); the admin then set up portal access, and the
# business plan is now overdue.
RELAUNCH = ("Bluepeak Integrators", "admin@bluepeak.example", 5,
            {"portal-access": 21, "joint-business-plan": 28, "first-deal-registered": 90,
             "two-sales-professionals": 120}, {"portal-access": 19})

# Smaller partners: name, type, tier, region, days since signing up, partner admin (email,
# name, job role; busy signing the partner up, not yet training), milestones signed off
# {key: day}, and an engineer who joined on a day and earned Technical Associate.
SMALL_PARTNERS = [
    ("Aurora Cloud Partners", "isv", "registered", "amer", 3,
     ("nora.quinn@auroracloud.example", "Nora Quinn", "technical"),
     {"portal-access": 1}, None),  # just signed; the agreement is due in a few days
    ("Fjord Secure", "reseller", "registered", "emea", 12,
     ("ingrid.dahl@fjordsecure.example", "Ingrid Dahl", "presales"),
     {"portal-access": 2}, None),  # the vendor is late countersigning the agreement
    ("Mesa Data Systems", "si", "silver", "amer", 25,
     ("carlos.mendoza@mesadata.example", "Carlos Mendoza", "technical"),
     {"portal-access": 2, "agreement-signed": 4, "joint-business-plan": 21},
     None),  # on track; no certified engineer yet
    ("Kiwi Stack", "msp", "registered", "apac", 40,
     ("aroha.ngata@kiwistack.example", "Aroha Ngata", "support"),
     {"agreement-signed": 5, "portal-access": 6}, None),  # stalled; business plan overdue
    ("Lumen Networks", "reseller", "silver", "emea", 60,
     ("sophie.martin@lumen.example", "Sophie Martin", "presales"),
     {"portal-access": 1, "agreement-signed": 2, "joint-business-plan": 18,
      "first-deal-registered": 50},
     ("ana.ferreira@lumen.example", "Ana Ferreira", 8)),  # on track in the last stage
    ("Saffron Systems", "si", "gold", "apac", 85,
     ("rohan.mehta@saffron.example", "Rohan Mehta", "presales"),
     {"portal-access": 3, "agreement-signed": 4, "joint-business-plan": 33,
      "first-deal-registered": 70},
     ("karan.shah@saffron.example", "Karan Shah", 28)),  # a little late, nearly there
    ("Tidewater Integration", "isv", "silver", "amer", 120,
     ("ethan.brooks@tidewater.example", "Ethan Brooks", "technical"),
     {"agreement-signed": 6, "portal-access": 9, "joint-business-plan": 41},
     None),  # stalled since its business plan: everything after it is overdue
]
# The small partners' engineers sit the certification exam (the demo test counts them).
EXAM_TAKERS = [p[7][0] for p in SMALL_PARTNERS if p[7]]


def create_partners(partners: list) -> dict[str, Organisation]:
    """The main partners, each created on the day it signed up (its journey starts then)."""
    found = {}
    for name, partner_type, tier, region, _staff in partners:
        organisation = db.session.scalar(
            select(Organisation).where(Organisation.name_key == name.lower()))
        if organisation is None:
            with clock.frozen(clock.now() - timedelta(days=MAIN_SIGNED_UP[name])):
                organisation = accounts.create_organisation(
                    name=name, partner_type=partner_type, tier=tier, region=region)
        found[name] = organisation
    return found


def load_first_staff(password_hash: str, staff: list = FIRST_STAFF) -> int:
    """The main partners' first colleagues (or LATER_STAFF): onboarded, and Sales
    Professional, soon after they joined."""
    created = 0
    rng = random.Random(1999)
    for email, name, org_name, role, job_role, day in staff:
        organisation = _organisation(org_name)
        joined = _signed_up(organisation) + timedelta(days=day, hours=3)
        # A database from an older demo has these partners signed up only just now.
        if accounts.get_user_by_email(email) is not None or joined > clock.now() - SETTLING:
            continue
        with clock.frozen(joined):
            user = accounts.create_user(email=email, full_name=name, role=role,
                                        organisation_id=organisation.id, job_role=job_role)
            user.password_hash = password_hash
            created += 1
            _onboard(user, rng)
    return created


def onboard_veterans(emails: list[str]) -> None:
    """People certified years ago also did their onboarding tracks then, after the exam."""
    rng = random.Random(2001)
    for email in emails:
        user = accounts.get_user_by_email(email)
        first = db.session.scalar(select(Certificate.issued_at).where(
            Certificate.user_id == user.id).order_by(Certificate.issued_at))
        started = db.session.scalar(select(LessonCompletion.id).where(
            LessonCompletion.user_id == user.id).limit(1))
        if first is None or started is not None:
            continue  # onboarded already (the demo ran before)
        with clock.frozen(first + timedelta(hours=18)):
            _onboard(user, rng)


def load_journeys(password_hash: str, vendor_admin: User) -> int:
    """Smaller partners at every stage, then the sign-offs of every demo journey."""
    created = _small_partners(password_hash)
    now = clock.now()
    for org_name, days in MAIN_SIGN_OFFS.items():
        journey = _organisation_journey(_organisation(org_name))
        _sign_organisation(journey, days, vendor_admin, now)
    _relaunch(vendor_admin, now)
    for name, *_rest, _admin, sign_offs, _engineer in SMALL_PARTNERS:
        journey = _organisation_journey(_organisation(name))
        _sign_organisation(journey, sign_offs, vendor_admin, now)
    _sign_people(vendor_admin, now)
    return created


# --- partners and people -------------------------------------------------------------------

def _small_partners(password_hash: str) -> int:
    created = 0
    rng = random.Random(2027)
    now = clock.now()
    for name, partner_type, tier, region, days, admin, _signed, engineer in SMALL_PARTNERS:
        organisation = db.session.scalar(
            select(Organisation).where(Organisation.name_key == name.lower()))
        signed_up = now - timedelta(days=days, hours=rng.randint(1, 8))
        if organisation is None:
            with clock.frozen(signed_up):
                organisation = accounts.create_organisation(
                    name=name, partner_type=partner_type, tier=tier, region=region)
        signed_up = _signed_up(organisation)
        email, full_name, job_role = admin
        if accounts.get_user_by_email(email) is None:
            with clock.frozen(signed_up + timedelta(hours=5)):
                user = accounts.create_user(email=email, full_name=full_name,
                                            role="partner_admin", job_role=job_role,
                                            organisation_id=organisation.id)
                user.password_hash = password_hash
                created += 1
        if engineer and accounts.get_user_by_email(engineer[0]) is None:
            email, full_name, day = engineer
            with clock.frozen(signed_up + timedelta(days=day, hours=2)):
                user = accounts.create_user(email=email, full_name=full_name, role="learner",
                                            job_role="technical",
                                            organisation_id=organisation.id)
                user.password_hash = password_hash
                created += 1
                _work_through(user, "partner-onboarding-essentials", 1.5, rng)
                _work_through(user, "technical-associate", 1.5, rng)
                clock.advance(timedelta(days=1))
                exams.take_until_passed(user, EXAM, 1.2, rng)
    return created


def _onboard(user: User, rng: random.Random) -> None:
    """Work through every track the person's journey waits for, in journey order."""
    for slug in _tracks_left(user):
        _work_through(user, slug, 2.0, rng)


def _tracks_left(user: User) -> list[str]:
    return list(db.session.scalars(
        select(JourneyMilestone.target).join(JourneyMilestone.journey)
        .where(Journey.user_id == user.id, JourneyMilestone.kind == "track",
               JourneyMilestone.done_at.is_(None))
        .order_by(JourneyMilestone.stage_index, JourneyMilestone.position)))


def _work_through(user: User, slug: str, ability: float, rng: random.Random) -> None:
    """The track's remaining lessons in order, one every LESSON_GAP; a knowledge check
    lesson completes by passing its check."""
    done = set(db.session.scalars(select(LessonCompletion.lesson_id).where(
        LessonCompletion.user_id == user.id)))
    lessons = db.session.execute(
        select(Lesson.id, Lesson.slug, Lesson.assessment_slug)
        .join(Track, Track.current_version_id == Lesson.track_version_id)
        .where(Track.slug == slug).order_by(Lesson.position)).all()
    for lesson_id, lesson_slug, check in lessons:
        if lesson_id in done:
            continue
        clock.advance(LESSON_GAP + timedelta(minutes=rng.randint(-90, 90)))
        if check:
            if not exams.take_until_passed(user, check, ability, rng):
                return
        else:
            catalog.complete_lesson(user=user, track_slug=slug, lesson_slug=lesson_slug)


# --- sign-offs -----------------------------------------------------------------------------

NOTES = {
    "agreement-signed": "Countersigned by Kestrel's partner team; original filed in the CRM.",
    "portal-access": "Partner admin named; portal access set up and the first colleagues "
                     "invited.",
    "joint-business-plan": "Plan agreed with our Kestrel channel manager: mid-market focus, "
                           "quarterly pipeline reviews, two engineers certified this year.",
    "first-deal-registered": "Deal registration DR-{n}: Kestrel Sentry for a {size}-seat "
                             "customer.",
    "meet-your-admin": "Met my partner admin; shadowing a renewal and a new-logo deal.",
    "lab-environment": "Lab tenant {org}-lab-{n}; Sentry agent deployed on two test VMs.",
    "demo-signed-off": "Clear story and a smooth console tour; practise the Cloud Guard "
                       "policy walkthrough before the first customer demo.",
    "shadowed-cases": "Cases KS-{n}, KS-{m} and KS-{k}, with our senior engineer.",
}


def _sign_organisation(journey: Journey, days: dict[str, int], vendor_admin: User,
                       now: datetime) -> None:
    rng = random.Random(f"organisation:{journey.organisation_id}")
    for key, day in days.items():
        milestone = _milestone(journey, key)
        at = journey.started_at + timedelta(days=day, hours=rng.randint(1, 7))
        actor = vendor_admin if milestone.owner == "vendor" \
            else _admin_at(journey.organisation_id, at)
        upload = None
        if milestone.evidence == "file":
            organisation = db.session.get(Organisation, journey.organisation_id)
            upload = journeys.Upload("partner-agreement.pdf", "application/pdf",
                                     agreement_pdf(organisation.name, at.date()))
        _sign(milestone, actor, at, _note(key, rng, journey), now, upload)


def _relaunch(vendor_admin: User, now: datetime) -> None:
    """Bluepeak's relaunch: open milestones re-planned with a reason, then progress."""
    org_name, admin_email, days_before, due_days, sign_offs = RELAUNCH
    admin = accounts.get_user_by_email(admin_email)
    journey = _organisation_journey(_organisation(org_name))
    relaunched = admin.created_at - timedelta(days=days_before)
    if relaunched < journey.started_at + SETTLING:
        return  # a database from an older demo: this partner signed up only just now
    with clock.frozen(relaunched):
        for key, days in due_days.items():
            milestone = _milestone(journey, key)
            moved = db.session.scalar(select(JourneyEvent.id).where(
                JourneyEvent.milestone_id == milestone.id, JourneyEvent.kind == "due_changed"))
            if milestone.done_at is None and moved is None:
                journeys.change_due_date(
                    milestone.id, due_on=(relaunched + timedelta(days=days)).date(),
                    reason="Relaunch: Bluepeak's new team recommitted to the program; "
                           "dates re-planned on the kickoff call.", actor=vendor_admin)
    rng = random.Random("relaunch")
    for key, days in sign_offs.items():
        at = relaunched + timedelta(days=days, hours=rng.randint(1, 7))
        _sign(_milestone(journey, key), admin, at, _note(key, rng, journey), now)


def _sign_people(vendor_admin: User, now: datetime) -> None:
    """Most people sign off their manual milestones (and their admins theirs) around the
    due date; Lukas Meyer, people who have not started and a few others stay behind."""
    started = set(db.session.scalars(select(LessonCompletion.user_id).distinct()))
    people = db.session.scalars(
        select(Journey).join(User, User.id == Journey.user_id)
        .where(Journey.scope == "person", Journey.completed_at.is_(None))
        .options(selectinload(Journey.milestones)).order_by(Journey.id)).all()
    for journey in people:
        person = db.session.get(User, journey.user_id)
        rng = random.Random(f"person:{person.email}")
        recent = now - journey.started_at < timedelta(days=180)
        lagging = rng.random() < 0.12 and recent
        if person.email == BEHIND or person.id not in started or lagging:
            continue
        for milestone in sorted(journey.milestones, key=lambda m: (m.stage_index, m.position)):
            if milestone.kind != "manual" or milestone.done_at is not None:
                continue
            due_in = milestone.due_at - journey.started_at
            at = journey.started_at + due_in * rng.uniform(0.45, 1.15) \
                + timedelta(hours=rng.randint(0, 9))
            if milestone.owner == "person":
                actor = person
            elif milestone.owner == "partner_admin":
                actor = _admin_at(journey.organisation_id, at)
                if actor is None:  # nobody to sign until the partner named an admin
                    actor = _admin_at(journey.organisation_id, now)
                    at = max(at, actor.created_at + timedelta(days=1)) if actor else at
            else:
                actor = vendor_admin
            _sign(milestone, actor, at, _note(milestone.key, rng, journey), now)


def _sign(milestone: JourneyMilestone, actor: User | None, at: datetime, note: str,
          now: datetime, upload: journeys.Upload | None = None) -> None:
    """Sign off at `at` (or once the actor joined), if it is still open and that has passed."""
    if milestone.done_at is not None or actor is None:
        return
    at = max(at, actor.created_at + timedelta(minutes=30))
    if at < now - timedelta(hours=1):
        with clock.frozen(at):
            journeys.sign_off(milestone.id, actor=actor, note=note, upload=upload)


def _note(key: str, rng: random.Random, journey: Journey) -> str:
    organisation = db.session.get(Organisation, journey.organisation_id)
    return NOTES.get(key, "Done.").format(
        n=rng.randint(10000, 99999), m=rng.randint(10000, 99999), k=rng.randint(10000, 99999),
        size=rng.choice([250, 400, 1200, 3000]), org=organisation.name.split()[0].lower())


# --- lookups -------------------------------------------------------------------------------

def _organisation(name: str) -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.name_key == name.lower()))


def _organisation_journey(organisation: Organisation) -> Journey:
    return db.session.scalar(select(Journey).where(
        Journey.organisation_id == organisation.id, Journey.scope == "organisation")
        .options(selectinload(Journey.milestones)))


def _signed_up(organisation: Organisation) -> datetime:
    journey = _organisation_journey(organisation)
    return journey.started_at if journey else organisation.created_at


def _milestone(journey: Journey, key: str) -> JourneyMilestone:
    return next(m for m in journey.milestones if m.key == key)


def _admin_at(organisation_id: int, at: datetime) -> User | None:
    """The partner admin who had most recently joined by `at`."""
    return db.session.scalar(
        select(User).where(User.organisation_id == organisation_id,
                           User.role == "partner_admin", User.active.is_(True),
                           User.created_at <= at)
        .order_by(User.created_at.desc(), User.id.desc()))


def agreement_pdf(organisation: str, signed_on: date) -> bytes:
    """A one-page PDF standing in for the countersigned agreement."""
    lines = ["Kestrel Security Partner Agreement", f"Partner: {organisation}",
             f"Countersigned on {signed_on:%d %B %Y} by Kestrel's partner team.",
             "Demo document: not a real agreement."]
    text = " ".join(f"({_pdf_text(line)}) Tj 0 -22 Td" for line in lines)
    stream = f"BT /F1 13 Tf 72 760 Td {text} ET".encode("latin-1")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
               b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)]
    body, offsets = b"%PDF-1.4\n", []
    for number, content in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, content)
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return body + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)


def _pdf_text(line: str) -> str:
    line = line.encode("latin-1", "replace").decode("latin-1")
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
