"""Sign-in and sign-out, the learner's landing page and the staff console's front page."""

from __future__ import annotations

from django.contrib.auth import login, logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpe.accounts.forms import LoginForm
from cpe.accounts.services import login_attempt
from cpe.core.capabilities import Capability
from cpe.core.permissions import capability_required
from cpe.core.services import Actor, audit_record


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _login_page(request: HttpRequest, *, staff: bool) -> HttpResponse:
    template = "accounts/staff_login.html" if staff else "accounts/login.html"
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = login_attempt(
            request=request,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
        )
        if result.user is None:
            form.add_error(None, result.error)
        elif staff and not result.user.is_staff_member:
            form.add_error(
                None, _("This sign-in is for staff. Learners sign in on the learner page.")
            )
        else:
            login(request, result.user)
            default = reverse(
                "accounts:staff_home" if result.user.is_staff_member else "accounts:learner_home"
            )
            return redirect(_safe_next(request, default))
    return render(request, template, {"form": form, "next": request.GET.get("next", "")})


def login_view(request: HttpRequest) -> HttpResponse:
    return _login_page(request, staff=False)


def staff_login_view(request: HttpRequest) -> HttpResponse:
    return _login_page(request, staff=True)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit_record(actor=Actor.from_request(request), action="user.logout", target=request.user)
    logout(request)
    return redirect("public:home")


def learner_home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("accounts:login"))
    if not request.user.has_capability(Capability.STUDY):
        raise PermissionDenied
    return render(request, "accounts/learner_home.html", {"district": request.user.region})


@capability_required(Capability.STAFF_CONSOLE)
def staff_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    tiles = [
        (
            Capability.AUDIT_VIEW,
            "core:audit_list",
            _("Audit log"),
            _("Who changed what, and when."),
        ),
        (
            Capability.NOTICES_MANAGE,
            "public:staff_notice_list",
            _("Notices"),
            _("Write and publish notices on the home page."),
        ),
        (
            Capability.CONTACTS_VIEW,
            "regions:staff_bureau_list",
            _("Bureau contacts"),
            _("Addresses, phone numbers and office hours shown to learners."),
        ),
        (
            Capability.JOBS_VIEW,
            "core:job_list",
            _("Background jobs"),
            _("Imports, exports and other long work, with their progress."),
        ),
    ]
    visible = [(url, title, text) for cap, url, title, text in tiles if user.has_capability(cap)]
    return render(request, "accounts/staff_home.html", {"tiles": visible})
