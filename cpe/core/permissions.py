"""Server-side checks of role and region scope, used by every protected view.

The user model (accounts) supplies `has_capability(name)` and `scope_path`; the core
only relies on those two, so that every app can guard its views without knowing roles.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

M = TypeVar("M", bound=Model)
View = Callable[..., HttpResponse]


def user_scope_path(user: Any) -> str | None:
    """The region path a user may act in: "" for platform-wide, None for no staff scope."""
    if not getattr(user, "is_authenticated", False):
        return None
    return user.scope_path


def in_scope(user: Any, region_path: str) -> bool:
    """True when a record at `region_path` lies inside the user's scope."""
    scope = user_scope_path(user)
    if scope is None:
        return False
    return scope == "" or region_path.startswith(scope)


def scope_filter(queryset: QuerySet[M], user: Any, field: str = "region_path") -> QuerySet[M]:
    """Narrow a queryset to the user's scope by a region-path field."""
    scope = user_scope_path(user)
    if scope is None:
        return queryset.none()
    if scope == "":
        return queryset
    return queryset.filter(**{f"{field}__startswith": scope})


def require_capability(user: Any, capability: str) -> None:
    if not getattr(user, "is_authenticated", False) or not user.has_capability(capability):
        raise PermissionDenied


def require_in_scope(user: Any, region_path: str) -> None:
    """Out-of-scope records answer 404: their existence is not the caller's business."""
    if not in_scope(user, region_path):
        raise Http404


def capability_required(
    capability: str, *, login_url_name: str = "accounts:staff_login"
) -> Callable[[View], View]:
    """Anonymous callers go to the login page; signed-in callers without the capability get 403."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse(login_url_name))
            if getattr(request.user, "must_change_password", False):
                # A temporary password given by an administrator opens nothing but this page.
                return redirect("accounts:password_change")
            require_capability(request.user, capability)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
