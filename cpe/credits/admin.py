"""The credit ledger in the admin: read only (corrections are reversing entries)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from cpe.credits.models import CreditEntry, YearStatus


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(CreditEntry)
class CreditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "learner", "year", "category", "credits", "source", "reference"]
    list_filter = ["year", "category", "source"]
    raw_id_fields = ["learner", "completion", "reverses", "recorded_by", "approved_by"]


@admin.register(YearStatus)
class YearStatusAdmin(ReadOnlyAdmin):
    list_display = ["learner", "year", "status", "total_credits", "professional_credits", "met_at"]
    list_filter = ["year", "status"]
    raw_id_fields = ["learner"]
