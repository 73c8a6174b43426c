"""Learner imports for district officers: upload a file, read the check, confirm or abandon.

The check and the import run as background jobs; follow them at /api/v1/jobs/{job_id}.
"""

from datetime import datetime
from uuid import UUID

from django.http import HttpRequest
from ninja import File, Router, Schema, Status, UploadedFile

from cpe.api.auth import require, session_auth
from cpe.core.capabilities import Capability
from cpe.core.services import Actor
from cpe.registry.imports import (
    in_current_language,
    learner_import_abandon,
    learner_import_confirm,
    learner_import_start,
    row_error_lines,
)
from cpe.registry.models import LearnerImport
from cpe.registry.selectors import import_for_officer, imports_of_district, officer_district

router = Router(tags=["learner imports"], auth=session_auth)


class RowErrorOut(Schema):
    row: int
    id_number_masked: str
    name: str
    errors: dict[str, list[str]]


class ImportOut(Schema):
    id: UUID
    file_name: str
    state: str
    state_label: str
    message: str
    total_rows: int
    new: int
    updated: int
    unchanged: int
    errors: int
    job_id: UUID | None
    created_at: datetime
    applied_at: datetime | None


class ImportDetailOut(ImportOut):
    error_rows: list[RowErrorOut]


def _out(learner_import: LearnerImport) -> dict:
    return {
        "id": learner_import.pk,
        "file_name": learner_import.file_name,
        "state": learner_import.state,
        "state_label": learner_import.get_state_display(),
        "message": in_current_language(learner_import.message) if learner_import.message else "",
        "total_rows": learner_import.total_rows,
        "new": learner_import.new_count,
        "updated": learner_import.updated_count,
        "unchanged": learner_import.unchanged_count,
        "errors": learner_import.error_count,
        "job_id": learner_import.job_id,
        "created_at": learner_import.created_at,
        "applied_at": learner_import.applied_at,
    }


def _officer_import(request: HttpRequest, import_id: UUID) -> LearnerImport:
    user = require(request, Capability.LEARNERS_MANAGE)
    return import_for_officer(user=user, import_id=import_id)


@router.post("", response={202: ImportOut})
def import_upload(request: HttpRequest, file: File[UploadedFile]) -> Status:
    """Upload an XLSX or CSV file of learners (the template's columns). Every row is checked
    by a background job before anything is written; confirm afterwards to import."""
    user = require(request, Capability.LEARNERS_MANAGE)
    learner_import = learner_import_start(
        actor=Actor.from_request(request), district=officer_district(user=user), upload=file
    )
    learner_import.refresh_from_db()
    return Status(202, _out(learner_import))


@router.get("", response=list[ImportOut])
def import_list(request: HttpRequest) -> list[dict]:
    """The district's latest imports, newest first."""
    user = require(request, Capability.LEARNERS_MANAGE)
    return [_out(item) for item in imports_of_district(user=user)[:50]]


@router.get("/{import_id}", response=ImportDetailOut)
def import_detail(request: HttpRequest, import_id: UUID, offset: int = 0, limit: int = 100) -> dict:
    """The check's result: counts, and the rows with errors (masked), by column."""
    learner_import = _officer_import(request, import_id)
    offset, limit = max(offset, 0), min(max(limit, 1), 500)
    rows = learner_import.row_errors.order_by("row_number")[offset : offset + limit]
    return {
        **_out(learner_import),
        "error_rows": [
            {
                "row": row.row_number,
                "id_number_masked": row.id_number_masked,
                "name": row.name,
                "errors": dict(row_error_lines(row.messages)),
            }
            for row in rows
        ],
    }


@router.post("/{import_id}/confirm", response={202: ImportOut})
def import_confirm(request: HttpRequest, import_id: UUID) -> Status:
    """Import what the check found: all of it or, if records changed meanwhile, nothing."""
    learner_import = _officer_import(request, import_id)
    learner_import_confirm(actor=Actor.from_request(request), learner_import=learner_import)
    learner_import.refresh_from_db()
    return Status(202, _out(learner_import))


@router.post("/{import_id}/abandon", response=ImportOut)
def import_abandon(request: HttpRequest, import_id: UUID) -> dict:
    """Drop an import that was not confirmed; its uploaded file is deleted."""
    learner_import = _officer_import(request, import_id)
    learner_import_abandon(actor=Actor.from_request(request), learner_import=learner_import)
    learner_import.refresh_from_db()
    return _out(learner_import)
