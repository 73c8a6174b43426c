"""Staff pages for importing learners: upload, preview with the errors, confirm."""

from __future__ import annotations

import io
from pathlib import PurePath
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpe.core.capabilities import Capability
from cpe.core.forms import apply_validation_error
from cpe.core.permissions import capability_required
from cpe.core.services import Actor, audit_record
from cpe.regions.models import Region
from cpe.registry.import_forms import LearnerImportUploadForm
from cpe.registry.imports import (
    COLUMNS,
    MAX_UPLOAD_BYTES,
    error_rows_xlsx,
    import_may_be_abandoned,
    in_current_language,
    learner_import_abandon,
    learner_import_confirm,
    learner_import_recheck,
    learner_import_start,
    row_error_lines,
    template_csv,
    template_xlsx,
    upload_too_large_message,
)
from cpe.registry.models import LearnerImport
from cpe.registry.selectors import import_for_officer, officer_district

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _officer_district(request: HttpRequest) -> Region:
    return officer_district(user=request.user)


def _district_import(request: HttpRequest, import_id: UUID) -> LearnerImport:
    return import_for_officer(user=request.user, import_id=import_id)


@capability_required(Capability.LEARNERS_MANAGE)
def import_list(request: HttpRequest) -> HttpResponse:
    district = _officer_district(request)
    form = LearnerImportUploadForm()
    refusal = ""
    if request.method == "POST":
        # Refuse a huge body before Django spools it to disk as an upload.
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_UPLOAD_BYTES + 1024 * 1024:
            refusal = upload_too_large_message()
        else:
            form = LearnerImportUploadForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    learner_import = learner_import_start(
                        actor=Actor.from_request(request),
                        district=district,
                        upload=form.cleaned_data["file"],
                    )
                except ValidationError as error:
                    apply_validation_error(form, error)
                else:
                    return redirect("registry:import_detail", import_id=learner_import.pk)
    imports = LearnerImport.objects.filter(district=district).select_related("created_by")
    page = Paginator(imports, 20).get_page(request.GET.get("page"))
    return render(
        request,
        "registry/import_list.html",
        {
            "form": form,
            "refusal": refusal,
            "page": page,
            "district": district,
            "columns": COLUMNS,
        },
    )


@capability_required(Capability.LEARNERS_MANAGE)
def import_template(request: HttpRequest, file_format: str) -> HttpResponse:
    _officer_district(request)
    if file_format == "xlsx":
        content, content_type = template_xlsx(), XLSX_TYPE
    elif file_format == "csv":
        content, content_type = template_csv(), "text/csv; charset=utf-8"
    else:
        raise Http404
    return FileResponse(
        io.BytesIO(content),
        as_attachment=True,
        filename=f"学员导入模板.{file_format}",
        content_type=content_type,
    )


@capability_required(Capability.LEARNERS_MANAGE)
def import_detail(request: HttpRequest, import_id: UUID) -> HttpResponse:
    learner_import = _district_import(request, import_id)
    state = learner_import.state
    State = LearnerImport.State
    job = learner_import.job
    busy = state in (State.CHECKING, State.APPLYING) and not (job and job.is_finished)
    errors = Paginator(learner_import.row_errors.all(), 50).get_page(request.GET.get("page"))
    rows = [
        (error.row_number, error.id_number_masked, error.name, row_error_lines(error.messages))
        for error in errors
    ]
    return render(
        request,
        "registry/import_detail.html",
        {
            "learner_import": learner_import,
            "job": job,
            "busy": busy,
            "page": errors,
            "rows": rows,
            "message": in_current_language(learner_import.message)
            if learner_import.message
            else "",
            "can_confirm": state == State.CHECKED,
            "can_recheck": state in (State.CHECKED, State.STALE),
            "can_abandon": import_may_be_abandoned(learner_import),
            "can_download_errors": bool(learner_import.error_count and learner_import.upload)
            and state in (State.CHECKED, State.STALE),
            "shows_counts": state in (State.CHECKED, State.APPLYING, State.APPLIED, State.STALE),
        },
    )


@capability_required(Capability.LEARNERS_MANAGE)
def import_errors_download(request: HttpRequest, import_id: UUID) -> HttpResponse:
    learner_import = _district_import(request, import_id)
    if not learner_import.upload or not learner_import.error_count:
        raise Http404
    content = error_rows_xlsx(learner_import)
    audit_record(
        actor=Actor.from_request(request),
        action="learner_import.download_errors",
        target=learner_import,
    )
    stem = PurePath(learner_import.file_name).stem
    return FileResponse(
        io.BytesIO(content),
        as_attachment=True,
        filename=f"错误行-{stem}.xlsx",
        content_type=XLSX_TYPE,
    )


def _post_action(request: HttpRequest, import_id: UUID, action, done: str) -> HttpResponse:  # type: ignore[no-untyped-def]
    learner_import = _district_import(request, import_id)
    try:
        action(actor=Actor.from_request(request), learner_import=learner_import)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect("registry:import_detail", import_id=learner_import.pk)


@require_POST
@capability_required(Capability.LEARNERS_MANAGE)
def import_confirm(request: HttpRequest, import_id: UUID) -> HttpResponse:
    return _post_action(request, import_id, learner_import_confirm, _("The import has started."))


@require_POST
@capability_required(Capability.LEARNERS_MANAGE)
def import_recheck(request: HttpRequest, import_id: UUID) -> HttpResponse:
    return _post_action(
        request, import_id, learner_import_recheck, _("The file is being checked again.")
    )


@require_POST
@capability_required(Capability.LEARNERS_MANAGE)
def import_abandon(request: HttpRequest, import_id: UUID) -> HttpResponse:
    return _post_action(
        request,
        import_id,
        learner_import_abandon,
        _("The import is abandoned and the uploaded file deleted."),
    )
