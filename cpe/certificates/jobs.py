"""The officer's batch: every completed learner of a district and year, one ZIP of PDFs."""

from __future__ import annotations

import zipfile
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cpe.certificates.pdf import certificate_pdf
from cpe.certificates.services import CERTIFICATE_BATCH, certificate_issue
from cpe.core.jobs import JobError, job_kind
from cpe.core.services import Actor, JobContext, audit_record
from cpe.credits.models import YearStatus
from cpe.regions.models import Region
from cpe.registry.models import Learner


def completed_learners(district: Region, year: int) -> list[Learner]:
    """Learners (not deregistered) of the district whose year is complete, by name."""
    complete = YearStatus.objects.filter(year=year, status=YearStatus.Status.COMPLETE)
    return list(
        Learner.objects.filter(district=district, pk__in=complete.values("learner_id"))
        .exclude(status=Learner.Status.DEREGISTERED)
        .select_related("district")
        .order_by("name", "pk")
    )


# Certificates between two progress writes: making one takes about a quarter of a second, so
# the bar moves every second or two (the page asks every 1.5 s) without a write per PDF.
PROGRESS_EVERY = 5


@job_kind(
    CERTIFICATE_BATCH,
    gettext_lazy("Certificates of a district"),
    result_for_requester_only=True,
)
def certificate_batch(context: JobContext) -> dict[str, Any]:
    params = context.params
    district = Region.objects.filter(code=params["district"]).first()
    user = context.job.created_by
    actor = Actor(user=user) if user is not None else Actor.for_system("certificate batch")
    if district is None or not actor.may_act_in(district.path):
        raise JobError(_("This district is outside your region."))
    year = int(params["year"])
    learners = completed_learners(district, year)
    context.progress(0, total=len(learners), message=_("Making the certificates"))
    certificates = 0
    # A few thousand PDFs of tens of KB each: the ZIP grows on disk, one PDF in memory at a
    # time, and is kept only when every learner has been done.
    with (
        context.writing_file(f"certificates-{district.code}-{year}.zip") as out,
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        for done, learner in enumerate(learners, start=1):
            try:
                certificate = certificate_issue(actor=actor, learner=learner, year=year)
            except ValidationError:  # the year was revoked since the list was read
                pass
            else:
                name = f"{year}-{certificate.number}-{learner.name}.pdf"
                archive.writestr(
                    name, certificate_pdf(certificate, language=params.get("language"))
                )
                certificates += 1
            if done % PROGRESS_EVERY == 0:
                context.progress(done)
    context.progress(len(learners))
    audit_record(
        actor=actor,
        action="certificate.batch",
        region_path=district.path,
        after={"district": district.code, "year": year, "certificates": certificates},
    )
    return {"district": district.code, "year": year, "certificates": certificates}
