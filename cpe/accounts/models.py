"""Platform users: learners and staff, each with one role and, for most roles, one region."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
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
