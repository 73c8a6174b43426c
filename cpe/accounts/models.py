"""Platform users: learners and staff, each with one role and, for most roles, one region."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from cpe.accounts.roles import CAPABILITIES, ROLE_REGION_LEVEL, STAFF_ROLES, Role


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, default=Role.LEARNER)
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        help_text=_("The district, city or province this person works in or for."),
    )
    display_name = models.CharField(_("full name"), max_length=60, blank=True)
    # Set when an administrator gives a temporary password; cleared by choosing a new one.
    must_change_password = models.BooleanField(_("must choose a new password"), default=False)
    # Part of every session's check value: raising it ends all of the person's sessions
    # (an authenticator reset after a lost phone), without touching the password.
    session_generation = models.PositiveIntegerField(default=0, editable=False)

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Django checks a session against this value (and its fallback-key variants), so
        # generation 0 keeps Django's own value and sessions from before it stay valid.
        value = super()._get_session_auth_hash(secret=secret)
        if not self.session_generation:
            return value
        return salted_hmac(
            "cpe.accounts.session_generation",
            f"{value}:{self.session_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def sessions_end(self) -> None:
        """End every signed-in session of this person at their next request."""
        User.objects.filter(pk=self.pk).update(session_generation=F("session_generation") + 1)
        self.refresh_from_db(fields=["session_generation"])

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=~Q(role__in=list(ROLE_REGION_LEVEL)) | Q(region__isnull=False),
                name="user_role_needs_region",
            ),
            models.UniqueConstraint(Lower("username"), name="user_username_unique_any_case"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.get_username()

    @property
    def is_learner(self) -> bool:
        return self.role == Role.LEARNER

    @property
    def is_staff_member(self) -> bool:
        return self.role in STAFF_ROLES

    def has_capability(self, capability: str) -> bool:
        if not self.is_active:
            return False
        return capability in CAPABILITIES.get(self.role, frozenset())

    @property
    def scope_path(self) -> str | None:
        """Where this person may act: a region path, "" for platform-wide, None for nowhere."""
        if not self.is_active or self.role == Role.LEARNER:
            return None
        if self.region_id is None:
            # Only roles not tied to a region may be platform-wide (the check constraint
            # keeps officers and administrators from ever having no region).
            return "" if self.role not in ROLE_REGION_LEVEL else None
        return self.region.path

    @property
    def audit_region_path(self) -> str:
        return self.region.path if self.region_id else ""


class TOTPDevice(models.Model):
    """An authenticator app a staff member set up for the second factor (RFC 6238).

    A person has at most one confirmed device, which signs them in, and at most one
    being set up, which becomes the confirmed one when they type a code from it. The
    secret is encrypted at rest (AES-GCM, bound to the owner: see `cpe.accounts.totp`).
    """

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="totp_devices"
    )
    secret_encrypted = models.CharField(max_length=200)
    confirmed = models.BooleanField(_("confirmed"), default=False)
    # The newest time step whose code was accepted: a code is never accepted twice.
    last_used_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("set up on"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("authenticator")
        verbose_name_plural = _("authenticators")
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(confirmed=True), name="totp_one_confirmed_per_user"
            ),
            models.UniqueConstraint(
                fields=["user"], condition=Q(confirmed=False), name="totp_one_pending_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} TOTP"

    @property
    def audit_region_path(self) -> str:
        return self.user.audit_region_path
