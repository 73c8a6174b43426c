from django.contrib import admin

from cpe.core.admin import AuditedAdmin
from cpe.public.models import Notice


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
