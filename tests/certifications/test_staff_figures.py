"""A partner's staff certificate figures (the tiles and the by-program table) and lists stay
equal to those straight from the rows (each person's latest cycle, among the people the
partner has now) after every kind of write and at any moment: issue, renewal, revocation,
a new start after a lapse, a move to another partner or to the vendor, deactivation, and
time passing over the instants a status changes. The certificates' holder columns stay as
the rows say, and `lms tallies check` / `rebuild` cover them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, distinct, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from lms.accounts import service as accounts
from lms.accounts.models import User
from lms.certifications import holders, lists, service
from lms.certifications.models import STATUSES, Certificate
from lms.core import clock
from lms.extensions import db
from tests.certifications.test_issuing import RENEWAL, certificates, learner, pass_exam
from tests.factories import make_organisation, make_user

DAY = timedelta(days=1)


def _counted_from_rows(organisation_id: int, now: datetime) -> dict:
    """The figures as the page counted them before holders.py: the latest cycle by an
    anti-join, the partner and the active flag from the people."""
    later = aliased(Certificate)
    latest = ~exists().where(later.user_id == Certificate.user_id,
                             later.program_id == Certificate.program_id,
                             later.cycle > Certificate.cycle)

    def of_partner(*columns):
        return (select(*columns).select_from(Certificate)
                .join(User, User.id == Certificate.user_id)
                .where(User.organisation_id == organisation_id, latest))

    valid = or_(lists.status_condition("active", now), lists.status_condition("expiring", now))
    lapsed = and_(lists.status_condition("expired", now), Certificate.grace_ends_at <= now)
    tiles = db.session.execute(of_partner(
        func.count().filter(valid),
        func.count(distinct(User.id)).filter(and_(valid, User.active.is_(True))),
        func.count().filter(lists.to_renew_condition(now)),
        func.count().filter(or_(Certificate.revoked_at.is_not(None), lapsed)))).one()
    by_program = {name: dict(zip(STATUSES, counts, strict=True))
                  for name, *counts in db.session.execute(of_partner(
                      Certificate.program_name,
                      *(func.count().filter(lists.status_condition(state, now))
                        for state in STATUSES)).group_by(Certificate.program_name))}
    listed = {view: set(db.session.scalars(of_partner(Certificate.id).where(
        *([lists.to_renew_condition(now)] if view == "renew" else []))))
        for view in lists.STAFF_VIEWS}
    return {"tiles": tuple(tiles), "by_program": by_program, "listed": listed}


def _shown(organisation_id: int, actor: User, now: datetime) -> dict:
    summary = lists.staff_summary(organisation_id, actor, now)
    listed = {view: {certificate.id for certificate, _ in lists.staff_page(
        organisation_id, actor, view=view, search=None, page=1, per_page=1000, now=now,
        summary=summary).rows} for view in lists.STAFF_VIEWS}
    return {"tiles": (summary.valid, summary.holders, summary.to_renew, summary.gone),
            "by_program": summary.by_program, "listed": listed}


def exact(organisations, actor: User, *moments: datetime) -> bool:
    """The holder columns are as the rows say, and each partner's figures and lists equal
    those from the rows now and at each of `moments`."""
    assert holders.wrong() == 0
    for moment in (clock.now(), *moments):
        for organisation in organisations:
            assert _shown(organisation.id, actor, moment) \
                == _counted_from_rows(organisation.id, moment), (organisation.name, moment)
    return True


def _around(certificate: Certificate) -> list[datetime]:
    """The instants a certificate's figures change, a moment either side, and its days'
    midnights."""
    moments = []
    for instant in (certificate.renewal_opens_at, certificate.expires_at,
                    certificate.expires_at - timedelta(days=lists.EXPIRING_SOON_DAYS),
                    certificate.grace_ends_at):
        midnight = datetime.combine(instant.date(), datetime.min.time(), tzinfo=UTC)
        moments += [instant - timedelta(microseconds=1), instant, instant + DAY, midnight]
    return moments


def test_the_figures_equal_a_count_from_the_rows_after_every_kind_of_write(frozen_clock):
    clock.set_now(datetime(2026, 2, 3, 10, 0, tzinfo=UTC))
    north, south = make_organisation("North Figures"), make_organisation("South Figures")
    vendor = make_user(role="vendor_admin")
    both = (north, south)
    people = [learner(north, full_name=f"North {i}") for i in range(4)]
    stayer = learner(south, full_name="South Stayer")
    assert exact(both, vendor)

    # Issued, a day apart (so their days differ).
    for person in [*people, stayer]:
        pass_exam(person)
        clock.set_now(clock.now() + DAY + timedelta(hours=3))
    [first] = certificates(people[0].id)
    assert _shown(north.id, vendor, clock.now())["tiles"] == (4, 4, 0, 0)
    assert exact(both, vendor, *_around(first))

    # Renewed in the window: the renewal is the latest cycle, the old one superseded.
    clock.set_now(first.renewal_opens_at + DAY)
    pass_exam(people[0], RENEWAL)
    old, renewal = certificates(people[0].id)
    assert (old.latest, renewal.latest) == (False, True) and old.superseded_at is not None
    assert exact(both, vendor, *_around(renewal), *_around(first))

    # Revoked: gone, not valid.
    [revoked] = certificates(people[1].id)
    service.revoke(revoked.id, reason="shared the exam answers", actor=vendor)
    assert exact(both, vendor, *_around(revoked))

    # Moved to the other partner, and to the vendor: the figures go with the person.
    accounts.update_user(people[2].id, organisation_id=south.id)
    assert _shown(south.id, vendor, clock.now())["tiles"][1] == 2
    assert exact(both, vendor)
    accounts.update_user(people[3].id, role="channel_manager")
    assert exact(both, vendor)

    # Deactivated: still counted among the certificates, no longer among the holders.
    before = _shown(south.id, vendor, clock.now())["tiles"]
    accounts.set_active(stayer.id, False, actor=vendor)
    after = _shown(south.id, vendor, clock.now())["tiles"]
    assert (after[0], after[1]) == (before[0], before[1] - 1)
    assert exact(both, vendor)
    accounts.set_active(stayer.id, True, actor=vendor)
    assert exact(both, vendor)

    # Lapsed past its grace period and earned again: a new cycle that supersedes nothing.
    [moved] = certificates(people[2].id)
    clock.set_now(moved.grace_ends_at + DAY)
    assert exact(both, vendor)
    pass_exam(people[2])
    lapsed, again = certificates(people[2].id)
    assert (lapsed.latest, again.latest, lapsed.superseded_at) == (False, True, None)
    assert exact(both, vendor, *_around(again))


def test_a_partner_admin_sees_the_same_figures_as_the_vendor(frozen_clock):
    organisation = make_organisation("Admin Figures")
    for _ in range(3):
        pass_exam(learner(organisation))
    admin = make_user(organisation, role="partner_admin")
    vendor = make_user(role="channel_manager")
    now = clock.now()
    assert _shown(organisation.id, admin, now) == _shown(organisation.id, vendor, now) \
        == _counted_from_rows(organisation.id, now)
    # Another partner's admin is scoped out of this partner's rows altogether.
    stranger = make_user(make_organisation("Other Figures"), role="partner_admin")
    assert _shown(organisation.id, stranger, now)["tiles"] == (0, 0, 0, 0)


def test_check_finds_and_rebuild_repairs_the_holder_columns(app):
    runner = app.test_cli_runner()
    organisation = make_organisation("Drift Figures")
    person = learner(organisation)
    pass_exam(person)
    db.session.commit()
    # A write behind the services' back (as a bulk load is) leaves them wrong...
    db.session.execute(update(Certificate).where(Certificate.user_id == person.id)
                       .values(holder_organisation_id=None, latest=False))
    db.session.commit()
    checked = runner.invoke(args=["tallies", "check"])
    assert checked.exit_code == 1
    assert f"{holders.NAME}: differs in 1 rows" in checked.output
    # ...until they are rebuilt.
    rebuilt = runner.invoke(args=["tallies", "rebuild", holders.NAME])
    assert rebuilt.exit_code == 0, rebuilt.output
    checked = runner.invoke(args=["tallies", "check"])
    assert checked.exit_code == 0 and f"{holders.NAME}: exact" in checked.output
    db.session.expire_all()
    assert exact([organisation], make_user(role="vendor_admin"))
