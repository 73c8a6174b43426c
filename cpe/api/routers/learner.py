"""The learner's own calls: first sign-in with an SMS code, password sign-in and sign-out,
forgotten password, profile and password change. The same services as the pages.

Calls that sign someone in are protected against cross-site requests like the rest: the
client first asks GET /learner/csrf (which also sets the cookie) and sends the token in
the X-CSRFToken header, so a foreign page cannot sign a browser into another account.
"""

from __future__ import annotations

from typing import Literal

from django.conf import settings
from django.contrib.auth import login, logout, update_session_auth_hash
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.utils import check_csrf

from cpe.accounts.services import password_change
from cpe.api.auth import require, session_auth
from cpe.api.errors import error_body
from cpe.core.capabilities import Capability
from cpe.core.services import Actor, audit_record, client_ip
from cpe.regions.models import Bureau
from cpe.registry.signin import (
    CodeSent,
    SignInRefused,
    learner_code_redeem,
    learner_code_resend,
    learner_first_sign_in,
    learner_password_forgotten,
    learner_profile,
    learner_sign_in,
    pending_forget,
    pending_get,
    pending_remember,
)

router = Router(tags=["learner"])


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


class ContactOut(Schema):
    name: str
    address: str
    phones: list[str]
    office_hours: str


class RefusedOut(ErrorOut):
    guidance: list[ContactOut]


class ProfileOut(Schema):
    name: str
    id_number_masked: str
    mobile_masked: str
    employer_name: str
    qualification_level: str
    qualification_level_label: str
    qualification_year: int | None
    district_code: str
    district_name: str
    district_contact: ContactOut | None
    has_password: bool


class CodeSentOut(Schema):
    status: Literal["code_sent"] = "code_sent"
    mobile_masked: str
    expires_in: int


class FirstSignInOut(Schema):
    status: Literal["code_sent", "signed_in"]
    mobile_masked: str | None = None
    expires_in: int | None = None
    profile: ProfileOut | None = None


class CsrfOut(Schema):
    csrf_token: str


class FirstSignInIn(Schema):
    id_number: str
    name: str


class ForgottenIn(Schema):
    login: str
    name: str


class CodeIn(Schema):
    code: str
    password: str


class SignInIn(Schema):
    login: str
    password: str


class PasswordChangeIn(Schema):
    old_password: str
    new_password: str


def _ip(request: HttpRequest) -> str:
    return client_ip(request) or "unknown"


def _csrf(request: HttpRequest) -> None:
    if check_csrf(request) is not None:
        raise PermissionDenied


def _contact(bureau: Bureau | None) -> dict | None:
    if bureau is None:
        return None
    return {
        "name": bureau.display_name,
        "address": bureau.display_address,
        "phones": bureau.phone_list,
        "office_hours": bureau.display_office_hours,
    }


def _refused(refused: SignInRefused) -> Status:
    status = 429 if refused.code in ("too_many_attempts", "too_many_codes") else 400
    if refused.code == "sms_failed":
        status = 503
    guidance = [_contact(b) for b in refused.guidance.bureaus] if refused.guidance else []
    return Status(status, {**error_body(refused.code, refused.message), "guidance": guidance})


def _profile(user: object) -> dict:
    profile = learner_profile(user)  # type: ignore[arg-type]
    if profile is None:
        raise PermissionDenied
    learner = profile.learner
    return {
        "name": learner.name,
        "id_number_masked": learner.id_number_masked,
        "mobile_masked": profile.mobile_masked,
        "employer_name": learner.employer_name,
        "qualification_level": learner.qualification_level,
        "qualification_level_label": str(learner.get_qualification_level_display()),
        "qualification_year": learner.qualification_year,
        "district_code": learner.district.code,
        "district_name": learner.district.display_name,
        "district_contact": _contact(profile.bureau),
        "has_password": profile.has_password,
    }


def _sign_in_as(request: HttpRequest, user: object) -> None:
    pending_forget(request)
    login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])  # type: ignore[arg-type]


def _code_sent(request: HttpRequest, sent: CodeSent) -> dict:
    pending_remember(request, sent)
    return {
        "status": "code_sent",
        "mobile_masked": sent.mobile_masked,
        "expires_in": sent.expires_in,
    }


REFUSALS = {400: RefusedOut, 403: ErrorOut, 422: ErrorOut, 429: RefusedOut, 503: RefusedOut}


@router.get("/csrf", response=CsrfOut)
def csrf_token(request: HttpRequest) -> dict:
    """The CSRF token for the calls below (also set as the csrftoken cookie)."""
    return {"csrf_token": get_token(request)}


@router.post("/first-sign-in", response={200: FirstSignInOut, **REFUSALS})
def first_sign_in(request: HttpRequest, payload: FirstSignInIn) -> object:
    """ID number + name: a 6-digit code goes to the mobile recorded at collection.

    A wrong ID number, a wrong name and a person not collected get the same 400
    `not_recognised`, with the contacts of the district to go to for collection.
    In a region with plain ID+name sign-in the learner is signed in at once.
    """
    _csrf(request)
    try:
        result = learner_first_sign_in(
            ip=_ip(request), id_number=payload.id_number, name=payload.name
        )
    except SignInRefused as refused:
        return _refused(refused)
    if result.user is not None:
        _sign_in_as(request, result.user)
        return {"status": "signed_in", "profile": _profile(result.user)}
    assert result.code_sent is not None
    return _code_sent(request, result.code_sent)


@router.post("/password-reset", response={200: CodeSentOut, **REFUSALS})
def password_reset_start(request: HttpRequest, payload: ForgottenIn) -> object:
    """Forgotten password: ID number or mobile + name; a code goes to the mobile on record."""
    _csrf(request)
    try:
        sent = learner_password_forgotten(ip=_ip(request), login=payload.login, name=payload.name)
    except SignInRefused as refused:
        return _refused(refused)
    return _code_sent(request, sent)


@router.post("/code/resend", response={200: CodeSentOut, **REFUSALS})
def code_resend(request: HttpRequest) -> object:
    """A new code for the first sign-in or password reset under way in this session."""
    _csrf(request)
    pending = pending_get(request)
    if pending is None:
        return Status(400, {**error_body("no_code", _no_code()), "guidance": []})
    try:
        sent = learner_code_resend(
            ip=_ip(request), learner_id=pending["learner"], purpose=pending["purpose"]
        )
    except SignInRefused as refused:
        return _refused(refused)
    return _code_sent(request, sent)


def _no_code() -> str:
    return _("No code was asked for in this session, or it has expired. Start again.")


@router.post("/code", response={200: ProfileOut, **REFUSALS})
def code_redeem(request: HttpRequest, payload: CodeIn) -> object:
    """The code and the chosen password: activates the account or resets its password, and
    signs in. Wrong codes count (5 tries); a refused password leaves the code usable."""
    _csrf(request)
    pending = pending_get(request)
    if pending is None:
        return Status(400, {**error_body("no_code", _no_code()), "guidance": []})
    user = learner_code_redeem(
        ip=_ip(request),
        learner_id=pending["learner"],
        purpose=pending["purpose"],
        code=payload.code,
        password=payload.password,
    )
    _sign_in_as(request, user)
    return _profile(user)


@router.post("/sign-in", response={200: ProfileOut, **REFUSALS})
def sign_in(request: HttpRequest, payload: SignInIn) -> object:
    """ID number or mobile + password; sets the session cookie. One answer for every failure."""
    _csrf(request)
    try:
        user = learner_sign_in(ip=_ip(request), login=payload.login, password=payload.password)
    except SignInRefused as refused:
        return _refused(refused)
    _sign_in_as(request, user)
    return _profile(user)


@router.post("/sign-out", auth=session_auth, response={204: None})
def sign_out(request: HttpRequest) -> Status:
    audit_record(actor=Actor.from_request(request), action="user.logout", target=request.auth)
    logout(request)
    return Status(204, None)


@router.get("/profile", auth=session_auth, response=ProfileOut)
def profile(request: HttpRequest) -> dict:
    """The signed-in learner's record as the district bureau keeps it (ID and mobile masked)."""
    return _profile(require(request, Capability.STUDY))


@router.post("/password", auth=session_auth, response={204: None, 422: ErrorOut})
def change_password(request: HttpRequest, payload: PasswordChangeIn) -> HttpResponse | Status:
    """Change the password; this session stays signed in, every other one ends."""
    user = require(request, Capability.STUDY)
    user = password_change(
        actor=Actor.from_request(request),
        user=user,
        old_password=payload.old_password,
        new_password=payload.new_password,
    )
    update_session_auth_hash(request, user)
    return Status(204, None)
