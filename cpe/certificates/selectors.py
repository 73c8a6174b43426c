"""Reads of certificates: verification by number (and code), a learner's certificates."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from cpe.certificates import numbers, signing
from cpe.certificates.models import Certificate
from cpe.credits.models import YearStatus
from cpe.registry.models import Learner

# What a verification says, in the words the API's `status` carries. Only VALID means "accept
# it": the other two that find a record (REVOKED, SUPERSEDED) show details that are genuine,
# as issued, but that no longer stand.
VALID, REVOKED, SUPERSEDED, NOT_GENUINE = "valid", "revoked", "superseded", "not_genuine"
# The QR address carries the first 16 characters of the signature (96 bits): enough that
# nobody guesses it, and a smaller QR code that a phone reads easily. The whole signature is
# accepted too.
CODE_LENGTH = 16


@dataclass(frozen=True)
class Verification:
    """What the verification page and API say about a number (and the code from the QR)."""

    status: str
    reason: str
    certificate: Certificate | None = None
    replaced_by: str = ""

    @property
    def genuine(self) -> bool:
        """The details shown are those the platform issued (whether or not they still stand)."""
        return self.status != NOT_GENUINE

    @property
    def valid(self) -> bool:
        """The certificate may be accepted: genuine, its year still complete, and current."""
        return self.status == VALID


def verification_url(certificate: Certificate) -> str:
    """The absolute URL the certificate's QR code holds: its number and its signature."""
    path = reverse("certificates:verify", kwargs={"number": certificate.number})
    code = certificate.signature[:CODE_LENGTH]
    return f"{settings.SITE_URL.rstrip('/')}{path}?{urlencode({'s': code})}"


def certificate_verify(*, number: str, code: str = "") -> Verification:
    """Is this certificate valid? `code` is the one from the QR URL (or the signature).

    Valid only when the record matches its signature, the year is still complete and no newer
    certificate replaces it. A revoked year comes first: every certificate of it is revoked.

    Unknown numbers, numbers that fail their check character, a code that does not match
    and a record whose signature no longer verifies are all "not genuine", each with its
    reason; the caller answers them alike.
    """
    normalised = numbers.normalise(number)
    if not numbers.is_well_formed(normalised):
        return Verification(
            NOT_GENUINE,
            _("This is not a valid certificate number: check it for a typing error."),
        )
    certificate = Certificate.objects.filter(number=normalised).first()
    if certificate is None:
        return Verification(NOT_GENUINE, _("No certificate has this number."))
    code = code.strip()
    expected = (
        certificate.signature if len(code) > CODE_LENGTH else certificate.signature[:CODE_LENGTH]
    )
    if code and not hmac.compare_digest(code.encode(), expected.encode()):
        return Verification(
            NOT_GENUINE, _("The verification code does not belong to this certificate.")
        )
    if not signing.signature_valid(
        certificate.printed_details(), key_id=certificate.key_id, signature=certificate.signature
    ):
        return Verification(
            NOT_GENUINE, _("The certificate's record does not match its signature.")
        )
    year_status = (
        YearStatus.objects.filter(learner_id=certificate.learner_id, year=certificate.year)
        .values_list("status", flat=True)
        .first()
    )
    if year_status != YearStatus.Status.COMPLETE:
        return Verification(
            REVOKED,
            _(
                "Not valid: this certificate was issued, but the year's completion has since "
                "been revoked."
            ),
            certificate,
        )
    if certificate.superseded_at is not None:
        # The current one, not merely the next: a certificate may have been replaced twice.
        current = (
            Certificate.objects.filter(
                learner_id=certificate.learner_id,
                year=certificate.year,
                superseded_at__isnull=True,
            )
            .values_list("number", flat=True)
            .first()
        )
        return Verification(
            SUPERSEDED,
            _(
                "Not valid: these details were genuine when issued, but a newer certificate "
                "with other details replaces it. Ask for the current one."
            ),
            certificate,
            replaced_by=numbers.grouped(current) if current else "",
        )
    return Verification(
        VALID,
        _("Valid: the details below are those the platform issued, and the year is complete."),
        certificate,
    )


def learner_certificates(learner: Learner) -> QuerySet[Certificate]:
    """A learner's current certificates, newest year first."""
    return Certificate.objects.filter(learner=learner, superseded_at__isnull=True).order_by("-year")


def current_certificate(learner: Learner, year: int) -> Certificate | None:
    """The certificate to hand out for a year: none once the year is no longer complete (a
    reversal revoked it), so nobody prints a paper the verification page would refuse."""
    complete = YearStatus.objects.filter(
        learner=learner, year=year, status=YearStatus.Status.COMPLETE
    )
    if not complete.exists():
        return None
    return learner_certificates(learner).filter(year=year).select_related("district").first()
