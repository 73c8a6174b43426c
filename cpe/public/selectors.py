"""Reads of notices."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from cpe.core.permissions import user_scope_path
from cpe.public.models import Notice


def notices_for_home(*, limit: int = 10) -> list[Notice]:
    return list(Notice.objects.published().select_related("region")[:limit])


def notices_managed_by(*, user: Any) -> QuerySet[Notice]:
    """The notices a staff member may edit: those of regions in their scope."""
    scope = user_scope_path(user)
    notices = Notice.objects.select_related("region").order_by("-updated_at")
    if scope is None:
        return notices.none()
    if scope == "":
        return notices
    return notices.filter(region__path__startswith=scope)
