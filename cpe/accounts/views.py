"""Sign-in and sign-out, the learner's landing page and the staff console's front page."""

from __future__ import annotations

from django.conf import settings
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

from cpe.accounts.forms import (
    CodeForm,
    EnrolmentForm,
    LoginForm,
    PasswordChangeForm,
    SecondFactorResetForm,
    StaffUserForm,
)
from cpe.accounts.models import TOTPDevice, User
from cpe.accounts.selectors import staff_users_visible
from cpe.accounts.services import (
    login_attempt,
    login_enrolment_confirm,
    login_pending,
    login_pending_start,
    login_second_factor,
    password_change,
    second_factor_mark_verified,
    second_factor_required,
    second_factor_step,
    staff_password_reset,
    staff_user_create,
    staff_user_update,
    totp_device_of,
    totp_enrolment_confirm,
    totp_enrolment_details,
    totp_enrolment_start,
    totp_reset,
    user_manageable_by,
)
from cpe.core.capabilities import Capability
from cpe.core.forms import apply_validation_error
from cpe.core.permissions import capability_required
from cpe.core.services import Actor, audit_record, client_ip


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def staff_login_view(request: HttpRequest) -> HttpResponse:
    """Step one of a staff sign-in: the password. Step two (code or set-up) follows."""
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = login_attempt(
            request=request,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
        )
        if result.user is None:
            form.add_error(None, result.error)
        elif not result.user.is_staff_member:
            form.add_error(
                None, _("This sign-in is for staff. Learners sign in on the learner page.")
            )
        else:
            next_url = _safe_next(request, "")
            step = second_factor_step(result.user)
            if not step:
                return _finish_staff_sign_in(request, result.user, None, next_url)
            # Not signed in yet: the session only remembers who gave the password.
            login_pending_start(request, user=result.user, next_url=next_url)
            return redirect(
                "accounts:staff_login_code" if step == "code" else "accounts:staff_login_enrol"
            )
    return render(
        request, "accounts/staff_login.html", {"form": form, "next": request.GET.get("next", "")}
    )


def _finish_staff_sign_in(
    request: HttpRequest, user: User, device: TOTPDevice | None, next_url: str
) -> HttpResponse:
    login(request, user)
    if device is not None:
        second_factor_mark_verified(request, device)
    if user.must_change_password:
        return redirect("accounts:password_change")
    return redirect(next_url or reverse("accounts:staff_home"))


def _sign_in_again(request: HttpRequest) -> HttpResponse:
    messages.error(request, _("Your sign-in has expired. Enter your user name and password again."))
    return redirect("accounts:staff_login")


def staff_login_code_view(request: HttpRequest) -> HttpResponse:
    """Step two for someone with an authenticator: its current code."""
    pending = login_pending(request)
    if pending is None:
        return _sign_in_again(request)
    person, next_url = pending
    if second_factor_step(person) != "code":  # reset by an administrator meanwhile
        return redirect("accounts:staff_login_enrol")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, device = login_second_factor(request=request, code=form.cleaned_data["code"])
        except PermissionDenied:
            return _sign_in_again(request)
        except ValidationError as error:
            apply_validation_error(form, error, default_field="code")
        else:
            return _finish_staff_sign_in(request, user, device, next_url)
    return render(request, "accounts/staff_login_code.html", {"form": form, "person": person})


def staff_login_enrol_view(request: HttpRequest) -> HttpResponse:
    """Step two at the first sign-in of a role that needs a second factor: set one up."""
    pending = login_pending(request)
    if pending is None:
        return _sign_in_again(request)
    person, next_url = pending
    step = second_factor_step(person)
    if step == "code":
        return redirect("accounts:staff_login_code")
    if step != "enrol":  # the role no longer needs one: start again from the password
        return _sign_in_again(request)
    device = totp_enrolment_start(actor=Actor(user=person, ip=client_ip(request)), user=person)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, device = login_enrolment_confirm(request=request, code=form.cleaned_data["code"])
        except PermissionDenied:
            return _sign_in_again(request)
        except ValidationError as error:
            apply_validation_error(form, error, default_field="code")
        else:
            messages.success(request, _("Your authenticator app is set up."))
            return _finish_staff_sign_in(request, user, device, next_url)
    return render(
        request,
        "accounts/staff_login_enrol.html",
        {"form": form, "person": person, "enrolment": totp_enrolment_details(device)},
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit_record(actor=Actor.from_request(request), action="user.logout", target=request.user)
    logout(request)
    return redirect("public:home")


@capability_required(Capability.STUDY, login_url_name="registry:signin")
def learner_home(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/learner_home.html", {"district": request.user.region})


@capability_required(Capability.STAFF_CONSOLE)
def staff_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    tiles = [
        (
            Capability.LEARNERS_VIEW,
            "registry:learner_list",
            _("Learners"),
            _("Collect, find and correct learner records; transfers between districts."),
        ),
        (
            Capability.COURSES_MANAGE,
            "catalog:staff_course_list",
            _("Courses"),
            _("Draft, preview, publish and withdraw courses and their lessons."),
        ),
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
            Capability.POLICY_VIEW,
            "regions:staff_policy_list",
            _("Study rules"),
            _("Credits a year, caps per source, make-up study: per region and year."),
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
            Capability.OFFICE_KEYS_MANAGE,
            "public:staff_office_keys",
            _("Office API keys"),
            _("Keys for offices that check completion through the public query's API."),
        ),
        (
            Capability.CREDITS_VIEW,
            "credits:staff_applications",
            _("Credit registration"),
            _("Applications for credits earned elsewhere; record or import credits."),
        ),
        (
            Capability.JOBS_VIEW,
            "core:job_list",
            _("Background jobs"),
            _("Imports, exports and other long work, with their progress."),
        ),
        (
            Capability.STAFF_CONSOLE,
            "accounts:two_factor",
            _("Sign-in security"),
            _("Your authenticator app for the second sign-in step."),
        ),
    ]
    visible = [(url, title, text) for cap, url, title, text in tiles if user.has_capability(cap)]
    if not (user.region_id and user.region.level == "district"):
        # Imports go into one's own district: without one there is nothing to import into.
        visible = [tile for tile in visible if tile[0] != "registry:import_list"]
    return render(request, "accounts/staff_home.html", {"tiles": visible})


def password_change_view(request: HttpRequest) -> HttpResponse:
    """Any signed-in person changes their password; required after a temporary one."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse(settings.LOGIN_URL))
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


def _staff_user_page(
    request: HttpRequest,
    person: User,
    form: StaffUserForm,
    reset_form: SecondFactorResetForm | None = None,
) -> HttpResponse:
    return render(
        request,
        "accounts/staff_user_edit.html",
        {
            "form": form,
            "person": person,
            "second_factor": totp_device_of(person),
            "second_factor_pending": totp_device_of(person, confirmed=False),
            "second_factor_required": second_factor_required(person),
            "reset_form": reset_form or SecondFactorResetForm(prefix="totp"),
        },
    )


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
    return _staff_user_page(request, person, form)


@require_POST
@capability_required(Capability.USERS_MANAGE)
def staff_user_password_reset_view(request: HttpRequest, user_id: int) -> HttpResponse:
    person = _manageable_user(request, user_id)
    password = staff_password_reset(actor=Actor.from_request(request), user=person)
    return render(
        request, "accounts/staff_user_password.html", {"person": person, "password": password}
    )


@require_POST
@capability_required(Capability.USERS_MANAGE)
def staff_user_second_factor_reset_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """Remove a staff member's authenticator (lost phone); they set up a new one at sign-in."""
    person = _manageable_user(request, user_id)
    actor = Actor.from_request(request)
    reset_form = SecondFactorResetForm(request.POST, prefix="totp")
    if reset_form.is_valid():
        try:
            totp_reset(actor=actor, user=person, reason=reset_form.cleaned_data["reason"])
        except ValidationError as error:
            apply_validation_error(reset_form, error)
        else:
            messages.success(
                request,
                _("The authenticator of %(name)s is reset. They set up a new one at next sign-in.")
                % {"name": person},
            )
            return redirect("accounts:staff_user_edit", user_id=person.pk)
    return _staff_user_page(request, person, StaffUserForm(actor=actor, user=person), reset_form)


# --- One's own second factor ----------------------------------------------------------


@capability_required(Capability.STAFF_CONSOLE)
def two_factor_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "accounts/two_factor.html",
        {"device": totp_device_of(user), "required": second_factor_required(user)},
    )


@capability_required(Capability.STAFF_CONSOLE)
def two_factor_setup_view(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator, or replace the current one (which needs a code from it)."""
    actor = Actor.from_request(request)
    user = request.user
    device = totp_enrolment_start(actor=actor, user=user)
    current = totp_device_of(user)
    form = EnrolmentForm(request.POST or None, replacing=current is not None)
    if request.method == "POST" and form.is_valid():
        try:
            device = totp_enrolment_confirm(
                actor=actor,
                user=user,
                code=form.cleaned_data["code"],
                current_code=form.cleaned_data.get("current_code", ""),
            )
        except ValidationError as error:
            apply_validation_error(form, error, default_field="code")
        else:
            second_factor_mark_verified(request, device)
            messages.success(request, _("Your authenticator app is set up."))
            return redirect("accounts:two_factor")
    return render(
        request,
        "accounts/two_factor_setup.html",
        {"form": form, "current": current, "enrolment": totp_enrolment_details(device)},
    )
