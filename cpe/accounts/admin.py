from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from cpe.accounts.models import User
from cpe.core.admin import AuditedAdmin


@admin.register(User)
class PlatformUserAdmin(AuditedAdmin, UserAdmin):
    list_display = ["username", "display_name", "role", "region", "is_active"]
    list_filter = ["role", "is_active"]
    fieldsets = (
        *UserAdmin.fieldsets,
        ("CPE", {"fields": ("role", "region", "display_name")}),
    )
