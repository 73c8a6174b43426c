"""Notices shown on the home page, and the API keys of offices that query completion."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class NoticeQuerySet(models.QuerySet["Notice"]):
    def published(self) -> NoticeQuerySet:
        return self.filter(is_published=True).order_by("-pinned", "-published_at", "-id")


class Notice(models.Model):
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text (Markdown)"))
    # Rendered and sanitised once, when the notice is saved.
    body_html = models.TextField(editable=False, default="")
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("Leave empty for a notice from the platform itself."),
    )
    pinned = models.BooleanField(_("pinned to the top"), default=False)
    is_published = models.BooleanField(_("published"), default=False)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")

    def __str__(self) -> str:
        return self.title

    @property
    def audit_region_path(self) -> str:
        return self.region.path if self.region_id else ""


def office_key_digest(raw: str) -> str:
    # A key is 32 random bytes: a plain SHA-256 cannot be reversed by trying values.
    return hashlib.sha256(raw.strip().encode()).hexdigest()


class OfficeApiKey(models.Model):
    """A key for an office that checks completion at volume (exam registration, title
    evaluation). Only the SHA-256 of the key is kept: it is shown once, when issued."""

    office = models.CharField(_("office"), max_length=200)
    region = models.ForeignKey(
        "regions.Region", verbose_name=_("province"), on_delete=models.PROTECT, related_name="+"
    )
    # The key's first characters, so people can tell keys apart without the key itself.
    prefix = models.CharField(_("key begins"), max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    query_count = models.PositiveBigIntegerField(_("queries"), default=0, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoke_reason = models.CharField(_("reason for revoking"), max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("office API key")
        verbose_name_plural = _("office API keys")
        constraints = [
            models.UniqueConstraint(fields=["key_hash"], name="office_api_key_unique_hash"),
        ]

    def __str__(self) -> str:
        return f"{self.office} ({self.prefix}…)"

    @property
    def audit_region_path(self) -> str:
        return self.region.path

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
