"""Issuing certificates: only for a complete year, once per set of credits, signed and audited."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cpe.certificates import signing
from cpe.certificates.models import Certificate
from cpe.certificates.numbers import new_number
from cpe.core.models import Job
from cpe.core.services import Actor, audit_record, job_enqueue
from cpe.credits.models import YearStatus
from cpe.regions.models import Region
from cpe.registry.models import Learner

CERTIFICATE_BATCH = "certificates.batch"


def platform_name() -> str:
    """The issuing platform's name as certificates print it (the platform's own language)."""
    if settings.PLATFORM_NAME:
        return settings.PLATFORM_NAME[:100]
    with translation.override(settings.LANGUAGE_CODE):
        return str(_("Accounting Continuing Education"))[:100]


def _same_credits(certificate: Certificate, status: YearStatus) -> bool:
    return (
        certificate.total_credits == status.total_credits
        and certificate.professional_credits == status.professional_credits
        and certificate.public_credits == status.public_credits
        and certificate.learner_name == certificate.learner.name
    )


def certificate_issue(*, actor: Actor, learner: Learner, year: int) -> Certificate:
    """The learner's current certificate for a complete year, issued when there is none.

    Asking again gives the same certificate. When the year's credits (or the learner's
    name) changed since it was issued, a new certificate with a new number replaces it and
    the old one is marked superseded. Refused for a year that is not complete.
    """
    try:
        with transaction.atomic():
            return _issue(actor=actor, learner=learner, year=year)
    except IntegrityError:
        # A concurrent request issued it first; the partial unique constraint kept one.
        current = Certificate.objects.filter(
            learner_id=learner.pk, year=year, superseded_at__isnull=True
        ).first()
        if current is None:
            raise
        return current


def _issue(*, actor: Actor, learner: Learner, year: int) -> Certificate:
    # The ledger's own lock: a credit entry arriving meanwhile waits, or is waited for.
    learner = (
        Learner.objects.select_for_update(no_key=True, of=("self",))
        .select_related("district")
        .get(pk=learner.pk)
    )
    status = YearStatus.objects.filter(learner=learner, year=year).first()
    if status is None or status.status != YearStatus.Status.COMPLETE:
        raise ValidationError(
            {
                "year": [
                    _("A certificate is issued only for a completed year; %(year)s is not.")
                    % {"year": year}
                ]
            }
        )
    current = (
        Certificate.objects.select_related("learner")
        .filter(learner=learner, year=year, superseded_at__isnull=True)
        .first()
    )
    if current is not None and _same_credits(current, status):
        return current
    now = timezone.now()
    certificate = Certificate(
        number=new_number(),
        learner=learner,
        year=year,
        district=learner.district,
        learner_name=learner.name,
        id_number_masked=learner.id_number_masked,
        total_credits=status.total_credits,
        professional_credits=status.professional_credits,
        public_credits=status.public_credits,
        issued_on=timezone.localdate(now),
        platform_name=platform_name(),
    )
    certificate.key_id, _unused = signing.signing_key()
    certificate.key_id, certificate.signature = signing.sign(certificate.printed_details())
    if current is not None:
        Certificate.objects.filter(pk=current.pk).update(superseded_at=now)
    certificate.save()
    if current is not None:
        Certificate.objects.filter(pk=current.pk).update(superseded_by=certificate)
    audit_record(
        actor=actor,
        action="certificate.issue",
        target=certificate,
        after={
            "number": certificate.number,
            "year": year,
            "total_credits": certificate.total_credits,
            "professional_credits": certificate.professional_credits,
            "public_credits": certificate.public_credits,
            "key_id": certificate.key_id,
            "supersedes": current.number if current is not None else None,
        },
    )
    return certificate


def certificate_download_audit(*, actor: Actor, certificate: Certificate) -> None:
    """Staff opening a learner's certificate is kept, as any opening of a person's record."""
    audit_record(
        actor=actor,
        action="certificate.download",
        target=certificate,
        after={"number": certificate.number, "year": certificate.year},
    )


def certificate_batch_start(
    *, actor: Actor, district: Region, year: int, language: str = "zh-hans"
) -> Job:
    """Queue the ZIP of every completed learner's certificate of a district and year.

    The caller has checked that the district is in the actor's scope; the job checks again.
    """
    return job_enqueue(
        kind=CERTIFICATE_BATCH,
        actor=actor,
        params={"district": district.code, "year": year, "language": language},
        region_path=district.path,
    )
