from django.contrib import admin

from cpe.certificates.models import Certificate


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    """Read-only: certificates are issued by certificate_issue, and their details are signed."""

    list_display = ["number", "learner_name", "year", "total_credits", "issued_on", "superseded_at"]
    list_filter = ["year"]
    search_fields = ["number", "learner_name"]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False
