"""Certificates: public verification and keys, the learner's issue and PDF, staff downloads and
the officer's batch. The same services and reads as the certificate pages (cpe.certificates).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from cpe.api.auth import require, session_auth
from cpe.api.errors import error_body
from cpe.api.routers.jobs import JobOut, job_out
from cpe.certificates.forms import districts_in_scope
from cpe.certificates.models import Certificate
from cpe.certificates.selectors import (
    NOT_GENUINE,
    certificate_verify,
    current_certificate,
    verification_url,
)
from cpe.certificates.services import (
    certificate_batch_start,
    certificate_download_audit,
    certificate_issue,
)
from cpe.certificates.signing import verify_keys
from cpe.certificates.views import (
    pdf_response,
    verification_http_status,
    verification_rate_exceeded,
)
from cpe.core.capabilities import Capability
from cpe.core.services import Actor
from cpe.learning.selectors import learner_for_user
from cpe.registry.selectors import learner_for_staff

public_router = Router(tags=["certificates"])
learner_router = Router(tags=["certificates"], auth=session_auth)
staff_router = Router(tags=["certificates"], auth=session_auth)
batch_router = Router(tags=["certificates"], auth=session_auth)

Language = Literal["zh-hans", "en"]


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


class CertificateOut(Schema):
    number: str = Field(description="As printed: four groups of four characters")
    name: str
    id_number: str = Field(description="Masked, as printed")
    year: int
    total_credits: Decimal
    professional_credits: Decimal
    public_credits: Decimal
    issued_on: date
    platform: str
    key_id: str = Field(description="Which public key verifies the signature")
    signature: str = Field(description="Ed25519 over the canonical details, base64url")


class IssuedOut(CertificateOut):
    verification_url: str
    pdf_url: str


class VerificationOut(Schema):
    valid: bool = Field(
        description=(
            "Accept the certificate only when this is true: the printed details are those "
            "issued, the year is still complete, and no newer certificate replaces it"
        )
    )
    status: Literal["valid", "superseded", "revoked"] = Field(
        description=(
            "valid (200); superseded (410): genuine when issued, but a newer certificate with "
            "other details replaces it, and the year is complete: ask for the one in "
            "`replaced_by`; revoked (410): the year's completion was withdrawn after issue"
        )
    )
    reason: str = Field(description="The status in a sentence, in the caller's language")
    certificate: CertificateOut = Field(description="The details as issued")
    replaced_by: str = Field(description="The current certificate's number, when superseded")
    outcome: Literal["genuine", "superseded", "revoked"] = Field(
        deprecated=True,
        description="The former name of `status` (genuine for valid); read `valid` instead",
    )


class NotGenuineOut(ErrorOut):
    valid: Literal[False] = Field(description="Always false")
    status: Literal["not_genuine"] = Field(description="Always not_genuine, as `code`")


class KeyOut(Schema):
    key_id: str
    public_key: str = Field(description="Raw Ed25519 public key, base64url")
    current: bool


class BatchIn(Schema):
    district: str = Field(description="The district's region code, e.g. 420102")
    year: int
    language: Language = "zh-hans"


def _certificate(certificate: Certificate) -> dict:
    return {
        "number": certificate.number_grouped,
        "name": certificate.learner_name,
        "id_number": certificate.id_number_masked,
        "year": certificate.year,
        "total_credits": certificate.total_credits,
        "professional_credits": certificate.professional_credits,
        "public_credits": certificate.public_credits,
        "issued_on": certificate.issued_on,
        "platform": certificate.platform_name,
        "key_id": certificate.key_id,
        "signature": certificate.signature,
    }


@public_router.get(
    "/keys",
    response=list[KeyOut],
    summary="The public keys that verify certificate signatures (anyone)",
)
def certificate_keys(request: HttpRequest) -> list[dict]:
    return [
        {"key_id": key.key_id, "public_key": key.encoded, "current": key.current}
        for key in verify_keys().values()
    ]


@public_router.get(
    "/{number}",
    response={200: VerificationOut, 404: NotGenuineOut, 410: VerificationOut, 429: ErrorOut},
    summary="Verify a certificate by its number, and the code from its QR address (anyone)",
    description=(
        "Read `valid`: only a valid certificate answers 2xx (200), so a caller that checks "
        "only the status code is safe too. A certificate issued here that no longer stands "
        "answers 410 with its details as issued and `status` `revoked` (the year's "
        "completion was withdrawn) or `superseded` (a newer certificate with other details "
        "replaces it; its number is in `replaced_by`). Unknown numbers, numbers with a typing "
        "error, a code that does not match and a record that no longer matches its signature "
        "all answer 404 `not_genuine`, with the reason in `message`. Never cached. "
        "Rate-limited per address (429)."
    ),
)
def certificate_verification(
    request: HttpRequest, response: HttpResponse, number: str, s: str = ""
) -> Status:
    add_never_cache_headers(response)  # a revocation must show at once
    if verification_rate_exceeded(request):
        message = _("Too many look-ups from this address: wait a few minutes and try again.")
        return Status(429, error_body("too_many_requests", message))
    result = certificate_verify(number=number, code=s)
    if result.certificate is None:
        body = error_body("not_genuine", result.reason, {"number": [result.reason]})
        return Status(404, {**body, "valid": False, "status": NOT_GENUINE})
    return Status(
        verification_http_status(result),
        {
            "valid": result.valid,
            "status": result.status,
            "reason": result.reason,
            "certificate": _certificate(result.certificate),
            "replaced_by": result.replaced_by,
            "outcome": "genuine" if result.valid else result.status,
        },
    )


@learner_router.post(
    "/certificates/{year}",
    response={200: IssuedOut, 403: ErrorOut, 422: ErrorOut},
    summary="My certificate of a complete year (issued on first request; the same one after)",
)
def my_certificate_issue(request: HttpRequest, year: int) -> dict:
    learner = learner_for_user(require(request, Capability.STUDY))
    if learner is None:
        raise PermissionDenied
    certificate = certificate_issue(actor=Actor.from_request(request), learner=learner, year=year)
    return {
        **_certificate(certificate),
        "verification_url": verification_url(certificate),
        "pdf_url": reverse("api:my_certificate_pdf", kwargs={"year": year}),
    }


@learner_router.get(
    "/certificates/{year}/pdf",
    response={200: None, 403: ErrorOut, 404: ErrorOut},
    url_name="my_certificate_pdf",
    summary="The PDF of my issued certificate of a year (issue it first with POST)",
)
def my_certificate_pdf(
    request: HttpRequest, year: int, language: Language = "zh-hans"
) -> HttpResponse:
    learner = learner_for_user(require(request, Capability.STUDY))
    if learner is None:
        raise PermissionDenied
    certificate = current_certificate(learner, year)
    if certificate is None:
        raise Http404
    return pdf_response(certificate, language)


@staff_router.get(
    "/{learner_id}/certificates/{year}/pdf",
    response={200: None, 403: ErrorOut, 404: ErrorOut},
    summary="The PDF of a learner's issued certificate (staff who read credits, in their region)",
)
def learner_certificate_pdf(
    request: HttpRequest, learner_id: int, year: int, language: Language = "zh-hans"
) -> HttpResponse:
    user = require(request, Capability.CREDITS_VIEW)
    certificate = current_certificate(learner_for_staff(user=user, learner_id=learner_id), year)
    if certificate is None:
        raise Http404
    certificate_download_audit(actor=Actor.from_request(request), certificate=certificate)
    return pdf_response(certificate, language)


@batch_router.post(
    "",
    response={202: JobOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Queue the ZIP of a district's certificates of a year (officers and administrators)",
)
def certificate_batch_post(request: HttpRequest, payload: BatchIn) -> Status:
    user = require(request, Capability.CERTIFICATES_BATCH)
    district = next((d for d in districts_in_scope(user) if d.code == payload.district), None)
    if district is None:
        raise Http404
    if payload.year > timezone.localdate().year:
        raise ValidationError({"year": [_("The year cannot be in the future.")]})
    job = certificate_batch_start(
        actor=Actor.from_request(request),
        district=district,
        year=payload.year,
        language=payload.language,
    )
    return Status(202, job_out(job))
