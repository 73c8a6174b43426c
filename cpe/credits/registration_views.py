"""Pages of credit registration: the learner's applications, the district officer's queue and
decisions, direct recording and the import of credits, and the conversion table."""

from __future__ import annotations

import io
from pathlib import PurePath
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpe.core.capabilities import Capability
from cpe.core.forms import apply_validation_error
from cpe.core.permissions import capability_required, in_scope
from cpe.core.services import Actor, audit_record
from cpe.credits import imports
from cpe.credits.conversion import (
    DETAIL_FIELDS,
    KINDS,
    conversion_regions,
    conversion_rule_save,
    conversion_table,
)
from cpe.credits.models import CreditApplication, CreditImport
from cpe.credits.registration import (
    applications_for_learner,
    applications_for_staff,
    credit_application_approve,
    credit_application_evidence_open,
    credit_application_reject,
    credit_application_submit,
    credit_application_withdraw,
    credit_record_direct,
    rule_for,
)
from cpe.credits.registration_forms import (
    ApplicationForm,
    ApproveForm,
    ConversionRuleForm,
    CreditImportForm,
    DirectRecordForm,
    RejectForm,
)
from cpe.learning.selectors import learner_for_user
from cpe.learning.years import required_years, this_year
from cpe.regions.models import Region
from cpe.registry.imports import KEEP_UNCONFIRMED
from cpe.registry.models import Learner
from cpe.registry.selectors import officer_district
from cpe.registry.services import learner_find_by_id_number

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
learner_required = capability_required(Capability.STUDY, login_url_name="registry:signin")


def _learner(request: HttpRequest) -> Learner:
    learner = learner_for_user(request.user)
    if learner is None:
        raise Http404
    return learner


def _evidence_response(handle, application: CreditApplication) -> HttpResponse:  # type: ignore[no-untyped-def]
    response = FileResponse(
        handle, content_type=application.evidence_type, filename=application.evidence_name
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- The learner --------------------------------------------------------------------------


@learner_required
def apply_choose(request: HttpRequest) -> HttpResponse:
    """The kinds of activity of this year's table, each with its credits, to apply for."""
    learner = _learner(request)
    table = conversion_table(learner.district, this_year())
    return render(
        request,
        "credits/apply_choose.html",
        {"rules": table.active, "applications": applications_for_learner(learner)},
    )


@learner_required
def apply(request: HttpRequest, kind: str) -> HttpResponse:
    learner = _learner(request)
    rule = rule_for(learner, this_year(), kind)
    if rule is None:
        raise Http404
    years = required_years(learner) or [this_year()]
    form = ApplicationForm(rule=rule, years=years)
    status = 200
    if request.method == "POST":
        form = ApplicationForm(request.POST, request.FILES, rule=rule, years=years)
        if form.is_valid():
            try:
                credit_application_submit(
                    actor=Actor.from_request(request),
                    learner=learner,
                    year=form.cleaned_data["year"],
                    kind=kind,
                    details=form.details(),
                    category=form.cleaned_data.get("category", ""),
                    evidence=form.cleaned_data.get("evidence"),
                )
            except ValidationError as refused:
                apply_validation_error(form, refused)
            else:
                messages.success(
                    request, _("Your application is sent to your district bureau for approval.")
                )
                return redirect("credits:dashboard")
        status = 422
    return render(request, "credits/apply.html", {"form": form, "rule": rule}, status=status)


def _own_application(request: HttpRequest, application_id: int) -> CreditApplication:
    return get_object_or_404(
        applications_for_learner(_learner(request)).select_related("learner__district"),
        pk=application_id,
    )


@require_POST
@learner_required
def application_withdraw(request: HttpRequest, application_id: int) -> HttpResponse:
    application = _own_application(request, application_id)
    try:
        credit_application_withdraw(actor=Actor.from_request(request), application=application)
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(request, _("The application is withdrawn."))
    return redirect("credits:dashboard")


@learner_required
def application_evidence(request: HttpRequest, application_id: int) -> HttpResponse:
    application = _own_application(request, application_id)
    if not application.evidence:
        raise Http404
    handle = credit_application_evidence_open(
        actor=Actor.from_request(request), application=application
    )
    return _evidence_response(handle, application)


# --- The district officer's queue ---------------------------------------------------------


@capability_required(Capability.CREDITS_VIEW)
def staff_applications(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", CreditApplication.State.PENDING)
    applications = applications_for_staff(user=request.user, state=state)
    page = Paginator(applications, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "credits/staff_applications.html",
        {"page": page, "state": state, "states": CreditApplication.State.choices},
    )


def _staff_application(request: HttpRequest, application_id: int) -> CreditApplication:
    return get_object_or_404(applications_for_staff(user=request.user), pk=application_id)


def _decision_page(
    request: HttpRequest,
    application: CreditApplication,
    approve_form: ApproveForm | None = None,
    reject_form: RejectForm | None = None,
    status: int = 200,
) -> HttpResponse:
    may_decide = request.user.has_capability(Capability.CREDITS_REGISTER)
    details = [
        (DETAIL_FIELDS[name].label if name in DETAIL_FIELDS else name, value)
        for name, value in application.details.items()
    ]
    return render(
        request,
        "credits/staff_application.html",
        {
            "application": application,
            "details": details,
            "may_decide": may_decide and application.state == CreditApplication.State.PENDING,
            "approve_form": approve_form
            or ApproveForm(initial={"credits": application.credits_claimed}),
            "reject_form": reject_form or RejectForm(),
        },
        status=status,
    )


@capability_required(Capability.CREDITS_VIEW)
def staff_application(request: HttpRequest, application_id: int) -> HttpResponse:
    return _decision_page(request, _staff_application(request, application_id))


@capability_required(Capability.CREDITS_VIEW)
def staff_application_evidence(request: HttpRequest, application_id: int) -> HttpResponse:
    application = _staff_application(request, application_id)
    if not application.evidence:
        raise Http404
    handle = credit_application_evidence_open(
        actor=Actor.from_request(request), application=application
    )
    return _evidence_response(handle, application)


@require_POST
@capability_required(Capability.CREDITS_REGISTER)
def staff_application_approve(request: HttpRequest, application_id: int) -> HttpResponse:
    application = _staff_application(request, application_id)
    form = ApproveForm(request.POST)
    if form.is_valid():
        try:
            credit_application_approve(
                actor=Actor.from_request(request),
                application=application,
                credits=form.cleaned_data["credits"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as refused:
            apply_validation_error(form, refused)
        else:
            messages.success(request, _("Approved: the credits are in the learner's ledger."))
            return redirect("credits:staff_applications")
    application.refresh_from_db()
    return _decision_page(request, application, approve_form=form, status=422)


@require_POST
@capability_required(Capability.CREDITS_REGISTER)
def staff_application_reject(request: HttpRequest, application_id: int) -> HttpResponse:
    application = _staff_application(request, application_id)
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            credit_application_reject(
                actor=Actor.from_request(request),
                application=application,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as refused:
            apply_validation_error(form, refused)
        else:
            messages.success(request, _("The application is rejected; the learner sees why."))
            return redirect("credits:staff_applications")
    application.refresh_from_db()
    return _decision_page(request, application, reject_form=form, status=422)


# --- Recording directly, and imports ------------------------------------------------------


@capability_required(Capability.CREDITS_REGISTER)
def staff_record(request: HttpRequest) -> HttpResponse:
    """Record credits for one learner of the officer's district."""
    district = officer_district(user=request.user)
    form = DirectRecordForm(initial={"year": this_year()})
    status = 200
    if request.method == "POST":
        form = DirectRecordForm(request.POST)
        status = 422
        if form.is_valid():
            learner = learner_find_by_id_number(form.cleaned_data["id_number"])
            if learner is None or learner.district_id != district.pk:
                form.add_error(
                    "id_number", _("Nobody with this ID number is collected in your district.")
                )
            else:
                kind, source = form.kind_and_source()
                try:
                    entry = credit_record_direct(
                        actor=Actor.from_request(request),
                        learner=learner,
                        year=form.cleaned_data["year"],
                        kind=kind,
                        source=source,
                        category=form.cleaned_data["category"],
                        credits=form.cleaned_data["credits"],
                        reference=form.cleaned_data["reference"],
                        evidence=form.cleaned_data["evidence"],
                        reason=form.cleaned_data["reason"],
                    )
                except ValidationError as refused:
                    apply_validation_error(form, refused)
                else:
                    messages.success(
                        request,
                        _("%(credits)s credits are recorded for %(name)s.")
                        % {"credits": entry.credits, "name": learner.name},
                    )
                    return redirect("credits:staff_record")
    return render(request, "credits/staff_record.html", {"form": form}, status=status)


@capability_required(Capability.CREDITS_REGISTER)
def staff_imports(request: HttpRequest) -> HttpResponse:
    district = officer_district(user=request.user)
    form = CreditImportForm()
    status = 200
    if request.method == "POST":
        form = CreditImportForm(request.POST, request.FILES)
        status = 422
        if form.is_valid():
            try:
                credit_import = imports.credit_import_start(
                    actor=Actor.from_request(request),
                    district=district,
                    upload=form.cleaned_data["file"],
                )
            except ValidationError as refused:
                apply_validation_error(form, refused, default_field="file")
            else:
                return redirect("credits:staff_import", import_id=credit_import.pk)
    page = Paginator(
        CreditImport.objects.filter(district=district).select_related("created_by", "job"), 20
    ).get_page(request.GET.get("page"))
    for item in page:
        item.shown_state, item.shown_state_label = imports.credit_import_state(item)
    return render(
        request,
        "credits/staff_imports.html",
        {
            "form": form,
            "page": page,
            "columns": imports.COLUMNS,
            "keep_days": KEEP_UNCONFIRMED.days,
        },
        status=status,
    )


@capability_required(Capability.CREDITS_REGISTER)
def staff_import_template(request: HttpRequest, file_format: str) -> HttpResponse:
    officer_district(user=request.user)
    if file_format == "xlsx":
        content, content_type = imports.template_xlsx(), XLSX_TYPE
    elif file_format == "csv":
        content, content_type = imports.template_csv(), "text/csv; charset=utf-8"
    else:
        raise Http404
    return FileResponse(
        io.BytesIO(content),
        as_attachment=True,
        filename=f"学分导入模板.{file_format}",
        content_type=content_type,
    )


def _district_import(request: HttpRequest, import_id: UUID) -> CreditImport:
    district = officer_district(user=request.user)
    return get_object_or_404(
        CreditImport.objects.select_related("district", "job", "created_by"),
        pk=import_id,
        district=district,
    )


@capability_required(Capability.CREDITS_REGISTER)
def staff_import(request: HttpRequest, import_id: UUID) -> HttpResponse:
    credit_import = _district_import(request, import_id)
    State = CreditImport.State
    job = credit_import.job
    busy = credit_import.state in imports.BUSY and not (job and job.is_finished)
    state, state_label = imports.credit_import_state(credit_import)
    errors = Paginator(credit_import.error_rows, 50).get_page(request.GET.get("page"))
    rows = [
        (row["row"], row.get("id_number"), row.get("name"), imports.row_error_lines(row["errors"]))
        for row in errors
    ]
    return render(
        request,
        "credits/staff_import.html",
        {
            "credit_import": credit_import,
            "job": job,
            "busy": busy,
            "state": state,
            "state_label": state_label,
            "message": imports.credit_import_message(credit_import),
            "keep_days": KEEP_UNCONFIRMED.days,
            "page": errors,
            "rows": rows,
            "can_confirm": credit_import.state == State.CHECKED,
            "can_recheck": imports.credit_import_may_be_checked_again(credit_import),
            "can_abandon": imports.credit_import_may_be_abandoned(credit_import),
            "can_download_errors": bool(credit_import.error_count and credit_import.upload)
            and credit_import.state == State.CHECKED,
        },
    )


@capability_required(Capability.CREDITS_REGISTER)
def staff_import_errors(request: HttpRequest, import_id: UUID) -> HttpResponse:
    credit_import = _district_import(request, import_id)
    if not credit_import.upload or not credit_import.error_count:
        raise Http404
    content = imports.error_rows_xlsx(credit_import)
    audit_record(
        actor=Actor.from_request(request),
        action="credit_import.download_errors",
        target=credit_import,
    )
    return FileResponse(
        io.BytesIO(content),
        as_attachment=True,
        filename=f"错误行-{PurePath(credit_import.file_name).stem}.xlsx",
        content_type=XLSX_TYPE,
    )


@require_POST
@capability_required(Capability.CREDITS_REGISTER)
def staff_import_confirm(request: HttpRequest, import_id: UUID) -> HttpResponse:
    credit_import = _district_import(request, import_id)
    try:
        imports.credit_import_confirm(
            actor=Actor.from_request(request),
            credit_import=credit_import,
            valid_rows_only=request.POST.get("valid_rows_only") == "1",
        )
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(request, _("The credits are being recorded."))
    return redirect("credits:staff_import", import_id=credit_import.pk)


@require_POST
@capability_required(Capability.CREDITS_REGISTER)
def staff_import_recheck(request: HttpRequest, import_id: UUID) -> HttpResponse:
    credit_import = _district_import(request, import_id)
    try:
        imports.credit_import_recheck(
            actor=Actor.from_request(request), credit_import=credit_import
        )
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(request, _("The file is being checked again."))
    return redirect("credits:staff_import", import_id=credit_import.pk)


@require_POST
@capability_required(Capability.CREDITS_REGISTER)
def staff_import_abandon(request: HttpRequest, import_id: UUID) -> HttpResponse:
    credit_import = _district_import(request, import_id)
    try:
        imports.credit_import_abandon(
            actor=Actor.from_request(request), credit_import=credit_import
        )
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(request, _("The import is abandoned and the uploaded file deleted."))
    return redirect("credits:staff_imports")


# --- The conversion table -----------------------------------------------------------------


def _viewed_region(request: HttpRequest) -> Region:
    code = request.GET.get("region", "")
    user = request.user
    if code:
        region = get_object_or_404(Region, code=code)
        scope = user.scope_path or ""
        # A table is read in one's region and above it (a district follows its city's table).
        if not (in_scope(user, region.path) or scope.startswith(region.path)):
            raise Http404
        return region
    if user.region is not None:
        return user.region
    region = Region.objects.filter(level=Region.Level.PROVINCE).order_by("code").first()
    if region is None:
        raise Http404
    return region


def _year_param(request: HttpRequest) -> int:
    raw = request.GET.get("year", "")
    if raw.isdigit() and 1900 <= int(raw) <= 2099:
        return int(raw)
    return this_year()


@capability_required(Capability.CREDITS_VIEW)
def conversion(request: HttpRequest) -> HttpResponse:
    """The table in force for a region and year; its administrators edit it from here."""
    region, year = _viewed_region(request), _year_param(request)
    editable = [r for r in conversion_regions(request.user) if r.pk == region.pk]
    return render(
        request,
        "credits/conversion.html",
        {
            "region": region,
            "year": year,
            "table": conversion_table(region, year),
            "may_edit": bool(editable),
            "editable_regions": conversion_regions(request.user),
            "details": DETAIL_FIELDS,
        },
    )


@capability_required(Capability.CONVERSION_EDIT)
def conversion_edit(request: HttpRequest, region_code: str, year: int, kind: str) -> HttpResponse:
    region = get_object_or_404(Region, code=region_code)
    if region not in conversion_regions(request.user):
        raise Http404
    if kind not in KINDS or not 1900 <= year <= 2099:
        raise Http404
    rule = conversion_table(region, year).get(kind)
    if rule is None:
        raise PermissionDenied
    initial = {
        "category": rule.category,
        "credits_per_unit": rule.credits_per_unit,
        "unit": rule.unit,
        "min_credits": rule.min_credits,
        "max_credits": rule.max_credits,
        "evidence_required": rule.evidence_required,
        "detail_fields": list(rule.detail_fields),
        "is_active": rule.is_active,
    }
    form = ConversionRuleForm(initial=initial)
    status = 200
    if request.method == "POST":
        form = ConversionRuleForm(request.POST)
        status = 422
        if form.is_valid():
            try:
                conversion_rule_save(
                    actor=Actor.from_request(request),
                    region=region,
                    year=year,
                    kind=kind,
                    values=form.values(),
                )
            except ValidationError as refused:
                apply_validation_error(form, refused)
            else:
                messages.success(request, _("The conversion table is saved."))
                return redirect(f"{_conversion_url()}?region={region.code}&year={year}")
    return render(
        request,
        "credits/conversion_edit.html",
        {"form": form, "rule": rule, "region": region, "year": year, "now": timezone.now()},
        status=status,
    )


def _conversion_url() -> str:
    from django.urls import reverse

    return reverse("credits:conversion")


# --- Panels on learning's pages -----------------------------------------------------------


def dashboard_applications_panel(request: HttpRequest, learner: Learner) -> str:
    """The learner's credit applications on the study dashboard (registered with
    cpe.learning.panels): what waits, and the latest outcomes."""
    applications = list(applications_for_learner(learner)[:3])
    if not applications:
        return ""
    return render_to_string(
        "credits/includes/dashboard_applications.html",
        {"applications": applications},
        request=request,
    )


def staff_applications_panel(request: HttpRequest, learner: Learner) -> str:
    """The learner's applications on the staff page of their study, for staff who read
    credits (registered with cpe.learning.panels)."""
    if not request.user.has_capability(Capability.CREDITS_VIEW):
        return ""
    applications = list(applications_for_learner(learner))
    if not applications:
        return ""
    return render_to_string(
        "credits/includes/staff_applications_panel.html",
        {"applications": applications},
        request=request,
    )
