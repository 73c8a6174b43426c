"""Writes owned by accounts: creating users with a valid role and scope, and signing in."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from cpe.accounts.models import User
from cpe.accounts.roles import ROLE_REGION_LEVEL, Role
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
) -> User:
    """Create a user after checking that the role and region fit together."""
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    _check_role_region(role, region)
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This user name is taken.")})
    user = User(
        username=username,
        role=role,
        region=region,
        display_name=display_name,
        email=email,
        is_superuser=role == Role.SUPERUSER,
        is_staff=role == Role.SUPERUSER,  # only superusers reach the Django admin
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
        locked = rate_limit_hit(scope="login-account", identity=account, rate=rate)
        if locked:
            audit_record(
                actor=Actor(ip=ip, system="login"),
                action="user.login_locked",
                reason=_("Too many failed sign-ins for %(account)s") % {"account": account[:60]},
            )
        return LoginResult(None, _("The user name or password is not correct."))
    rate_limit_reset(scope="login-account", identity=account)
    audit_record(actor=Actor(user=user, ip=ip), action="user.login", target=user)
    return LoginResult(user)
