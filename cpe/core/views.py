"""Staff pages for the audit log and background jobs, the health check, and error pages."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from cpe.core.capabilities import Capability
from cpe.core.forms import AuditFilterForm
from cpe.core.jobs import job_kind_label, job_result_for_requester_only
from cpe.core.permissions import capability_required
from cpe.core.selectors import audit_actions, audit_search, health_report, jobs_visible
from cpe.core.services import Actor, audit_record


@capability_required(Capability.AUDIT_VIEW)
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    entries = audit_search(user=request.user, filters=form.filters())
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "core/audit_list.html",
        {"form": form, "page": page, "actions": audit_actions(), "query": query.urlencode()},
    )


@capability_required(Capability.JOBS_VIEW)
def job_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(jobs_visible(user=request.user), 30).get_page(request.GET.get("page"))
    for job in page:
        job.kind_label = job_kind_label(job.kind)
    return render(request, "core/job_list.html", {"page": page})


def _visible_job(request: HttpRequest, job_id: str):
    job = jobs_visible(user=request.user).filter(pk=job_id).first()
    if job is None:
        raise Http404
    return job


@capability_required(Capability.JOBS_VIEW)
def job_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _visible_job(request, job_id)
    job.kind_label = job_kind_label(job.kind)
    show_error = request.user.has_capability(Capability.JOBS_DETAILS)
    return render(request, "core/job_detail.html", {"job": job, "show_error": show_error})


@capability_required(Capability.JOBS_VIEW)
def job_download(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _visible_job(request, job_id)
    if not job.result_file:
        raise Http404
    if job_result_for_requester_only(job.kind) and job.created_by_id != request.user.pk:
        raise Http404
    name = job.result_file.name.rsplit("/", 1)[-1]
    # Result files hold people's records (certificates, rows with errors): who fetched one is
    # kept like any opening of evidence.
    audit_record(
        actor=Actor.from_request(request),
        action="job.download",
        target=job,
        region_path=job.region_path,
    )
    return FileResponse(job.result_file.open("rb"), as_attachment=True, filename=name)


def healthz(request: HttpRequest) -> JsonResponse:
    status, body = health_report()
    return JsonResponse(body, status=status)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without the request context: whatever failed must not fail again here.
    return render(None, "500.html", status=500)
