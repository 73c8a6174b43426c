"""Credit registration: the conversion table, a learner's applications, the district officer's
queue and decisions, direct recording and the import of credits.

The same services as the pages (cpe.credits.registration, .conversion, .imports). The
import's check and recording run as background jobs; follow them at /api/v1/jobs/{job_id}.
"""

import json
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema, Status, UploadedFile

from cpe.api.auth import require, session_auth
from cpe.core.capabilities import Capability
from cpe.core.services import Actor
from cpe.credits import imports
from cpe.credits.conversion import (
    YEAR_FIRST,
    YEAR_LAST,
    Rule,
    conversion_regions,
    conversion_rule_save,
    conversion_table,
    year_problem,
)
from cpe.credits.models import CreditApplication, CreditImport
from cpe.credits.registration import (
    applications_for_learner,
    applications_for_staff,
    credit_application_approve,
    credit_application_reject,
    credit_application_submit,
    credit_application_withdraw,
    credit_record_direct,
)
from cpe.learning.selectors import learner_for_user
from cpe.learning.years import this_year
from cpe.regions.models import Region
from cpe.registry.selectors import learner_for_staff, officer_district

learner_router = Router(tags=["credit registration"], auth=session_auth)
staff_router = Router(tags=["credit registration"], auth=session_auth)


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


class RuleOut(Schema):
    kind: str
    label: str
    source: str
    category: str = Field(description="public, professional, or empty: the applicant chooses")
    credits_per_unit: Decimal
    unit: str = Field(description="item or day")
    min_credits: Decimal
    max_credits: Decimal
    evidence_required: bool
    detail_fields: list[str] = Field(description="The first one tells one activity from another")
    is_active: bool


class TableOut(Schema):
    region: str | None = Field(description="The region whose table applies (None: national)")
    effective_from: int | None
    rules: list[RuleOut]


class ApplicationOut(Schema):
    id: int
    learner_id: int
    year: int
    kind: str
    kind_label: str
    source: str
    category: str
    details: dict[str, str]
    reference: str
    credits_claimed: Decimal
    min_credits: Decimal
    max_credits: Decimal
    has_evidence: bool
    state: str = Field(description="pending, approved, rejected or withdrawn")
    state_label: str
    created_at: datetime
    decided_at: datetime | None
    credits_granted: Decimal | None
    decision_reason: str
    entry_id: int | None = Field(description="The ledger entry an approval recorded")


class ApproveIn(Schema):
    credits: Decimal | None = Field(
        default=None, description="Empty: the table's credits; otherwise within its limits"
    )
    reason: str = Field(default="", max_length=500, description="Needed when credits differ")


class RejectIn(Schema):
    reason: str = Field(max_length=500)


class RecordIn(Schema):
    learner_id: int
    year: int
    kind: str = Field(default="", description="A kind of the conversion table, or empty")
    source: str = Field(default="", description="A ledger source when no kind is given")
    category: str = Field(default="", description="public or professional, unless the kind says")
    credits: Decimal
    reference: str = Field(max_length=200)
    evidence: str = Field(
        default="",
        max_length=400,
        description="The document the credits rest on; required where the conversion table "
        "requires evidence for the kind (or, by source, for any kind of that source)",
    )
    reason: str = Field(default="", max_length=500)


class EntryOut(Schema):
    id: int
    learner_id: int
    year: int
    category: str
    credits: Decimal
    source: str
    reference: str
    evidence: str


class ImportOut(Schema):
    id: UUID
    file_name: str
    state: str = Field(
        description="checking, checked, refused, applying, applied, failed (the check or the "
        "recording stopped: check again or abandon) or abandoned"
    )
    state_label: str
    message: str
    total_rows: int
    new: int
    unchanged: int = Field(description="Rows whose credits the ledger already has")
    errors: int
    recorded: int
    job_id: UUID | None
    created_at: datetime
    applied_at: datetime | None


class ImportRowErrorOut(Schema):
    row: int
    id_number_masked: str
    name: str
    errors: dict[str, list[str]]


class ImportDetailOut(ImportOut):
    error_rows: list[ImportRowErrorOut]


class ConfirmIn(Schema):
    valid_rows_only: bool = False


class RuleIn(Schema):
    category: str = ""
    credits_per_unit: Decimal
    unit: str = "item"
    min_credits: Decimal
    max_credits: Decimal
    evidence_required: bool = True
    detail_fields: list[str]
    is_active: bool = True


def _rule(rule: Rule) -> dict:
    return {
        "kind": rule.kind,
        "label": rule.label,
        "source": rule.source,
        "category": rule.category,
        "credits_per_unit": rule.credits_per_unit,
        "unit": rule.unit,
        "min_credits": rule.min_credits,
        "max_credits": rule.max_credits,
        "evidence_required": rule.evidence_required,
        "detail_fields": list(rule.detail_fields),
        "is_active": rule.is_active,
    }


def _table(region: Region | None, year: int) -> dict:
    table = conversion_table(region, year)
    return {
        "region": table.region.code if table.region else None,
        "effective_from": table.effective_from,
        "rules": [_rule(rule) for rule in table.rules],
    }


def _application(application: CreditApplication) -> dict:
    return {
        "id": application.pk,
        "learner_id": application.learner_id,
        "year": application.year,
        "kind": application.kind,
        "kind_label": application.kind_label,
        "source": application.source,
        "category": application.category,
        "details": application.details,
        "reference": application.reference,
        "credits_claimed": application.credits_claimed,
        "min_credits": application.min_credits,
        "max_credits": application.max_credits,
        "has_evidence": bool(application.evidence),
        "state": application.state,
        "state_label": application.get_state_display(),
        "created_at": application.created_at,
        "decided_at": application.decided_at,
        "credits_granted": application.credits_granted,
        "decision_reason": application.decision_reason,
        "entry_id": application.entry_id,
    }


def _import(credit_import: CreditImport) -> dict:
    state, state_label = imports.credit_import_state(credit_import)
    return {
        "id": credit_import.pk,
        "file_name": credit_import.file_name,
        "state": state,
        "state_label": state_label,
        "message": imports.credit_import_message(credit_import),
        "total_rows": credit_import.total_rows,
        "new": credit_import.new_count,
        "unchanged": credit_import.unchanged_count,
        "errors": credit_import.error_count,
        "recorded": credit_import.recorded_count,
        "job_id": credit_import.job_id,
        "created_at": credit_import.created_at,
        "applied_at": credit_import.applied_at,
    }


def _learner(request: HttpRequest):  # type: ignore[no-untyped-def]
    learner = learner_for_user(require(request, Capability.STUDY))
    if learner is None:
        raise PermissionDenied
    return learner


# --- The learner --------------------------------------------------------------------------


@learner_router.get(
    "/credit-conversion",
    response={200: TableOut, 403: ErrorOut},
    summary="The conversion table for my region and a year (this year unless given)",
)
def my_conversion_table(request: HttpRequest, year: int | None = None) -> dict:
    learner = _learner(request)
    return _table(learner.district, year or this_year())


@learner_router.get(
    "/credit-applications",
    response={200: list[ApplicationOut], 403: ErrorOut},
    summary="My credit applications and their outcomes",
)
def my_applications(request: HttpRequest) -> list[dict]:
    return [_application(a) for a in applications_for_learner(_learner(request))]


@learner_router.post(
    "/credit-applications",
    response={201: ApplicationOut, 403: ErrorOut, 422: ErrorOut},
    summary="Apply for credits earned outside the platform (multipart, with the evidence file)",
)
def application_create(
    request: HttpRequest,
    year: Form[int],
    kind: Form[str],
    details: Form[str] = "{}",
    category: Form[str] = "",
    evidence: UploadedFile | None = File(None),  # noqa: B008  (ninja reads the file part)
) -> Status:
    """`details` is a JSON object of the kind's detail fields (see /credit-conversion)."""
    learner = _learner(request)
    try:
        parsed = json.loads(details or "{}")
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ValidationError({"details": [_("Send the details as a JSON object.")]})
    application = credit_application_submit(
        actor=Actor.from_request(request),
        learner=learner,
        year=year,
        kind=kind,
        details=parsed,
        category=category,
        evidence=evidence,
    )
    return Status(201, _application(application))


@learner_router.post(
    "/credit-applications/{application_id}/withdraw",
    response={200: ApplicationOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Withdraw one of my applications while it waits",
)
def application_withdraw(request: HttpRequest, application_id: int) -> dict:
    application = get_object_or_404(applications_for_learner(_learner(request)), pk=application_id)
    return _application(
        credit_application_withdraw(actor=Actor.from_request(request), application=application)
    )


# --- Staff --------------------------------------------------------------------------------


@staff_router.get(
    "/credit-applications",
    response={200: list[ApplicationOut], 403: ErrorOut},
    summary="Credit applications of learners in my region (oldest first), by state",
)
def staff_applications(request: HttpRequest, state: str = "pending") -> list[dict]:
    user = require(request, Capability.CREDITS_VIEW)
    return [_application(a) for a in applications_for_staff(user=user, state=state)[:500]]


def _staff_application(request: HttpRequest, application_id: int) -> CreditApplication:
    user = require(request, Capability.CREDITS_VIEW)
    return get_object_or_404(applications_for_staff(user=user), pk=application_id)


@staff_router.get(
    "/credit-applications/{application_id}",
    response={200: ApplicationOut, 403: ErrorOut, 404: ErrorOut},
    summary="One credit application",
)
def staff_application(request: HttpRequest, application_id: int) -> dict:
    return _application(_staff_application(request, application_id))


@staff_router.post(
    "/credit-applications/{application_id}/approve",
    response={200: ApplicationOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Approve: one ledger entry with the table's credits (or others within its limits)",
)
def staff_approve(request: HttpRequest, application_id: int, payload: ApproveIn) -> dict:
    require(request, Capability.CREDITS_REGISTER)
    application = _staff_application(request, application_id)
    return _application(
        credit_application_approve(
            actor=Actor.from_request(request),
            application=application,
            credits=payload.credits,
            reason=payload.reason,
        )
    )


@staff_router.post(
    "/credit-applications/{application_id}/reject",
    response={200: ApplicationOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Reject with a reason the learner sees",
)
def staff_reject(request: HttpRequest, application_id: int, payload: RejectIn) -> dict:
    require(request, Capability.CREDITS_REGISTER)
    application = _staff_application(request, application_id)
    return _application(
        credit_application_reject(
            actor=Actor.from_request(request), application=application, reason=payload.reason
        )
    )


@staff_router.post(
    "/credit-entries",
    response={201: EntryOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Record credits for one learner of my district (the same credits once)",
)
def staff_record(request: HttpRequest, payload: RecordIn) -> Status:
    user = require(request, Capability.CREDITS_REGISTER)
    district = officer_district(user=user)
    learner = learner_for_staff(user=user, learner_id=payload.learner_id)
    if learner.district_id != district.pk:
        raise Http404
    entry = credit_record_direct(
        actor=Actor.from_request(request),
        learner=learner,
        year=payload.year,
        kind=payload.kind,
        source=payload.source,
        category=payload.category,
        credits=payload.credits,
        reference=payload.reference,
        evidence=payload.evidence,
        reason=payload.reason,
    )
    return Status(
        201,
        {
            "id": entry.pk,
            "learner_id": entry.learner_id,
            "year": entry.year,
            "category": entry.category,
            "credits": entry.credits,
            "source": entry.source,
            "reference": entry.reference,
            "evidence": entry.evidence,
        },
    )


@staff_router.post(
    "/credit-imports",
    response={202: ImportOut, 403: ErrorOut, 422: ErrorOut},
    summary="Upload an XLSX or CSV file of credits; every row is checked in a background job",
)
def import_upload(request: HttpRequest, file: File[UploadedFile]) -> Status:
    user = require(request, Capability.CREDITS_REGISTER)
    credit_import = imports.credit_import_start(
        actor=Actor.from_request(request), district=officer_district(user=user), upload=file
    )
    credit_import.refresh_from_db()
    return Status(202, _import(credit_import))


def _officer_import(request: HttpRequest, import_id: UUID) -> CreditImport:
    user = require(request, Capability.CREDITS_REGISTER)
    return get_object_or_404(
        CreditImport.objects.select_related("district", "job"),
        pk=import_id,
        district=officer_district(user=user),
    )


@staff_router.get(
    "/credit-imports/{import_id}",
    response={200: ImportDetailOut, 403: ErrorOut, 404: ErrorOut},
    summary="An import's check: counts and each row's errors in my language",
)
def import_detail(request: HttpRequest, import_id: UUID) -> dict:
    credit_import = _officer_import(request, import_id)
    rows = [
        {
            "row": row["row"],
            "id_number_masked": row["id_number"],
            "name": row["name"],
            "errors": {label: texts for label, texts in imports.row_error_lines(row["errors"])},
        }
        for row in credit_import.error_rows[:1000]
    ]
    return _import(credit_import) | {"error_rows": rows}


@staff_router.post(
    "/credit-imports/{import_id}/confirm",
    response={202: ImportOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Record a checked file: all rows, or only the valid ones when asked",
)
def import_confirm(request: HttpRequest, import_id: UUID, payload: ConfirmIn) -> Status:
    credit_import = imports.credit_import_confirm(
        actor=Actor.from_request(request),
        credit_import=_officer_import(request, import_id),
        valid_rows_only=payload.valid_rows_only,
    )
    credit_import.refresh_from_db()
    return Status(202, _import(credit_import))


@staff_router.post(
    "/credit-imports/{import_id}/recheck",
    response={202: ImportOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Check the file again: after the check or the recording stopped, or after a row "
    "was refused at recording",
)
def import_recheck(request: HttpRequest, import_id: UUID) -> Status:
    credit_import = imports.credit_import_recheck(
        actor=Actor.from_request(request), credit_import=_officer_import(request, import_id)
    )
    credit_import.refresh_from_db()
    return Status(202, _import(credit_import))


@staff_router.post(
    "/credit-imports/{import_id}/abandon",
    response={200: ImportOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Drop a checked, refused or stopped import; its uploaded file is deleted",
)
def import_abandon(request: HttpRequest, import_id: UUID) -> dict:
    credit_import = imports.credit_import_abandon(
        actor=Actor.from_request(request), credit_import=_officer_import(request, import_id)
    )
    credit_import.refresh_from_db()
    return _import(credit_import)


@staff_router.get(
    "/credit-conversion/{region_code}/{year}",
    response={200: TableOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="The conversion table in force for a region in my scope and a year",
)
def staff_conversion(request: HttpRequest, region_code: str, year: int) -> dict:
    user = require(request, Capability.CREDITS_VIEW)
    region = get_object_or_404(Region, code=region_code)
    scope = user.scope_path or ""
    # A table is read in one's region and above it (a district follows its city's table).
    if not (region.path.startswith(scope) or scope.startswith(region.path)):
        raise Http404
    if not YEAR_FIRST <= year <= YEAR_LAST:
        raise ValidationError({"year": [year_problem()]})
    return _table(region, year)


@staff_router.put(
    "/credit-conversion/{region_code}/{year}/{kind}",
    response={200: RuleOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Change one line of my province's or city's table from a year on (audited)",
)
def staff_conversion_save(
    request: HttpRequest, region_code: str, year: int, kind: str, payload: RuleIn
) -> dict:
    user = require(request, Capability.CONVERSION_EDIT)
    region = get_object_or_404(Region, code=region_code)
    if region not in conversion_regions(user):
        raise Http404
    conversion_rule_save(
        actor=Actor.from_request(request),
        region=region,
        year=year,
        kind=kind,
        values=payload.dict(),
    )
    return _rule(conversion_table(region, year).get(kind))  # type: ignore[arg-type]
