"""Sign-in and sign-out, the learner's landing page and the staff console's front page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpe.accounts.forms import LoginForm, PasswordChangeForm, StaffUserForm
from cpe.accounts.models import User
from cpe.accounts.selectors import staff_users_visible
from cpe.accounts.services import (
    login_attempt,
    password_change,
    staff_password_reset,
    staff_user_create,
    staff_user_update,
    user_manageable_by,
)
from cpe.core.capabilities import Capability
from cpe.core.forms import apply_validation_error
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
            if result.user.must_change_password:
                return redirect("accounts:password_change")
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


@capability_required(Capability.STUDY, login_url_name="accounts:login")
def learner_home(request: HttpRequest) -> HttpResponse:
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
            Capability.USERS_MANAGE,
            "accounts:staff_user_list",
            _("Staff accounts"),
            _("Create accounts for officers and auditors, reset passwords, disable access."),
        ),
        (
            Capability.LEARNERS_MANAGE,
            "registry:import_list",
            _("Import learners"),
            _("Collect or update many people at once from an Excel or CSV file."),
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


def password_change_view(request: HttpRequest) -> HttpResponse:
    """Any signed-in person changes their password; required after a temporary one."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("accounts:login"))
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = password_change(
                actor=Actor.from_request(request),
                user=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except ValidationError as error:
            apply_validation_error(form, error, default_field="new_password")
        else:
            update_session_auth_hash(request, user)
            messages.success(request, _("Your new password is saved."))
            home = "accounts:staff_home" if user.is_staff_member else "accounts:learner_home"
            return redirect(home)
    return render(request, "accounts/password_change.html", {"form": form})


@capability_required(Capability.USERS_MANAGE)
def staff_user_list(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request)
    search = request.GET.get("q", "").strip()[:100]
    page = Paginator(staff_users_visible(actor=actor, search=search), 50).get_page(
        request.GET.get("page")
    )
    for user in page:
        user.manageable = user_manageable_by(actor, user)
    query = urlencode({"q": search}) if search else ""
    return render(
        request, "accounts/staff_user_list.html", {"page": page, "q": search, "query": query}
    )


@capability_required(Capability.USERS_MANAGE)
def staff_user_create_view(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request)
    form = StaffUserForm(request.POST or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user, password = staff_user_create(
                actor=actor,
                username=data["username"],
                role=data["role"],
                region=data["region"],
                display_name=data["display_name"],
                email=data["email"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            return render(
                request, "accounts/staff_user_password.html", {"person": user, "password": password}
            )
    return render(request, "accounts/staff_user_edit.html", {"form": form, "person": None})


def _manageable_user(request: HttpRequest, user_id: int) -> User:
    actor = Actor.from_request(request)
    person = get_object_or_404(staff_users_visible(actor=actor), pk=user_id)
    if not user_manageable_by(actor, person):
        raise PermissionDenied
    return person


@capability_required(Capability.USERS_MANAGE)
def staff_user_edit_view(request: HttpRequest, user_id: int) -> HttpResponse:
    person = _manageable_user(request, user_id)
    actor = Actor.from_request(request)
    form = StaffUserForm(request.POST or None, actor=actor, user=person)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            staff_user_update(
                actor=actor,
                user=person,
                role=data["role"],
                region=data["region"],
                display_name=data["display_name"],
                email=data["email"],
                is_active=data["is_active"],
                reason=data["reason"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _("The account %(name)s is saved.") % {"name": person})
            return redirect("accounts:staff_user_list")
    return render(request, "accounts/staff_user_edit.html", {"form": form, "person": person})


@require_POST
@capability_required(Capability.USERS_MANAGE)
def staff_user_password_reset_view(request: HttpRequest, user_id: int) -> HttpResponse:
    person = _manageable_user(request, user_id)
    password = staff_password_reset(actor=Actor.from_request(request), user=person)
    return render(
        request, "accounts/staff_user_password.html", {"person": person, "password": password}
    )
