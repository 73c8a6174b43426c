"""Writes owned by accounts: users with a valid role and scope, passwords, and signing in."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from cpe.accounts.models import User
from cpe.accounts.roles import GRANTABLE_ROLES, ROLE_REGION_LEVEL, Role
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
