"""The Django admin, signed into only through the staff sign-in (password and code).

Named in INSTALLED_APPS, so this module is imported while the apps load: it may not
import models (or anything that does) at the top.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse


class StaffAdminSite(admin.AdminSite):
    """The admin's own password-only form would be a way around the second factor: its
    sign-in page sends people to the staff sign-in instead, and it lets in only sessions
    that passed the second factor."""

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        from django.contrib.auth.views import redirect_to_login

        if request.user.is_authenticated:
            # Signed in, but not someone the admin lets in (see has_permission).
            raise PermissionDenied
        target = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        return redirect_to_login(target, reverse("accounts:staff_login"))

    def has_permission(self, request: HttpRequest) -> bool:
        from cpe.accounts.services import second_factor_satisfied

        return super().has_permission(request) and second_factor_satisfied(request)


class StaffAdminConfig(AdminConfig):
    default_site = "cpe.accounts.admin_site.StaffAdminSite"
