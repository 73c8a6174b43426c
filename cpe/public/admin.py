from django.contrib import admin

from cpe.core.admin import AuditedAdmin
from cpe.public.models import Notice, OfficeApiKey


@admin.register(Notice)
class NoticeAdmin(AuditedAdmin):
    list_display = ["title", "region", "is_published", "published_at", "pinned"]
    list_filter = ["is_published", "pinned"]
    readonly_fields = ["body_html"]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        # Edits here skip the sanitiser; notices are edited in the staff console.
        return [f.name for f in Notice._meta.fields]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(OfficeApiKey)
class OfficeApiKeyAdmin(admin.ModelAdmin):
    """Read-only: keys are issued and revoked on /staff/office-keys/, where it is audited."""

    list_display = ["office", "region", "prefix", "created_at", "query_count", "revoked_at"]
    list_filter = ["region"]
    readonly_fields = [f.name for f in OfficeApiKey._meta.fields if f.name != "key_hash"]
    exclude = ["key_hash"]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
