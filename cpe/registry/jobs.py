"""Job kinds owned by the registry: checking and applying learner imports."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from cpe.core.jobs import JobError, job_kind
from cpe.core.services import Actor, JobContext
from cpe.registry.imports import (
    IMPORT_APPLY,
    IMPORT_CHECK,
    FileRefused,
    in_current_language,
    in_each_language,
    learner_import_apply,
    learner_import_check,
    learner_imports_expire,
)
from cpe.registry.models import LearnerImport

logger = logging.getLogger(__name__)


def _learner_import(context: JobContext, state: str) -> LearnerImport:
    learner_import = (
        LearnerImport.objects.select_related("district").filter(pk=context.params["import"]).first()
    )
    if learner_import is None or learner_import.state != state:
        raise JobError(_("This import is no longer waiting for this step."))
    return learner_import


def _actor(context: JobContext) -> Actor:
    return Actor(user=context.job.created_by, ip=context.params.get("ip"))


@contextmanager
def _commits_without_waiting_for_disk() -> Iterator[None]:
    """PostgreSQL: let this connection's commits return before the WAL reaches the disk.

    For writes a crash may lose without harm (a check can run again; a progress figure is
    redrawn), so a 100,000-row check does not wait for a disk flush after every batch.
    Never used for the apply's own transaction, whose commit must be durable.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


@job_kind(IMPORT_CHECK, gettext_lazy("Check a file of learners"))
def import_check(context: JobContext) -> dict[str, Any]:
    learner_import = _learner_import(context, LearnerImport.State.CHECKING)
    try:
        with _commits_without_waiting_for_disk():
            result = learner_import_check(learner_import=learner_import, progress=context.progress)
    except FileRefused as refused:
        raise JobError(str(refused)) from None
    except Exception:
        LearnerImport.objects.filter(pk=learner_import.pk).update(
            state=LearnerImport.State.REFUSED,
            message=in_each_language(
                gettext_lazy(
                    "The check stopped because of an unexpected error. Support has the details."
                )
            ),
        )
        raise
    context.progress(result.total, total=result.total, message=_("Checked"))
    return {"import": str(learner_import.pk), **result.as_dict()}


@job_kind(IMPORT_APPLY, gettext_lazy("Import learners"))
def import_apply(context: JobContext) -> dict[str, Any]:
    learner_import = _learner_import(context, LearnerImport.State.APPLYING)
    try:
        # Inside the import's transaction, context.progress writes through a connection of
        # its own, so the bar moves while the rows are written.
        result = learner_import_apply(
            actor=_actor(context), learner_import=learner_import, progress=context.progress
        )
    except Exception:
        LearnerImport.objects.filter(pk=learner_import.pk).update(
            state=LearnerImport.State.STALE,
            message=in_each_language(
                gettext_lazy(
                    "The import stopped because of an unexpected error; nothing was written. "
                    "Check the file again."
                )
            ),
        )
        raise
    if not result.applied:
        learner_import.refresh_from_db()
        raise JobError(in_current_language(learner_import.message))
    context.progress(context.job.progress_total, message=_("Imported"))
    return {
        "import": str(learner_import.pk),
        "created": result.created,
        "updated": result.updated,
    }


# Times are UTC: 19:45 UTC is 03:45 in Beijing, after the core's housekeeping.
@db_periodic_task(crontab(minute="45", hour="19"))
def expire_imports() -> None:
    logger.info(
        "Unconfirmed learner imports abandoned: %s",
        learner_imports_expire(actor=Actor.for_system("imports.expire")),
    )
