from django.contrib import admin
from django.http import HttpRequest

from cpe.core.admin import AuditedAdmin
from cpe.regions.models import Bureau, Region, RegionPolicy, SupportContact


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


@admin.register(RegionPolicy)
class RegionPolicyAdmin(AuditedAdmin):
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
