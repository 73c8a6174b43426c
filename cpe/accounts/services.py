"""Writes owned by accounts: users with a valid role and scope, passwords, and signing in."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from cpe.accounts import totp
from cpe.accounts.models import TOTPDevice, User
from cpe.accounts.roles import GRANTABLE_ROLES, ROLE_REGION_LEVEL, Role
from cpe.core.crypto import field_keys, key_id_of
from cpe.core.ratelimit import rate_limit_blocked, rate_limit_hit, rate_limit_reset
from cpe.core.services import Actor, audit_record, client_ip, snapshot
from cpe.regions.models import Region

USER_AUDIT_FIELDS = ["username", "display_name", "role", "region", "is_active", "email"]


def _check_role_region(role: str, region: Region | None) -> None:
    level = ROLE_REGION_LEVEL.get(role)
    if level and (region is None or region.level != level):
        raise ValidationError(
            {
                "region": _("This role needs a region of the level: %(level)s.")
                % {"level": Region.Level(level).label}
            }
        )


@transaction.atomic
def user_create(
    *,
    actor: Actor,
    username: str,
    password: str | None,
    role: str,
    region: Region | None = None,
    display_name: str = "",
    email: str = "",
    must_change_password: bool = False,
) -> User:
    """Create a user after checking that the role and region fit together."""
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    _check_role_region(role, region)
    username = username.strip()
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This user name is taken.")})
    user = User(
        username=username,
        role=role,
        region=region,
        display_name=display_name.strip(),
        email=email.strip(),
        is_superuser=role == Role.SUPERUSER,
        is_staff=role == Role.SUPERUSER,  # only superusers reach the Django admin
        must_change_password=must_change_password,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    audit_record(
        actor=actor, action="user.create", target=user, after=snapshot(user, USER_AUDIT_FIELDS)
    )
    return user


# --- Staff accounts, managed by administrators within their scope ---------------------


def grantable_roles(actor: Actor) -> tuple[str, ...]:
    if actor.user is None:
        return tuple(r for r in Role if r != Role.LEARNER)
    return GRANTABLE_ROLES.get(actor.user.role, ())


def user_manageable_by(actor: Actor, user: User) -> bool:
    """An administrator manages the staff whose role they could give, inside their scope."""
    if actor.user is not None and actor.user.pk == user.pk:
        return False
    if user.role not in grantable_roles(actor):
        return False
    return actor.may_act_in(user.region.path) if user.region_id else actor.scope_path == ""


def _check_grant(actor: Actor, role: str, region: Region | None) -> None:
    if role not in grantable_roles(actor):
        raise ValidationError({"role": _("You cannot give this role.")})
    _check_role_region(role, region)
    if region is None:
        if actor.scope_path != "":
            raise ValidationError({"region": _("Choose a region in your area.")})
    elif not actor.may_act_in(region.path):
        raise ValidationError({"region": _("This region is outside your area.")})


def _temporary_password() -> str:
    return secrets.token_urlsafe(9)  # 12 characters, about 72 bits


@transaction.atomic
def staff_user_create(
    *,
    actor: Actor,
    username: str,
    role: str,
    region: Region | None,
    display_name: str = "",
    email: str = "",
) -> tuple[User, str]:
    """Create a staff account with a temporary password, to be changed at first sign-in."""
    _check_grant(actor, role, region)
    password = _temporary_password()
    user = user_create(
        actor=actor,
        username=username,
        password=password,
        role=role,
        region=region,
        display_name=display_name,
        email=email,
        must_change_password=True,
    )
    return user, password


@transaction.atomic
def staff_user_update(
    *,
    actor: Actor,
    user: User,
    role: str,
    region: Region | None,
    display_name: str,
    email: str,
    is_active: bool,
    reason: str = "",
) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user_manageable_by(actor, user):
        raise PermissionDenied
    _check_grant(actor, role, region)
    before = snapshot(user, USER_AUDIT_FIELDS)
    user.role, user.region = role, region
    user.display_name, user.email, user.is_active = display_name.strip(), email.strip(), is_active
    user.is_superuser = user.is_staff = role == Role.SUPERUSER
    user.full_clean(exclude=["password"])
    user.save()
    after = snapshot(user, USER_AUDIT_FIELDS)
    if before != after:
        audit_record(
            actor=actor,
            action="user.update",
            target=user,
            before=before,
            after=after,
            reason=reason,
        )
    return user


@transaction.atomic
def staff_password_reset(*, actor: Actor, user: User) -> str:
    """Give a staff member a new temporary password (they must change it at sign-in)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user_manageable_by(actor, user):
        raise PermissionDenied
    password = _temporary_password()
    user.set_password(password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    audit_record(actor=actor, action="user.password_reset", target=user)
    return password


@transaction.atomic
def password_change(*, actor: Actor, user: User, old_password: str, new_password: str) -> User:
    if not user.check_password(old_password):
        raise ValidationError({"old_password": _("Your current password is not correct.")})
    if new_password == old_password:
        raise ValidationError({"new_password": _("Choose a password different from the old one.")})
    validate_password(new_password, user)
    user.set_password(new_password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    audit_record(actor=actor, action="user.password_change", target=user)
    return user


# --- Signing in -----------------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    error: str = ""


def login_attempt(*, request: HttpRequest, username: str, password: str) -> LoginResult:
    """Check a password sign-in, with throttling per address and per account.

    A wrong user name and a wrong password give the same answer, so the form cannot
    be used to find out who has an account.
    """
    rate = settings.LOGIN_RATE_LIMIT
    ip = client_ip(request) or "unknown"
    account = username.strip().lower()
    if rate_limit_blocked(scope="login-ip", identity=ip, rate=rate) or rate_limit_blocked(
        scope="login-account", identity=account, rate=rate
    ):
        return LoginResult(None, _("Too many attempts. Wait a few minutes and try again."))
    user = authenticate(request, username=username.strip(), password=password)
    if user is None:
        rate_limit_hit(scope="login-ip", identity=ip, rate=rate)
        rate_limit_hit(scope="login-account", identity=account, rate=rate)
        if rate_limit_blocked(scope="login-account", identity=account, rate=rate):
            # This failure used up the allowance: the account is locked from now on.
            audit_record(
                actor=Actor(ip=ip, system="login"),
                action="user.login_locked",
                reason=_("Too many failed sign-ins for %(account)s") % {"account": account[:60]},
            )
        return LoginResult(None, _("The user name or password is not correct."))
    rate_limit_reset(scope="login-account", identity=account)
    audit_record(actor=Actor(user=user, ip=ip), action="user.login", target=user)
    return LoginResult(user)


# --- The second factor (TOTP) for staff ------------------------------------------------
#
# A staff sign-in is two steps. The password step (`login_attempt`) leaves only a
# "pending" note in the anonymous session: who, until when, where to go next. The code
# step checks a code from the person's authenticator app (or, the first time, confirms a
# new one) and only then does the view call `login()`. The session then carries
# SECOND_FACTOR_SESSION_KEY, which `SecondFactorMiddleware` asks of every staff session
# that needs it, so no other way of creating a session (the learner page, the admin's own
# form) can skip the code.

PENDING_SESSION_KEY = "cpe.sign_in_pending"
SECOND_FACTOR_SESSION_KEY = "cpe.second_factor"


def second_factor_required(user: User) -> bool:
    """True for the roles that must use an authenticator app (setting TOTP_REQUIRED_ROLES)."""
    return user.role in settings.TOTP_REQUIRED_ROLES


def totp_device_of(user: User, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).first()


def second_factor_step(user: User) -> str:
    """What a staff sign-in asks after the password: "code", "enrol" or "" (nothing)."""
    if totp_device_of(user) is not None:
        return "code"
    return "enrol" if second_factor_required(user) else ""


def second_factor_satisfied(request: HttpRequest) -> bool:
    """Whether this signed-in session may act as its staff user.

    It may when the code was given at sign-in; otherwise only when the role does not
    require one and the person has not set one up (one small query, for those roles only).
    """
    user = request.user
    if not user.is_authenticated or request.session.get(SECOND_FACTOR_SESSION_KEY):
        return True
    if second_factor_required(user):
        return False
    return not TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def second_factor_mark_verified(request: HttpRequest, device: TOTPDevice) -> None:
    """Call after `login()` (which may start a fresh session)."""
    request.session[SECOND_FACTOR_SESSION_KEY] = device.pk


def login_pending_start(request: HttpRequest, *, user: User, next_url: str = "") -> None:
    request.session[PENDING_SESSION_KEY] = {
        "user": user.pk,
        "until": time.time() + settings.TOTP_PENDING_SECONDS,
        "next": next_url,
    }


def login_pending_clear(request: HttpRequest) -> None:
    request.session.pop(PENDING_SESSION_KEY, None)


def login_pending(request: HttpRequest) -> tuple[User, str] | None:
    """The person who gave their password and their next page, while it is still fresh."""
    pending = request.session.get(PENDING_SESSION_KEY)
    if not isinstance(pending, dict):
        return None
    if float(pending.get("until", 0)) < time.time():
        login_pending_clear(request)
        return None
    user = User.objects.filter(pk=pending.get("user"), is_active=True).first()
    if user is None:
        login_pending_clear(request)
        return None
    return user, str(pending.get("next") or "")


def _code_error() -> ValidationError:
    # One answer for a wrong, an old and a reused code.
    return ValidationError(
        _("The code is not correct. Enter the current code from your authenticator app."),
        code="invalid",
    )


def _throttle_error() -> ValidationError:
    return ValidationError(
        _("Too many attempts. Wait a few minutes and try again."), code="throttled"
    )


def _code_throttled(actor: Actor, user: User) -> bool:
    rate = settings.TOTP_RATE_LIMIT
    return rate_limit_blocked(
        scope="totp-ip", identity=actor.ip or "unknown", rate=rate
    ) or rate_limit_blocked(scope="totp-account", identity=str(user.pk), rate=rate)


def _code_failed(actor: Actor, user: User) -> None:
    """Count a wrong code against the address and the account; audit the one that locks."""
    rate = settings.TOTP_RATE_LIMIT
    rate_limit_hit(scope="totp-ip", identity=actor.ip or "unknown", rate=rate)
    rate_limit_hit(scope="totp-account", identity=str(user.pk), rate=rate)
    if rate_limit_blocked(scope="totp-account", identity=str(user.pk), rate=rate):
        audit_record(
            actor=actor,
            action="user.totp_locked",
            target=user,
            reason=_("Too many wrong authenticator codes"),
        )


def _step_for(device: TOTPDevice | None, code: str) -> int | None:
    if device is None or not code:
        return None
    secret = totp.open_secret(device.secret_encrypted, user_id=device.user_id)
    return totp.matching_step(secret, code, after_step=device.last_used_step)


def _use_step(device: TOTPDevice, step: int) -> None:
    device.last_used_step = step
    device.last_used_at = timezone.now()
    device.save(update_fields=["last_used_step", "last_used_at"])


@transaction.atomic
def totp_enrolment_start(*, actor: Actor, user: User) -> TOTPDevice:
    """The authenticator being set up for `user`: the one already started, or a new one.

    Nothing is audited yet: an unconfirmed device signs nobody in.
    """
    User.objects.select_for_update().filter(pk=user.pk).first()  # one set-up at a time
    device = totp_device_of(user, confirmed=False)
    if device is None:
        device = TOTPDevice.objects.create(
            user=user, secret_encrypted=totp.seal_secret(totp.new_secret(), user_id=user.pk)
        )
    return device


def totp_enrolment_details(device: TOTPDevice) -> dict[str, str]:
    """What the set-up page shows: the QR code and the secret for typing in by hand."""
    secret = totp.open_secret(device.secret_encrypted, user_id=device.user_id)
    issuer = settings.PLATFORM_NAME or "CPE"
    uri = totp.provisioning_uri(secret, account=device.user.get_username(), issuer=issuer)
    return {"secret": secret, "secret_grouped": totp.grouped(secret), "qr_svg": totp.qr_svg(uri)}


def totp_enrolment_confirm(
    *, actor: Actor, user: User, code: str, current_code: str = ""
) -> TOTPDevice:
    """Confirm the authenticator being set up with a code from it.

    Someone who already has one (re-enrolling, e.g. for a new phone) must also give a
    current code from the old one, which is then replaced. Wrong codes count against the
    same limits as at sign-in.
    """
    if _code_throttled(actor, user):
        raise _throttle_error()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        devices = {d.confirmed: d for d in TOTPDevice.objects.select_for_update().filter(user=user)}
        pending, current = devices.get(False), devices.get(True)
        step = _step_for(pending, code)
        current_step = _step_for(current, current_code) if current is not None else None
        if step is not None and (current is None or current_step is not None):
            if current is not None:
                current.delete()
            pending.confirmed = True
            pending.confirmed_at = timezone.now()
            pending.save(update_fields=["confirmed", "confirmed_at"])
            _use_step(pending, step)
            audit_record(
                actor=actor,
                action="user.totp_reenrol" if current is not None else "user.totp_enrol",
                target=user,
            )
            rate_limit_reset(scope="totp-account", identity=str(user.pk))
            return pending
    # Outside the transaction, so that the audit entry of a lock-out is kept.
    _code_failed(actor, user)
    errors: dict[str, list[ValidationError]] = {}
    if step is None:
        errors["code"] = [_code_error()]
    if current is not None and current_step is None:
        errors["current_code"] = [_code_error()]
    raise ValidationError(errors)


def login_second_factor(*, request: HttpRequest, code: str) -> tuple[User, TOTPDevice]:
    """The code step of a staff sign-in: a code from the confirmed authenticator.

    Raises ValidationError with the same words for a wrong, an old and a reused code, and
    PermissionDenied when there is no fresh password step to finish.
    """
    pending = login_pending(request)
    if pending is None:
        raise PermissionDenied
    user = pending[0]
    actor = Actor(user=user, ip=client_ip(request))
    if _code_throttled(actor, user):
        raise _throttle_error()
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        step = _step_for(device, code)
        if device is not None and step is not None:
            _use_step(device, step)
            audit_record(actor=actor, action="user.login_second_factor", target=user)
            rate_limit_reset(scope="totp-account", identity=str(user.pk))
            login_pending_clear(request)
            return user, device
    _code_failed(actor, user)
    raise _code_error()


def login_enrolment_confirm(*, request: HttpRequest, code: str) -> tuple[User, TOTPDevice]:
    """The first staff sign-in of a role that needs a second factor: set it up, then enter."""
    pending = login_pending(request)
    if pending is None or totp_device_of(pending[0]) is not None:
        raise PermissionDenied
    user = pending[0]
    device = totp_enrolment_confirm(
        actor=Actor(user=user, ip=client_ip(request)), user=user, code=code
    )
    login_pending_clear(request)
    return user, device


@transaction.atomic
def totp_reset(*, actor: Actor, user: User, reason: str) -> int:
    """An administrator removes a staff member's authenticator (lost phone); the person sets
    up a new one at their next sign-in. Returns how many devices were removed."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user_manageable_by(actor, user):
        raise PermissionDenied
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the authenticator is reset.")})
    removed, _details = TOTPDevice.objects.filter(user=user).delete()
    if not removed:
        raise ValidationError(_("This account has no authenticator to reset."))
    rate_limit_reset(scope="totp-account", identity=str(user.pk))
    # Whoever holds the lost phone may also hold a signed-in session: it ends too.
    user.sessions_end()
    audit_record(actor=actor, action="user.totp_reset", target=user, reason=reason)
    return removed


def totp_devices_rotate_keys(*, actor: Actor) -> int:
    """Re-encrypt every TOTP secret with the newest FIELD_ENCRYPTION_KEYS key (after rotation).

    Staff are few (thousands at most), so one pass in one transaction is enough.
    """
    current = field_keys().current
    changed = 0
    with transaction.atomic():
        for device in TOTPDevice.objects.select_for_update().order_by("pk"):
            if key_id_of(device.secret_encrypted) == current:
                continue
            secret = totp.open_secret(device.secret_encrypted, user_id=device.user_id)
            device.secret_encrypted = totp.seal_secret(secret, user_id=device.user_id)
            device.save(update_fields=["secret_encrypted"])
            changed += 1
        if changed:
            audit_record(
                actor=actor,
                action="user.totp_rotate_keys",
                reason=f"{changed} authenticator secrets re-encrypted with key {current}",
            )
    return changed
