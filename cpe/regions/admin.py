from django.contrib import admin

from cpe.core.admin import AuditedAdmin
from cpe.regions.models import Bureau, Region, SupportContact


@admin.register(Region)
class RegionAdmin(AuditedAdmin):
    list_display = ["code", "name", "name_en", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name", "name_en"]
    readonly_fields = ["path"]


@admin.register(Bureau)
class BureauAdmin(AuditedAdmin):
    list_display = ["name", "region", "phones"]
    search_fields = ["name", "region__name"]


@admin.register(SupportContact)
class SupportContactAdmin(AuditedAdmin):
    list_display = ["topic", "phone", "hours", "position"]
