"""Reads of users for the staff pages."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from cpe.accounts.models import User
from cpe.accounts.roles import Role
from cpe.core.services import Actor


def staff_users_visible(*, actor: Actor, search: str = "") -> QuerySet[User]:
    """Staff accounts in the actor's scope (platform-wide ones only for platform-wide staff)."""
    scope = actor.scope_path
    users = User.objects.exclude(role=Role.LEARNER).select_related("region").order_by("username")
    if scope is None:
        return users.none()
    if scope:
        users = users.filter(region__path__startswith=scope)
    if search:
        users = users.filter(Q(username__icontains=search) | Q(display_name__icontains=search))
    return users
