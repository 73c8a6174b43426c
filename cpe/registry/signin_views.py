"""The learner's sign-in pages: password, first sign-in with an SMS code, forgotten password,
and the learner's own record."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpe.accounts.models import User
from cpe.core.capabilities import Capability
from cpe.core.forms import apply_validation_error
from cpe.core.permissions import capability_required
from cpe.core.services import Actor, client_ip
from cpe.regions.selectors import help_contacts
from cpe.registry.signin import (
    SignInRefused,
    learner_code_redeem,
    learner_code_resend,
    learner_first_sign_in,
    learner_password_forgotten,
    learner_password_set,
    learner_profile,
    learner_sign_in,
    pending_forget,
    pending_get,
    pending_remember,
)
from cpe.registry.signin_forms import (
    ChoosePasswordForm,
    CodeForm,
    FirstSignInForm,
    ForgottenPasswordForm,
    SignInForm,
)

LEARNER_HOME = "accounts:learner_home"


def _ip(request: HttpRequest) -> str:
    return client_ip(request) or "unknown"


def _sign_in_as(request: HttpRequest, user: User) -> None:
    pending_forget(request)
    login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(LEARNER_HOME)


def _render(request: HttpRequest, template: str, tab: str, **context: Any) -> HttpResponse:
    return render(request, f"registry/{template}", {"tab": tab, **context})


def signin_view(request: HttpRequest) -> HttpResponse:
    """Later sign-ins: ID number or mobile number, and the password."""
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = learner_sign_in(
                ip=_ip(request),
                login=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        except SignInRefused as refused:
            form.add_error(None, refused.message)
        else:
            _sign_in_as(request, user)
            return redirect(_safe_next(request))
    return _render(
        request, "signin_password.html", "password", form=form, next=request.GET.get("next", "")
    )


def signin_first_view(request: HttpRequest) -> HttpResponse:
    """First sign-in: ID number and name, then a code sent to the mobile on record."""
    form = FirstSignInForm(request.POST or None)
    refused = None
    if request.method == "POST" and form.is_valid():
        try:
            result = learner_first_sign_in(
                ip=_ip(request),
                id_number=form.cleaned_data["id_number"],
                name=form.cleaned_data["name"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        except SignInRefused as error:
            refused = error
        else:
            if result.user is not None:
                _sign_in_as(request, result.user)
                if not result.user.has_usable_password():
                    return redirect("registry:signin_password_set")
                return redirect(LEARNER_HOME)
            assert result.code_sent is not None
            pending_remember(request, result.code_sent)
            return redirect("registry:signin_code")
    return _render(request, "signin_first.html", "first", form=form, refused=refused)


def signin_forgotten_view(request: HttpRequest) -> HttpResponse:
    form = ForgottenPasswordForm(request.POST or None)
    refused = None
    if request.method == "POST" and form.is_valid():
        try:
            sent = learner_password_forgotten(
                ip=_ip(request), login=form.cleaned_data["login"], name=form.cleaned_data["name"]
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        except SignInRefused as error:
            refused = error
        else:
            pending_remember(request, sent)
            return redirect("registry:signin_code")
    return _render(request, "signin_forgotten.html", "forgotten", form=form, refused=refused)


def signin_code_view(request: HttpRequest) -> HttpResponse:
    """The code from the text message, and the password the learner chooses."""
    pending = pending_get(request)
    if pending is None:
        messages.error(request, _("Your code has expired. Start again."))
        return redirect("registry:signin_first")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = learner_code_redeem(
                ip=_ip(request),
                learner_id=pending["learner"],
                purpose=pending["purpose"],
                code=form.cleaned_data["code"],
                password=form.cleaned_data["password"],
            )
        except ValidationError as error:
            apply_validation_error(form, error, default_field="code")
        else:
            _sign_in_as(request, user)
            messages.success(request, _("Your password is saved. You are signed in."))
            return redirect(LEARNER_HOME)
    tab = "first" if pending["purpose"] == "activate" else "forgotten"
    return _render(request, "signin_code.html", tab, form=form, pending=pending)


@require_POST
def signin_code_resend_view(request: HttpRequest) -> HttpResponse:
    pending = pending_get(request)
    if pending is None:
        return redirect("registry:signin_first")
    try:
        sent = learner_code_resend(
            ip=_ip(request), learner_id=pending["learner"], purpose=pending["purpose"]
        )
    except SignInRefused as refused:
        messages.error(request, refused.message)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        pending_remember(request, sent)
        messages.success(request, _("A new code is on its way. The old one no longer works."))
    return redirect("registry:signin_code")


@capability_required(Capability.STUDY, login_url_name="registry:signin")
def signin_password_set_view(request: HttpRequest) -> HttpResponse:
    """A learner who came in by ID number and name alone may choose a password."""
    if request.user.has_usable_password():
        return redirect("accounts:password_change")
    form = ChoosePasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = learner_password_set(
                actor=Actor.from_request(request), password=form.cleaned_data["password"]
            )
        except ValidationError as error:
            apply_validation_error(form, error, default_field="password")
        else:
            _sign_in_as(request, user)
            messages.success(request, _("Your password is saved."))
            return redirect(LEARNER_HOME)
    return _render(request, "signin_password_set.html", "", form=form)


@capability_required(Capability.STUDY, login_url_name="registry:signin")
def learner_profile_view(request: HttpRequest) -> HttpResponse:
    profile = learner_profile(request.user)
    if profile is None:
        raise Http404
    contacts = help_contacts(home_region=profile.learner.district)
    return _render(request, "signin_profile.html", "", profile=profile, support=contacts.support)
