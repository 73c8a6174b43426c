"""Job kinds owned by the credits app: checking and recording an officer's file of credits,
and the nightly expiry of the files left unconfirmed."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from cpe.core.jobs import JobError, job_kind
from cpe.core.services import Actor, JobContext
from cpe.credits.imports import (
    APPLY,
    CHECK,
    credit_import_apply,
    credit_import_check,
    credit_imports_expire,
)
from cpe.credits.models import CreditImport
from cpe.registry.imports import FileRefused

logger = logging.getLogger(__name__)


def _credit_import(context: JobContext, state: str) -> CreditImport:
    credit_import = (
        CreditImport.objects.select_related("district").filter(pk=context.params["import"]).first()
    )
    if credit_import is None or credit_import.state != state:
        raise JobError(_("This import is no longer waiting for this step."))
    return credit_import


def _stopped(credit_import: CreditImport, step: str) -> None:
    # Only from the step this job was doing: an error after the recording committed (a file
    # that could not be deleted, say) leaves a recorded import recorded.
    CreditImport.objects.filter(pk=credit_import.pk, state=step).update(
        state=CreditImport.State.FAILED, message="", updated_at=timezone.now()
    )


@job_kind(CHECK, gettext_lazy("Check a file of credits"))
def import_check(context: JobContext) -> dict[str, Any]:
    credit_import = _credit_import(context, CreditImport.State.CHECKING)
    try:
        credit_import = credit_import_check(credit_import=credit_import, progress=context.progress)
    except FileRefused as refused:
        raise JobError(str(refused)) from None
    except Exception:
        # Not left "being checked" for ever: the officer sees it stopped (the page says so in
        # their language) and checks the file again or abandons it.
        _stopped(credit_import, CreditImport.State.CHECKING)
        raise
    context.progress(credit_import.total_rows, total=credit_import.total_rows, message=_("Checked"))
    return {
        "import": str(credit_import.pk),
        "new": credit_import.new_count,
        "unchanged": credit_import.unchanged_count,
        "errors": credit_import.error_count,
    }


@job_kind(APPLY, gettext_lazy("Record a file of credits"))
def import_apply(context: JobContext) -> dict[str, Any]:
    credit_import = _credit_import(context, CreditImport.State.APPLYING)
    actor = Actor(user=context.job.created_by, ip=context.params.get("ip"))
    try:
        recorded = credit_import_apply(
            actor=actor, credit_import=credit_import, progress=context.progress
        )
    except ValidationError as refused:
        raise JobError(" ".join(refused.messages)) from None
    except Exception:
        # The recording is one transaction, rolled back by the error: nothing was written.
        # Not left "being recorded" for ever either; the job keeps the details for support.
        _stopped(credit_import, CreditImport.State.APPLYING)
        raise
    context.progress(recorded, message=_("Recorded"))
    return {"import": str(credit_import.pk), "recorded": recorded}


# Beside the learner imports' expiry (cpe.registry.jobs), which cannot call this one: the
# registry does not import credits. 19:45 UTC is 03:45 in Beijing.
@db_periodic_task(crontab(minute="45", hour="19"))
def expire_credit_imports() -> None:
    logger.info(
        "Unconfirmed credit imports abandoned: %s",
        credit_imports_expire(actor=Actor.for_system("credit_imports.expire")),
    )
