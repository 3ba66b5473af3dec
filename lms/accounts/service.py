"""Accounts operations. Services flush, never commit; the caller commits once."""

from __future__ import annotations

from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, literal, select, update

from lms.accounts import headcount, sessions
from lms.accounts.models import (
    ORGANISATION_STATUSES,
    PARTNER_ROLES,
    ROLES,
    Invitation,
    LoginAttempt,
    Organisation,
    PasswordReset,
    Term,
    User,
)
from lms.accounts.passwords import check_policy, hash_password, verify_password
from lms.core import clock, events, mail, settings, tallies, tokens
from lms.core.errors import Conflict, Invalid, NotFound, PermissionDenied, TooManyRequests
from lms.core.text import has_bidi_controls
from lms.extensions import db

# --- vocabularies --------------------------------------------------------------------------

def terms(kind: str, *, include_archived: bool = False) -> list[Term]:
    query = select(Term).where(Term.kind == kind).order_by(Term.rank, Term.name)
    if not include_archived:
        query = query.where(Term.archived_at.is_(None))
    return list(db.session.scalars(query))


def term_names(kind: str) -> dict[str, str]:
    return {term.code: term.name for term in terms(kind, include_archived=True)}


def _check_term(kind: str, code: str | None, field: str, *, required: bool = True) -> None:
    if not code:
        if required:
            raise Invalid("This field is required.", field=field)
        return
    known = {term.code for term in terms(kind)}
    if code not in known:
        label = kind.replace("_", " ")
        raise Invalid(f"Unknown {label} '{code}'.", field=field)


# --- organisations -------------------------------------------------------------------------

def create_organisation(*, name: str, partner_type: str, tier: str, region: str,
                        status: str = "active") -> Organisation:
    """Create a partner organisation after checking its vocabulary and unique name."""
    organisation = Organisation()
    _apply_organisation_fields(organisation, name=name, partner_type=partner_type, tier=tier,
                               region=region, status=status)
    db.session.add(organisation)
    db.session.flush()
    events.organisation_changed.send(organisation.id, fields={"created"})
    return organisation


def update_organisation(organisation_id: int, **fields) -> Organisation:
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("No such organisation.")
    before = {key: getattr(organisation, key) for key in fields}
    _apply_organisation_fields(organisation, **fields)
    db.session.flush()
    changed = {key for key in fields if getattr(organisation, key) != before[key]}
    if changed:
        events.organisation_changed.send(organisation.id, fields=changed)
    return organisation


def _apply_organisation_fields(organisation: Organisation, *, name: str, partner_type: str,
                               tier: str, region: str, status: str) -> None:
    name = _checked_name(name, "name", missing="Give the organisation a name.")
    clash = db.session.scalar(
        select(Organisation.id).where(Organisation.name_key == name.lower(),
                                      Organisation.id != organisation.id)
    )
    if clash is not None:
        raise Conflict(f"An organisation called '{name}' already exists.", field="name")
    _check_term("partner_type", partner_type, "partner_type")
    _check_term("tier", tier, "tier")
    _check_term("region", region, "region")
    if status not in ORGANISATION_STATUSES:
        raise Invalid(f"Status must be one of {', '.join(ORGANISATION_STATUSES)}.", field="status")
    organisation.name = name
    organisation.name_key = name.lower()
    organisation.partner_type = partner_type
    organisation.tier = tier
    organisation.region = region
    organisation.status = status


# --- users ---------------------------------------------------------------------------------

def _checked_name(value: str | None, field: str, *, missing: str) -> str:
    """A name as it will be shown to others: present, and free of the invisible controls
    that reorder text (a name could otherwise make a certificate read differently)."""
    value = (value or "").strip()
    if not value:
        raise Invalid(missing, field=field)
    if has_bidi_controls(value):
        raise Invalid("Names cannot contain invisible text-direction characters (such as "
                      "right-to-left override). Type the name without them.", field=field)
    return value


def normalise_email(email: str, field: str = "email") -> str:
    try:
        result = validate_email((email or "").strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise Invalid(f"That email address is not valid: {error}", field=field) from None
    return result.normalized.lower()


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def create_user(*, email: str, full_name: str, role: str, organisation_id: int | None = None,
                job_role: str | None = None, password: str | None = None,
                locale: str = "en") -> User:
    """Create a person; partner staff need an organisation and a job role."""
    email = normalise_email(email)
    if get_user_by_email(email) is not None:
        raise Conflict("Someone with that email address already has an account.", field="email")
    full_name = _checked_name(full_name, "full_name", missing="Give the person's full name.")
    if role not in ROLES:
        raise Invalid("Unknown role.", field="role")
    if role in PARTNER_ROLES:
        if organisation_id is None or db.session.get(Organisation, organisation_id) is None:
            raise Invalid("Partner staff must belong to an organisation.", field="organisation_id")
        _check_term("job_role", job_role, "job_role")
    else:
        organisation_id = None
        _check_term("job_role", job_role, "job_role", required=False)
    user = User(email=email, full_name=full_name, role=role, organisation_id=organisation_id,
                job_role=job_role or None, locale=locale,
                password_hash=hash_password(password) if password else None)
    db.session.add(user)
    db.session.flush()
    tallies.add_one(PEOPLE)
    headcount.moved(user.id, None, headcount.place(user, invited=False))  # no invitation yet
    events.user_created.send(user.id)
    return user


# Everyone with an account, kept by create_user (people are deactivated, never deleted): the
# vendor's people list shows the number without counting 200,000 rows on every view.
PEOPLE = "people"


@tallies.recount(PEOPLE)
def _recount_people():
    return select(literal(tallies.PLATFORM), literal(""), func.count(User.id))


def update_user(user_id: int, *, actor: User | None = None, **fields) -> User:
    """Change a person's name, role, organisation, job role or active flag.

    With an `actor`, nobody can lock themself out: no demoting or deactivating oneself.
    """
    user = _get_user(user_id)
    if actor is not None and actor.id == user.id and (
            fields.get("active", True) is False or fields.get("role", user.role) != user.role):
        raise Invalid("You cannot change your own role or deactivate yourself.",
                      field="active" if fields.get("active", True) is False else "role")
    # What may change besides what was asked: a vendor role clears the organisation.
    before = {key: getattr(user, key)
              for key in {*fields, "role", "organisation_id", "job_role", "active"}}
    invited = headcount.ever_invited(user)
    counted = headcount.place(user, invited=invited)
    if "full_name" in fields:
        user.full_name = _checked_name(fields["full_name"], "full_name",
                                       missing="Give the person's full name.")
    role = fields.get("role", user.role)
    if role not in ROLES:
        raise Invalid("Unknown role.", field="role")
    organisation_id = fields.get("organisation_id", user.organisation_id)
    job_role = fields.get("job_role", user.job_role)
    if role in PARTNER_ROLES:
        if organisation_id is None or db.session.get(Organisation, organisation_id) is None:
            raise Invalid("Partner staff must belong to an organisation.", field="organisation_id")
        _check_term("job_role", job_role, "job_role")
    else:
        organisation_id = None
        _check_term("job_role", job_role, "job_role", required=False)
    user.role, user.organisation_id, user.job_role = role, organisation_id, job_role or None
    if "active" in fields:
        user.active = bool(fields["active"])
    db.session.flush()
    headcount.moved(user.id, counted, headcount.place(user, invited=invited))
    changed = {key for key in before if getattr(user, key) != before[key]}
    if changed & {"role", "organisation_id", "active"}:
        # What an open session was allowed to do is no longer what this person may do.
        sessions.end_all(user.id)
    if "active" in changed and not user.active:
        _cancel_links(user.id)
    if changed:
        events.user_changed.send(user.id, fields=changed,
                                 previous={key: before[key] for key in changed})
    return user


def change_job_role(user_id: int, job_role: str) -> User:
    return update_user(user_id, job_role=job_role)


def set_active(user_id: int, active: bool, *, actor: User) -> User:
    return update_user(user_id, actor=actor, active=active)


def set_password(user_id: int, password: str) -> User:
    """Set a new password; every session signed in with the old one ends."""
    user = _get_user(user_id)
    counted = headcount.place(user)
    user.password_hash = hash_password(password)
    headcount.moved(user.id, counted, headcount.place(user))
    sessions.end_all(user.id)
    db.session.flush()
    return user


def _cancel_links(user_id: int) -> None:
    """A deactivated person's open invitation and reset links die now, so reactivating the
    account later does not bring an old link back to life."""
    now = clock.now()
    db.session.execute(update(Invitation).where(
        Invitation.user_id == user_id, Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None)).values(revoked_at=now))
    db.session.execute(update(PasswordReset).where(
        PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None)).values(used_at=now))


def _get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such person.")
    return user


# --- invitations ---------------------------------------------------------------------------

def invite_user(*, organisation_id: int | None, email: str, full_name: str,
                job_role: str | None, role: str = "learner", invited_by: User
                ) -> tuple[User, str]:
    """Create the person (without a password) and mail them a link to set one.

    Partner staff need their organisation; vendor staff (created by a vendor admin) none.
    """
    if role not in PARTNER_ROLES and invited_by.role != "vendor_admin":
        raise PermissionDenied("Only vendor admins add vendor staff.")
    existing = get_user_by_email(email) if email else None
    if existing is not None and invited_by.role == "partner_admin":
        # Say no more than needed: the address may belong to another partner's staff.
        same_team = existing.organisation_id == invited_by.organisation_id
        raise Conflict("This person is already on your team." if same_team else
                       "This address cannot be invited. If the person has moved from another "
                       "partner, ask the vendor's partner team to move their account.",
                       field="email")
    user = create_user(email=email, full_name=full_name, role=role,
                       organisation_id=organisation_id, job_role=job_role)
    secret = _issue_invitation(user, invited_by)
    return user, secret


def resend_invitation(user_id: int, *, invited_by: User) -> str:
    user = _get_user(user_id)
    if user.has_password:
        raise Conflict("This person has already accepted their invitation.")
    now = clock.now()
    for invitation in db.session.scalars(
        select(Invitation).where(Invitation.user_id == user.id, Invitation.accepted_at.is_(None),
                                 Invitation.revoked_at.is_(None))
    ):
        invitation.revoked_at = now
    return _issue_invitation(user, invited_by)


def _issue_invitation(user: User, invited_by: User) -> str:
    secret, token_hash = tokens.new_token()
    ttl = timedelta(days=current_app.config["INVITATION_TTL_DAYS"])
    counted = headcount.place(user)  # an invitation makes a person without a password invited
    db.session.add(Invitation(token_hash=token_hash, user_id=user.id, invited_by_id=invited_by.id,
                              expires_at=clock.now() + ttl))
    headcount.moved(user.id, counted, headcount.place(user, invited=True))
    organisation = user.organisation
    team = organisation.name if organisation else settings.get("vendor_name")
    mail.send(user.email, f"You are invited to the {team} partner academy", "invitation",
              sensitive=True, user=user, inviter=invited_by, team=team,
              link=f"{current_app.config['BASE_URL']}/invitations/{secret}",
              expires_days=ttl.days)
    db.session.flush()
    return secret


def find_invitation(secret: str) -> Invitation:
    """The open invitation behind a link, or a clear reason why it cannot be used."""
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == tokens.digest(secret or ""))
    )
    if invitation is None or invitation.revoked_at is not None:
        raise NotFound("This invitation link is not valid. Ask your partner admin for a new one.")
    if invitation.accepted_at is not None:
        raise Conflict("This invitation has already been used. Sign in with your email and "
                       "password, or reset your password if you forgot it.")
    if invitation.expires_at <= clock.now():
        raise Invalid("This invitation has expired. Ask your partner admin to send a new one.")
    if not invitation.user.active:
        raise PermissionDenied("This account has been deactivated.")
    return invitation


def accept_invitation(secret: str, password: str) -> User:
    invitation = find_invitation(secret)
    check_policy(password)
    invitation.accepted_at = clock.now()
    counted = headcount.place(invitation.user, invited=True)
    invitation.user.password_hash = hash_password(password)
    headcount.moved(invitation.user_id, counted,
                    headcount.place(invitation.user, invited=True))
    sessions.end_all(invitation.user_id)
    db.session.flush()
    # Accepting makes an invited person staff (accounts.models.active_staff): what counts
    # staff, such as readiness, must hear of it.
    events.user_changed.send(invitation.user_id, fields={"accepted"}, previous={})
    return invitation.user


# --- password reset ------------------------------------------------------------------------

def request_password_reset(email: str, *, ip_address: str) -> None:
    """Mail a reset link if the account exists; say nothing either way (no enumeration).

    Every request counts against the email and the address, whether or not the account
    exists, so the limit itself reveals nothing either.
    """
    email = normalise_email(email)
    throttle("password_reset", email=email, ip_address=ip_address, failures_only=False,
             limit=current_app.config["PASSWORD_RESET_MAX_REQUESTS"])
    db.session.add(LoginAttempt(action="password_reset", email=email, ip_address=ip_address,
                                succeeded=True))
    db.session.flush()
    user = get_user_by_email(email)
    if user is None or not user.active:
        return
    secret, token_hash = tokens.new_token()
    ttl = timedelta(minutes=current_app.config["PASSWORD_RESET_TTL_MINUTES"])
    db.session.add(PasswordReset(token_hash=token_hash, user_id=user.id,
                                 expires_at=clock.now() + ttl))
    mail.send(user.email, "Reset your partner academy password", "password_reset",
              sensitive=True, user=user,
              link=f"{current_app.config['BASE_URL']}/password/reset/{secret}",
              expires_minutes=int(ttl.total_seconds() // 60))
    db.session.flush()


def find_password_reset(secret: str) -> PasswordReset:
    reset = db.session.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == tokens.digest(secret or ""))
    )
    if reset is None:
        raise NotFound("This reset link is not valid. Ask for a new one.")
    if reset.used_at is not None:
        raise Conflict("This reset link has already been used. Ask for a new one if needed.")
    if reset.expires_at <= clock.now():
        raise Invalid("This reset link has expired. Ask for a new one.")
    if not reset.user.active:
        raise PermissionDenied("This account has been deactivated.")
    return reset


def reset_password(secret: str, password: str) -> User:
    reset = find_password_reset(secret)
    check_policy(password)
    now = clock.now()
    reset.used_at = now
    counted = headcount.place(reset.user)
    reset.user.password_hash = hash_password(password)
    headcount.moved(reset.user_id, counted, headcount.place(reset.user))
    sessions.end_all(reset.user_id)
    # Any other outstanding links die with this one.
    for other in db.session.scalars(
        select(PasswordReset).where(PasswordReset.user_id == reset.user_id,
                                    PasswordReset.used_at.is_(None))
    ):
        other.used_at = now
    db.session.flush()
    return reset.user


# --- login ---------------------------------------------------------------------------------

def throttle(action: str, *, email: str, ip_address: str, limit: int,
             failures_only: bool = True) -> None:
    """Refuse `action` (sign-in, reset request) once `email` or `ip_address` has used up its
    allowance inside the window; TooManyRequests says when the oldest counted one expires.

    An address gets four times an account's allowance: offices share an address.
    """
    window = timedelta(minutes=current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"])
    now = clock.now()
    counted = [LoginAttempt.action == action, LoginAttempt.attempted_at >= now - window]
    if failures_only:
        counted.append(LoginAttempt.succeeded.is_(False))
    by_email, by_address = LoginAttempt.email == email, LoginAttempt.ip_address == ip_address
    row = db.session.execute(select(
        func.count().filter(by_email), func.min(LoginAttempt.attempted_at).filter(by_email),
        func.count().filter(by_address), func.min(LoginAttempt.attempted_at).filter(by_address),
    ).where(*counted)).one()
    oldest = [first for count, first, allowed in ((row[0], row[1], limit),
                                                  (row[2], row[3], 4 * limit))
              if count >= allowed]
    if oldest:
        wait = min(oldest) + window - now
        minutes = max(1, -(-int(wait.total_seconds()) // 60))
        what, besides = (("failed sign-ins", ", or reset your password") if action == "sign_in"
                         else ("password reset requests", ""))
        raise TooManyRequests(f"Too many {what}. Try again in {minutes} minute"
                              f"{'' if minutes == 1 else 's'}{besides}.",
                              retry_after=int(wait.total_seconds()) + 1)


def authenticate(email: str, password: str, *, ip_address: str) -> User:
    """Check credentials, throttling repeated failures per email and per address."""
    email = (email or "").strip().lower()
    throttle("sign_in", email=email, ip_address=ip_address,
             limit=current_app.config["LOGIN_MAX_FAILURES"])
    user = get_user_by_email(email) if email else None
    ok = verify_password(user.password_hash if user else None, password or "")
    db.session.add(LoginAttempt(email=email, ip_address=ip_address, succeeded=ok))
    if not ok:
        db.session.flush()
        raise Invalid("That email and password do not match an account.", field="password")
    if not user.active:
        db.session.flush()
        raise PermissionDenied("This account has been deactivated. Ask your partner admin.")
    user.last_login_at = clock.now()
    db.session.flush()
    return user


def term_choices(kind: str) -> list[tuple[str, str]]:
    """(code, name) pairs of a vocabulary, for select fields."""
    return [(term.code, term.name) for term in terms(kind)]
