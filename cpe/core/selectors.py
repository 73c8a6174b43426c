"""Reads of the audit log and of jobs, narrowed to what the caller may see."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from cpe.core.capabilities import Capability
from cpe.core.models import AuditEntry, Job
from cpe.core.permissions import scope_filter, user_scope_path


@dataclass(frozen=True)
class AuditFilters:
    person: str = ""
    action: str = ""
    record: str = ""
    date_from: date | None = None
    date_to: date | None = None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_search(*, user: Any, filters: AuditFilters) -> QuerySet[AuditEntry]:
    """Audit entries inside the user's scope that match the filters, newest first."""
    entries = scope_filter(AuditEntry.objects.all(), user)
    if filters.person:
        entries = entries.filter(actor_label__icontains=filters.person)
    if filters.action:
        entries = entries.filter(action__startswith=filters.action)
    if filters.record:
        record = filters.record.strip()
        entries = entries.filter(
            Q(target_id=record) | Q(target_label__icontains=record) | Q(target_type=record)
        )
    if filters.date_from:
        entries = entries.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        entries = entries.filter(created_at__lt=_day_start(filters.date_to + timedelta(days=1)))
    return entries.select_related("actor").order_by("-created_at", "-id")


def audit_actions() -> list[str]:
    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct())


def jobs_visible(*, user: Any) -> QuerySet[Job]:
    """A person sees the jobs they started; support staff see every job in their scope."""
    if user_scope_path(user) is None:
        return Job.objects.none()
    if user.has_capability(Capability.JOBS_DETAILS):
        return scope_filter(Job.objects.all(), user).select_related("created_by")
    return Job.objects.filter(created_by=user).select_related("created_by")


def waits_on_a_stopped_job(*, state: str, busy: Collection[str], job: Job | None) -> bool:
    """Whether a record in one of its `busy` states waits for a job that will never move it
    on: the job failed, in its handler or because its worker died and the housekeeping
    (`jobs_housekeep`) marked it failed.

    The record keeps its state: pages and services read it with its job's, so the
    housekeeping, which knows no app's records, has nothing of theirs to repair.
    """
    return state in busy and job is not None and job.state == Job.State.FAILED


def health_report() -> tuple[int, dict[str, Any]]:
    """The HTTP status and body that /healthz and the API both answer with."""
    checks = health_check()
    healthy = all(value == "ok" for value in checks.values())
    return (200 if healthy else 503), {"status": "ok" if healthy else "error", "checks": checks}


def health_check() -> dict[str, str]:
    """The state of each part the platform depends on: "ok", or what went wrong."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc.__class__.__name__}"
    if settings.REDIS_URL:
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {exc.__class__.__name__}"
    return checks
