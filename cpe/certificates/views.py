"""Certificate pages: the learner's download, staff downloads and the officer's batch, and the
public verification page (anyone, rate-limited per address)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpe.certificates import numbers
from cpe.certificates.forms import BatchForm, DownloadForm, VerifyForm
from cpe.certificates.models import Certificate
from cpe.certificates.pdf import certificate_pdf
from cpe.certificates.selectors import (
    NOT_GENUINE,
    REVOKED,
    SUPERSEDED,
    VALID,
    Verification,
    certificate_verify,
    current_certificate,
    learner_certificates,
)
from cpe.certificates.services import (
    certificate_batch_start,
    certificate_download_audit,
    certificate_issue,
)
from cpe.certificates.signing import verify_keys
from cpe.core.capabilities import Capability
from cpe.core.permissions import capability_required
from cpe.core.ratelimit import rate_limit_hit
from cpe.core.services import Actor, client_ip
from cpe.credits.models import YearStatus
from cpe.learning.selectors import learner_for_user
from cpe.regions.models import Region
from cpe.registry.models import Learner
from cpe.registry.selectors import learner_for_staff

learner_required = capability_required(Capability.STUDY, login_url_name="registry:signin")


def pdf_response(certificate: Certificate, language: str) -> HttpResponse:
    response = HttpResponse(certificate_pdf(certificate, language=language), "application/pdf")
    filename = f"certificate-{certificate.year}-{certificate.number}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- The learner ----------------------------------------------------------------------


def credits_year_panel(request: HttpRequest, learner: Learner, year: Any) -> SafeString | str:
    """The download button under a complete year of the learner's credits page."""
    if year.status != YearStatus.Status.COMPLETE:
        return ""
    return render_to_string(
        "certificates/includes/download.html",
        {"year": year.year, "form": DownloadForm()},
        request=request,
    )


@require_POST
@learner_required
def learner_certificate_download(request: HttpRequest, year: int) -> HttpResponse:
    """Issue (or find) the certificate of a complete year and send its PDF."""
    learner = learner_for_user(request.user)
    if learner is None:
        raise Http404
    form = DownloadForm(request.POST)
    try:
        certificate = certificate_issue(
            actor=Actor.from_request(request), learner=learner, year=year
        )
    except ValidationError as refused:
        for problems in refused.message_dict.values():
            for problem in problems:
                messages.error(request, problem)
        return redirect("credits:dashboard")
    return pdf_response(certificate, form.language_code())


# --- Staff ----------------------------------------------------------------------------


def staff_certificates_panel(request: HttpRequest, learner: Learner) -> SafeString | str:
    """The learner's issued certificates on the staff page of their study."""
    if not request.user.has_capability(Capability.CREDITS_VIEW):
        return ""
    return render_to_string(
        "certificates/includes/staff_panel.html",
        {"learner": learner, "certificates": learner_certificates(learner)},
        request=request,
    )


@capability_required(Capability.CREDITS_VIEW)
def staff_certificate_download(request: HttpRequest, learner_id: int, year: int) -> HttpResponse:
    """The PDF of a learner's issued certificate, for staff who read credits in their region."""
    learner = learner_for_staff(user=request.user, learner_id=learner_id)
    certificate = current_certificate(learner, year)
    if certificate is None:
        raise Http404
    certificate_download_audit(actor=Actor.from_request(request), certificate=certificate)
    return pdf_response(certificate, DownloadForm(request.GET).language_code())


@capability_required(Capability.CERTIFICATES_BATCH)
def staff_certificate_batch(request: HttpRequest) -> HttpResponse:
    """Ask for a district's certificates of a year as one ZIP (a background job)."""
    form = BatchForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        district = Region.objects.get(code=form.cleaned_data["district"])
        job = certificate_batch_start(
            actor=Actor.from_request(request),
            district=district,
            year=form.cleaned_data["year"],
            language=form.cleaned_data["language"],
        )
        return redirect("core:job_detail", job_id=job.pk)
    return render(request, "certificates/staff_batch.html", {"form": form})


# --- Anyone: verification -------------------------------------------------------------


def verification_rate_exceeded(request: HttpRequest) -> bool:
    """Count one verification from this address; True once it is over the limit."""
    return rate_limit_hit(
        scope="certificate-verify",
        identity=client_ip(request) or "unknown",
        rate=settings.CERTIFICATE_VERIFY_RATE,
    )


def verify_start(request: HttpRequest) -> HttpResponse:
    """A form where someone types a certificate number from paper."""
    form = VerifyForm(request.GET or None)
    if form.is_valid():
        number = numbers.normalise(form.cleaned_data["number"])
        if numbers.is_well_formed(number):
            return redirect("certificates:verify", number=number)
        form.add_error(
            "number", _("This is not a valid certificate number: check it for a typing error.")
        )
    return render(request, "certificates/verify_start.html", {"form": form})


# One rule for the page and the API: 2xx only when the certificate may be accepted, so a
# program that looks only at the status code cannot take a revoked or replaced one for valid.
# 410: it was issued here but no longer stands; 404: it was never issued as shown.
VERIFICATION_HTTP_STATUS = {VALID: 200, REVOKED: 410, SUPERSEDED: 410, NOT_GENUINE: 404}


def verification_http_status(result: Verification) -> int:
    return VERIFICATION_HTTP_STATUS[result.status]


def verify(request: HttpRequest, number: str) -> HttpResponse:
    """Whether a certificate is valid: 200 valid, 410 revoked or replaced, 404 not genuine
    (unknown and tampered numbers alike)."""
    if verification_rate_exceeded(request):
        return render(request, "certificates/verify_limited.html", status=429)
    result = certificate_verify(number=number, code=request.GET.get("s", ""))
    response = render(
        request,
        "certificates/verify.html",
        {"result": result, "number": number, "keys": verify_keys().values()},
        status=verification_http_status(result),
    )
    # A revocation must show at once: no browser or proxy may keep an earlier "valid".
    add_never_cache_headers(response)
    return response
