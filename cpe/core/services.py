"""Writes owned by the core: audit entries and background jobs."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection, connections, models, transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cpe.core.jobs import JobError, job_kind_get, job_kinds_kept_when_failed
from cpe.core.models import AuditEntry, Job
from cpe.core.permissions import user_scope_path
from cpe.core.privacy import scrub_id_numbers

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address, trusting X-Forwarded-For only as far as NUM_PROXIES says."""
    proxies = settings.NUM_PROXIES
    if proxies:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


@dataclass(frozen=True)
class Actor:
    """Who is making a change: a signed-in person (with their address) or a named system task."""

    user: Any = None
    ip: str | None = None
    system: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        user = request.user if request.user.is_authenticated else None
        return cls(user=user, ip=client_ip(request))

    @classmethod
    def for_system(cls, name: str) -> Actor:
        return cls(system=name)

    @property
    def scope_path(self) -> str | None:
        """Where this actor may act; system tasks are trusted code and act everywhere."""
        if self.user is None:
            return ""
        return user_scope_path(self.user)

    def may_act_in(self, region_path: str) -> bool:
        scope = self.scope_path
        return scope is not None and (scope == "" or region_path.startswith(scope))

    @property
    def label(self) -> str:
        if self.user is not None:
            return self.user.get_username()
        return f"system:{self.system or 'unknown'}"


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, default=str))


def snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    """The named fields of a record as plain values an auditor can read.

    A related record is written as its name and id ("武汉市 #2"), a time in the
    platform's time zone, so the log reads the same in five years as today.
    """
    data: dict[str, Any] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        if field.is_relation:
            related = getattr(instance, name)
            # Names in the platform's own language, whoever's browser made the change.
            with translation.override(settings.LANGUAGE_CODE):
                data[name] = None if related is None else f"{related} #{related.pk}"
            continue
        value = getattr(instance, field.attname)
        if isinstance(value, datetime):
            value = timezone.localtime(value).isoformat(timespec="seconds")
        data[name] = value
    return _jsonable(data)


def audit_record(
    *,
    actor: Actor,
    action: str,
    target: models.Model | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    region_path: str | None = None,
    reason: str = "",
) -> AuditEntry:
    """Append one audit entry. Every service that changes something that matters calls this.

    When both `before` and `after` are given only the keys that differ are kept, so an
    auditor reads what changed rather than two full copies of the record.
    """
    # A note or a changed free-text field may hold someone's ID number: never in plain text.
    before = scrub_id_numbers(_jsonable(before or {}))
    after = scrub_id_numbers(_jsonable(after or {}))
    reason = scrub_id_numbers(reason)
    if before and after:
        changed = [k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
        before = {k: before.get(k) for k in changed}
        after = {k: after.get(k) for k in changed}
    if region_path is None:
        region_path = getattr(target, "audit_region_path", "") or ""
    changes: dict[str, Any] = {}
    if before:
        changes["before"] = before
    if after:
        changes["after"] = after
    return AuditEntry.objects.create(
        actor=actor.user,
        actor_label=actor.label[:150],
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:200] if target is not None else "",
        region_path=region_path,
        changes=changes,
        reason=reason[:500],
        ip=actor.ip,
    )


# --- Jobs -----------------------------------------------------------------------------


class JobContext:
    """What a job handler gets: its parameters, and a way to report progress and results."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._aside: Any = None  # the connection progress is reported through, once opened
        self._aside_failed = False  # it could not be opened or used: not tried again

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Report how far the job is, so that the page's bar moves while it works."""
        fields: dict[str, Any] = {"progress_done": done, "updated_at": timezone.now()}
        if total is not None:
            fields["progress_total"] = total
            self.job.progress_total = total
        if message is not None:
            fields["message"] = message[:500]
            self.job.message = message[:500]
        self.job.progress_done = done
        if not self._reported_aside(fields):
            Job.objects.filter(pk=self.job.pk).update(**fields)

    def _reported_aside(self, fields: dict[str, Any]) -> bool:
        """Inside the handler's own transaction (a recording of thousands of rows, all or
        nothing) an UPDATE on its connection is seen by no one before the commit, and the
        bar would stand still. On PostgreSQL it goes through a connection of its own instead,
        committed at once. Not when that connection cannot see or lock the row (the handler's
        transaction created or updated it): then False, and the caller writes it in the
        handler's transaction. SQLite has one writer at a time: there, always False."""
        if self._aside_failed or connection.vendor != "postgresql":
            return False
        if not connection.in_atomic_block:
            return False  # an UPDATE on the handler's connection commits at once
        table = connection.ops.quote_name(Job._meta.db_table)
        assignments = ", ".join(f"{connection.ops.quote_name(name)} = %s" for name in fields)
        try:
            if self._aside is None:
                aside = connections.create_connection(connection.alias)
                with aside.cursor() as cursor:
                    # Whatever else holds the table (a migration, say), a progress bar is
                    # not worth waiting for, nor a flush to disk.
                    cursor.execute("SET lock_timeout = '2s'")
                    cursor.execute("SET synchronous_commit TO off")
                self._aside = aside
            with self._aside.cursor() as cursor:
                # SKIP LOCKED: a row the handler's transaction holds is never waited for
                # (the handler waits on this call: that would be for ever).
                cursor.execute(
                    f"UPDATE {table} SET {assignments} WHERE id = ("  # noqa: S608 (model names)
                    f"SELECT id FROM {table} WHERE id = %s FOR UPDATE SKIP LOCKED)",
                    [*fields.values(), self.job.pk],
                )
                return cursor.rowcount == 1
        except DatabaseError:
            logger.warning("Job %s: progress not reported aside", self.job.pk, exc_info=True)
            self._aside_failed = True
            self.close()
            return False

    def close(self) -> None:
        if self._aside is not None:
            aside, self._aside = self._aside, None
            try:
                aside.close()
            except DatabaseError:
                logger.warning("Job %s: the progress connection did not close", self.job.pk)

    def save_file(self, name: str, content: bytes) -> None:
        self.job.result_file.save(name, ContentFile(content), save=False)
        Job.objects.filter(pk=self.job.pk).update(result_file=self.job.result_file.name)

    @contextmanager
    def writing_file(self, name: str) -> Iterator[IO[bytes]]:
        """A scratch file on disk for a result too large to hold in memory, written piece by
        piece in the block: kept as the job's file when the block ends, removed if it raises.
        """
        storage = self.job.result_file.storage
        descriptor, path = tempfile.mkstemp(
            prefix="partial-", suffix=Path(name).suffix, dir=_scratch_directory(storage)
        )
        try:
            with open(descriptor, "w+b") as scratch:
                yield scratch
            with open(path, "rb") as finished:
                self.job.result_file.save(name, _ScratchFile(finished, path), save=False)
        finally:
            # Moved into place already on a local storage; otherwise uploaded, or abandoned.
            Path(path).unlink(missing_ok=True)
        Job.objects.filter(pk=self.job.pk).update(result_file=self.job.result_file.name)


# Inside the storage on a local disk: the same file system, so keeping the finished file is a
# rename, and never a /tmp that may be memory (tmpfs). Housekeeping sweeps what a killed
# worker left here.
SCRATCH_DIRECTORY = "jobs/partial"


def _scratch_directory(storage: Storage) -> str | None:
    try:
        directory = Path(storage.path(SCRATCH_DIRECTORY))
    except NotImplementedError:  # object storage: the finished file is uploaded from here
        return settings.FILE_UPLOAD_TEMP_DIR
    directory.mkdir(parents=True, exist_ok=True)
    return str(directory)


class _ScratchFile(File):
    """A finished scratch file; a file-system storage moves it (temporary_file_path) rather
    than copying it, other storages read it in chunks."""

    def __init__(self, file: IO[bytes], path: str) -> None:
        super().__init__(file, name=os.path.basename(path))
        self._path = path

    def temporary_file_path(self) -> str:
        return self._path


def job_enqueue(
    *, kind: str, actor: Actor, params: dict[str, Any] | None = None, region_path: str = ""
) -> Job:
    """Record a job and hand it to the queue once the surrounding transaction commits."""
    job_kind_get(kind)  # an unknown kind is a programming error: fail here, not in the worker
    job = Job.objects.create(
        kind=kind,
        params=_jsonable(params or {}),
        created_by=actor.user,
        region_path=region_path,
    )
    audit_record(actor=actor, action="job.enqueue", target=job, region_path=region_path)

    from cpe.core.tasks import job_run_task

    transaction.on_commit(lambda: job_run_task(str(job.pk)))
    return job


def job_run(*, job_id: str) -> Job | None:
    """Run one queued job. A second delivery of the same job does nothing."""
    claimed = Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(
        state=Job.State.RUNNING, started_at=timezone.now(), updated_at=timezone.now()
    )
    if not claimed:
        return None
    job = Job.objects.get(pk=job_id)
    context = JobContext(job)
    try:
        result = job_kind_get(job.kind).handler(context) or {}
    except JobError as exc:
        _job_discard_file(context.job)
        _job_finish(job, state=Job.State.FAILED, message=str(exc), error=str(exc))
    except Exception as exc:
        logger.exception("Job %s (%s) failed", job.pk, job.kind)
        _job_discard_file(context.job)
        _job_finish(
            job,
            state=Job.State.FAILED,
            message=_("The job stopped because of an unexpected error. Support has the details."),
            error="".join(traceback.format_exception(exc))[-8000:],
        )
    else:
        _job_finish(job, state=Job.State.SUCCEEDED, message=context.job.message, result=result)
    finally:
        context.close()
    job.refresh_from_db()
    return job


def _job_discard_file(job: Job) -> None:
    # A file saved before the handler failed (a step after it raised) is no result to offer.
    if job.result_file:
        job.result_file.delete(save=False)
        Job.objects.filter(pk=job.pk).update(result_file="")


def _job_finish(
    job: Job, *, state: str, message: str, error: str = "", result: dict[str, Any] | None = None
) -> None:
    fields: dict[str, Any] = {
        "state": state,
        "message": message[:500],
        "error": error,
        "finished_at": timezone.now(),
        "updated_at": timezone.now(),
    }
    if result is not None:
        fields["result"] = _jsonable(result)
    if state == Job.State.SUCCEEDED and job.progress_total:
        fields["progress_done"] = job.progress_total
    Job.objects.filter(pk=job.pk).update(**fields)


STALLED_AFTER = timedelta(hours=1)
# A job the queue has not started in a day never will be: its message was lost (a queue
# flushed, or restored from an older copy). Even the year-end rush's queue moves faster.
NEVER_STARTED_AFTER = timedelta(days=1)
KEEP_FINISHED_JOBS = timedelta(days=90)
# A scratch file untouched for a day belongs to no running job: its worker was killed.
KEEP_SCRATCH_FILES = timedelta(days=1)


def jobs_fail_stalled(*, now: Any = None) -> int:
    """Fail the running jobs that reported nothing for an hour (their worker went away) and
    the queued ones the queue has not started in a day (their message was lost).

    Failing a job is all it does to it: the records waiting on a job (an import, say) read
    their job's state (`cpe.core.selectors.waits_on_a_stopped_job`). Run every few minutes
    by the queue, so an officer waits minutes, not a night, to act on such a record.
    """
    now = now or timezone.now()
    stalled = Job.objects.filter(state=Job.State.RUNNING, updated_at__lt=now - STALLED_AFTER)
    with transaction.atomic():
        # A job row locked by an open transaction has a live worker (a long recording whose
        # progress could not be reported aside, see JobContext.progress): skipped, not
        # waited for.
        silent = list(stalled.select_for_update(skip_locked=True).values_list("pk", flat=True))
        failed = Job.objects.filter(pk__in=silent).update(
            state=Job.State.FAILED,
            finished_at=now,
            message=_("The worker running this job stopped. Start the job again."),
        )
    # A worker claiming one of these meanwhile (job_run's UPDATE where it is still queued)
    # and this UPDATE cannot both find it queued: it runs, or it fails here.
    lost = Job.objects.filter(
        state=Job.State.QUEUED, created_at__lt=now - NEVER_STARTED_AFTER
    ).update(
        state=Job.State.FAILED,
        finished_at=now,
        message=_("The queue never started this job. Start the job again."),
    )
    return failed + lost


def jobs_housekeep(*, now: Any = None) -> dict[str, int]:
    """Fail jobs whose worker went away, and forget old finished jobs and their files (not
    the failed ones of a kind kept when failed: they still tell of something to do)."""
    now = now or timezone.now()
    stalled_count = jobs_fail_stalled(now=now)
    old = Job.objects.filter(
        state__in=[Job.State.SUCCEEDED, Job.State.FAILED], finished_at__lt=now - KEEP_FINISHED_JOBS
    ).exclude(state=Job.State.FAILED, kind__in=job_kinds_kept_when_failed())
    removed = 0
    for job in old.iterator():
        if job.result_file:
            job.result_file.delete(save=False)
        job.delete()
        removed += 1
    return {
        "stalled": stalled_count,
        "removed": removed,
        "scratch_files": _scratch_files_sweep(now=now),
    }


def _scratch_files_sweep(*, now: datetime) -> int:
    """Remove the half-written results left by workers killed while writing them."""
    try:
        directory = Path(Job._meta.get_field("result_file").storage.path(SCRATCH_DIRECTORY))
    except NotImplementedError:  # scratch files were in the system's temporary folder
        return 0
    cutoff = (now - KEEP_SCRATCH_FILES).timestamp()
    removed = 0
    for path in directory.glob("partial-*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # kept or removed meanwhile
            continue
    return removed
