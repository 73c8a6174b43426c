"""The state and progress of background jobs, for the progress bars."""

from datetime import datetime
from uuid import UUID

from django.http import Http404, HttpRequest
from django.urls import reverse
from ninja import Router, Schema

from cpe.api.auth import require, session_auth
from cpe.core.capabilities import Capability
from cpe.core.jobs import job_kind_label
from cpe.core.models import Job
from cpe.core.selectors import jobs_visible

router = Router(tags=["jobs"], auth=session_auth)


class JobOut(Schema):
    id: UUID
    kind: str
    kind_label: str
    state: str
    state_label: str
    percent: int
    progress_done: int
    progress_total: int
    message: str
    result: dict
    download_url: str | None
    created_at: datetime
    finished_at: datetime | None


def job_out(job: Job) -> dict:
    return {
        "id": job.pk,
        "kind": job.kind,
        "kind_label": job_kind_label(job.kind),
        "state": job.state,
        "state_label": job.get_state_display(),
        "percent": job.percent,
        "progress_done": job.progress_done,
        "progress_total": job.progress_total,
        "message": job.message,
        "result": job.result,
        "download_url": reverse("core:job_download", args=[job.pk]) if job.result_file else None,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


@router.get("", response=list[JobOut])
def job_list(request: HttpRequest) -> list[dict]:
    user = require(request, Capability.JOBS_VIEW)
    return [job_out(job) for job in jobs_visible(user=user)[:50]]


@router.get("/{job_id}", response=JobOut)
def job_detail(request: HttpRequest, job_id: UUID) -> dict:
    user = require(request, Capability.JOBS_VIEW)
    job = jobs_visible(user=user).filter(pk=job_id).first()
    if job is None:
        raise Http404
    return job_out(job)
