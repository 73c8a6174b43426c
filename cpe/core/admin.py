"""Django admin for the core tables, and the mixin that makes every admin change audited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.forms import ModelForm
from django.http import HttpRequest

from cpe.core.models import AuditEntry, Job
from cpe.core.services import Actor, audit_record


class AuditedAdmin(admin.ModelAdmin):
    """Superusers editing through the Django admin leave the same audit trail as everyone else."""

    def save_model(self, request: HttpRequest, obj: Model, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        changed = {name: str(form.cleaned_data.get(name)) for name in form.changed_data}
        audit_record(
            actor=Actor.from_request(request),
            action=f"{obj._meta.model_name}.{'update' if change else 'create'}_admin",
            target=obj,
            after=changed,
        )

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        audit_record(
            actor=Actor.from_request(request),
            action=f"{obj._meta.model_name}.delete_admin",
            target=obj,
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_label", "action", "target_type", "target_label", "ip"]
    list_filter = ["action"]
    search_fields = ["actor_label", "target_label", "target_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "state", "progress_done", "progress_total", "created_by"]
    list_filter = ["state", "kind"]
    readonly_fields = [f.name for f in Job._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
