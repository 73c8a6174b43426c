"""Reads of notices and of offices' API keys."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from cpe.core.permissions import user_scope_path
from cpe.public.models import Notice, OfficeApiKey, office_key_digest


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


def office_key_for(raw: str) -> OfficeApiKey | None:
    """The active key with this value, found through its digest; None for any other value."""
    if not raw:
        return None
    return OfficeApiKey.objects.filter(key_hash=office_key_digest(raw), revoked_at=None).first()


def office_keys_managed_by(*, user: Any) -> QuerySet[OfficeApiKey]:
    scope = user_scope_path(user)
    keys = OfficeApiKey.objects.select_related("region", "created_by", "revoked_by")
    if scope is None:
        return keys.none()
    if scope == "":
        return keys
    return keys.filter(region__path__startswith=scope)
