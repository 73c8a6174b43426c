"""Regions in the Django admin. The study rules are read only here: see RegionPolicyAdmin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from cpe.core.admin import AuditedAdmin
from cpe.regions.models import Bureau, Region, RegionPolicy, RegionPolicyCap, SupportContact


@admin.register(Region)
class RegionAdmin(AuditedAdmin):
    list_display = ["code", "name", "name_en", "level", "parent", "plain_id_name_sign_in"]
    list_filter = ["level", "plain_id_name_sign_in"]
    search_fields = ["code", "name", "name_en"]
    # The tree's shape (code, parent, path) changes only through regions.services.
    readonly_fields = ["code", "level", "parent", "path"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Region | None = None) -> bool:
        return False


@admin.register(Bureau)
class BureauAdmin(AuditedAdmin):
    list_display = ["name", "region", "phones"]
    search_fields = ["name", "region__name"]


@admin.register(SupportContact)
class SupportContactAdmin(AuditedAdmin):
    list_display = ["topic", "phone", "hours", "position"]


class RegionPolicyCapInline(admin.TabularInline):
    model = RegionPolicyCap
    fields = ["source", "max_credits"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: RegionPolicy | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RegionPolicy | None = None) -> bool:
        return False


@admin.register(RegionPolicy)
class RegionPolicyAdmin(admin.ModelAdmin):
    """Read only, caps included. A change of rules goes through `region_policy_change` (the
    rules page or its API), which asks for an explicit, audited recomputation of the years
    with credits it decides; saving a row here would skip both."""

    list_display = [
        "region",
        "effective_from",
        "annual_credits",
        "professional_credits",
        "makeup_from",
        "sequential_years",
        "heartbeat_seconds",
        "max_playback_rate",
    ]
    list_filter = ["sequential_years"]
    search_fields = ["region__code", "region__name"]
    inlines = [RegionPolicyCapInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RegionPolicy | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RegionPolicy | None = None) -> bool:
        return False

    def _point_to_the_rules_page(self, request: HttpRequest) -> None:
        messages.info(
            request,
            format_html(
                _(
                    'Study rules are changed on the <a href="{}">rules page</a> (or its API), '
                    "which recomputes and audits what a change decides."
                ),
                reverse("regions:staff_policy_list"),
            ),
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._point_to_the_rules_page(request)
        return super().changelist_view(request, extra_context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        self._point_to_the_rules_page(request)
        return super().change_view(request, object_id, form_url, extra_context)
