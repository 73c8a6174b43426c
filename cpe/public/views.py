"""The public pages (home, notices, help, the credit query) and the staff pages that edit
notices and issue offices' API keys."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpe.core.capabilities import Capability
from cpe.core.crypto import DecryptionError, decrypt, encrypt
from cpe.core.forms import apply_validation_error
from cpe.core.permissions import capability_required
from cpe.core.services import Actor, client_ip
from cpe.public.forms import CreditQueryForm, NoticeForm, OfficeKeyForm, OfficeKeyRevokeForm
from cpe.public.models import Notice
from cpe.public.query import (
    Proof,
    QueryNoMatch,
    QueryProofNeeded,
    QueryTooMany,
    challenge_for,
    credit_query_run,
)
from cpe.public.selectors import notices_for_home, notices_managed_by, office_keys_managed_by
from cpe.public.services import notice_save, office_key_issue, office_key_revoke
from cpe.regions.selectors import help_contacts


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "public/home.html", {"notices": notices_for_home()})


def notice_detail(request: HttpRequest, notice_id: int) -> HttpResponse:
    notice = get_object_or_404(Notice.objects.select_related("region"), pk=notice_id)
    # Drafts are visible only to the staff who may edit them (for a preview).
    if (
        not notice.is_published
        and not notices_managed_by(user=request.user).filter(pk=notice.pk).exists()
    ):
        raise Http404
    return render(request, "public/notice_detail.html", {"notice": notice})


def help_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    home_region = user.region if user.is_authenticated and user.is_learner else None
    return render(request, "public/help.html", {"contacts": help_contacts(home_region=home_region)})


@capability_required(Capability.NOTICES_MANAGE)
def staff_notice_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "public/staff_notice_list.html", {"notices": notices_managed_by(user=request.user)}
    )


@capability_required(Capability.NOTICES_MANAGE)
def staff_notice_edit(request: HttpRequest, notice_id: int | None = None) -> HttpResponse:
    notice = None
    if notice_id is not None:
        notice = get_object_or_404(notices_managed_by(user=request.user), pk=notice_id)
    form = NoticeForm(request.POST or None, user=request.user, notice=notice)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            notice = notice_save(
                actor=Actor.from_request(request),
                notice=notice,
                title=data["title"],
                body=data["body"],
                region=data["region"],
                pinned=data["pinned"],
                publish=data["publish"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _("The notice is saved."))
            return redirect("public:staff_notice_list")
    return render(request, "public/staff_notice_edit.html", {"form": form, "notice": notice})


def credit_query(request: HttpRequest) -> HttpResponse:
    """公众网查询: ID number + name (+ a year) → each year's status and credits.

    POST only carries the ID number, so it never lands in an address bar, a history or an
    access log. The page never reads the session: a signed-in visitor is treated as anyone.
    """
    ip = client_ip(request) or "unknown"
    form = CreditQueryForm(request.POST or None)
    answer = refused = None
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            answer = credit_query_run(
                ip=ip,
                id_number=data["id_number"],
                name=data["name"],
                year=data["year"] or None,
                proof=Proof(challenge=data["pow_challenge"], counter=data["pow_counter"]),
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        except (QueryNoMatch, QueryTooMany, QueryProofNeeded) as error:
            refused = error
            if isinstance(error, QueryTooMany):
                status = 429
    challenge = refused.challenge if isinstance(refused, QueryProofNeeded) else None
    if challenge is None and not isinstance(refused, QueryTooMany):
        challenge = challenge_for(ip)  # the next query's, when the address needs one
    response = render(
        request,
        "public/credit_query.html",
        {
            "form": form,
            "answer": answer,
            "refused": refused,
            "challenge": challenge,
            # Solve and send again at once: the person already pressed the button.
            "autostart": isinstance(refused, QueryProofNeeded),
        },
        status=status,
    )
    if isinstance(refused, QueryTooMany):
        response["Retry-After"] = str(refused.retry_after)
    add_never_cache_headers(response)  # a person's record: no copy in any cache
    return response


# Keys issued by a POST wait here until the GET after the redirect shows them, once: a reload
# then asks for the page again instead of issuing another key. A list, so a double click's
# two keys are both shown. Encrypted, because the session store (the database, or Redis)
# must not hold a key in the clear: the page promises only a fingerprint is kept.
NEW_KEYS_SESSION = "public.office_keys_to_show"


def _new_key_purpose(request: HttpRequest) -> str:
    return f"office_key_to_show:{request.user.pk}"


def _new_key_keep(request: HttpRequest, raw: str) -> None:
    waiting = request.session.get(NEW_KEYS_SESSION, [])
    sealed = encrypt(raw, purpose=_new_key_purpose(request))
    request.session[NEW_KEYS_SESSION] = [*waiting, sealed]


def _new_keys_take(request: HttpRequest) -> list[str]:
    """The keys waiting to be shown, removed from the session as they are read."""
    keys = []
    for sealed in request.session.pop(NEW_KEYS_SESSION, []):
        try:
            keys.append(decrypt(sealed, purpose=_new_key_purpose(request)))
        except DecryptionError:
            # The encryption key was rotated in between: the key is lost, and should go.
            messages.error(
                request,
                _("A new key could not be shown: revoke it (the newest) and issue another."),
            )
    return keys


@capability_required(Capability.OFFICE_KEYS_MANAGE)
def staff_office_keys(request: HttpRequest) -> HttpResponse:
    """The offices' API keys in the administrator's province. Issuing one redirects to this
    page, which shows the new key once (POST/redirect/GET)."""
    form = OfficeKeyForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            _key, raw = office_key_issue(
                actor=Actor.from_request(request),
                office=form.cleaned_data["office"],
                region=form.cleaned_data["region"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            _new_key_keep(request, raw)
            return redirect("public:staff_office_keys")
    response = render(
        request,
        "public/staff_office_keys.html",
        {
            "form": form,
            "new_keys": _new_keys_take(request) if request.method == "GET" else [],
            "keys": office_keys_managed_by(user=request.user),
            "revoke_form": OfficeKeyRevokeForm(),
        },
    )
    add_never_cache_headers(response)  # the key must not stay in any cache either
    return response


@require_POST
@capability_required(Capability.OFFICE_KEYS_MANAGE)
def staff_office_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    key = get_object_or_404(office_keys_managed_by(user=request.user), pk=key_id)
    form = OfficeKeyRevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the key is revoked."))
        return redirect("public:staff_office_keys")
    try:
        office_key_revoke(
            actor=Actor.from_request(request), key=key, reason=form.cleaned_data["reason"]
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The key is revoked: it is refused from now on."))
    return redirect("public:staff_office_keys")
