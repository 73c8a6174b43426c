"""The course manager's exam calls: a course's question bank (list, create, update, retire,
delete), XLSX import (upload, check result, confirm) and export, and the statistics of its
exam. (The exam settings are at /courses/{code}/exam-settings.)

The same services as the staff pages (cpe.exams.bank, imports, statistics). A course
outside the manager's region answers 404, as on the pages.
"""

import io
from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest
from django.utils import timezone
from ninja import Field, File, Query, Router, Schema, Status, UploadedFile

from cpe.api.auth import require, session_auth
from cpe.api.errors import error_body
from cpe.catalog.models import Course
from cpe.catalog.selectors import course_for_staff
from cpe.core.capabilities import Capability
from cpe.core.services import Actor
from cpe.exams.bank import (
    question_add,
    question_delete,
    question_on_papers,
    question_set_active,
    question_update,
)
from cpe.exams.imports import (
    CheckResult,
    question_bank_export,
    question_import_abandon,
    question_import_apply,
    question_import_check,
    question_import_start,
)
from cpe.exams.models import AttemptQuestion, Question, QuestionImport
from cpe.exams.services import (
    OPTION_TEXT_MAX,
    OPTIONS_MAX,
    ExamRefused,
    OptionIn,
    exam_rules,
)
from cpe.exams.statistics import course_figures, question_figures

router = Router(tags=["exam management"], auth=session_auth)

Kind = Literal["single", "multiple", "true_false"]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


REFUSALS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class OptionSchema(Schema):
    text: str = Field(max_length=OPTION_TEXT_MAX)
    correct: bool = False


class QuestionIn(Schema):
    kind: Kind
    text: str = Field(max_length=5000)
    options: list[OptionSchema] = Field(max_length=OPTIONS_MAX)
    explanation: str = Field("", max_length=5000)


class QuestionOut(Schema):
    id: int
    kind: Kind
    text: str
    options: list[OptionSchema]
    explanation: str
    active: bool
    on_papers: bool = Field(description="Drawn into a paper once: kind and options are fixed")
    updated_at: datetime


class QuestionPage(Schema):
    count: int
    page: int
    pages: int
    items: list[QuestionOut]


class QuestionFilters(Schema):
    kind: Kind | None = None
    active: bool | None = Field(None, description="true: in use; false: retired")
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=200)


class RowErrorOut(Schema):
    row: int
    errors: dict[str, list[str]] = Field(description="By column: kind, text, option_A…, answer")


class ImportOut(Schema):
    id: UUID
    file_name: str
    state: Literal["checked", "applied", "abandoned"]
    total_rows: int
    new: int
    updated: int
    unchanged: int
    errors: int
    error_rows: list[RowErrorOut]
    created_at: datetime
    applied_at: datetime | None


class ConfirmIn(Schema):
    valid_rows_only: bool = Field(
        False, description="Import the valid rows and leave out those with errors"
    )


class QuestionFiguresOut(Schema):
    question_id: int
    kind: Kind
    text: str
    active: bool
    answered: int
    correct: int
    difficulty: float | None = Field(description="Share of the answers that were right")
    discrimination: float | None = Field(
        description="Point-biserial correlation of right/wrong with the rest of the score"
    )
    flag: Literal["", "negative", "low", "leaked"]


class BandOut(Schema):
    low: int
    high: int
    count: int


class StatisticsOut(Schema):
    year: int | None
    graded: int
    open: int
    learners: int
    passed: int
    pass_rate: int | None = Field(description="Percent of graded attempts that passed")
    first_pass_rate: int | None
    average_score: Decimal | None
    score_bands: list[BandOut]
    questions: list[QuestionFiguresOut]


def _refused(refused: ExamRefused) -> Status:
    return Status(refused.status, error_body(refused.code, refused.message, refused.fields))


def _course(request: HttpRequest, course_id: int) -> Course:
    user = require(request, Capability.COURSES_MANAGE)
    return course_for_staff(user=user, course_id=course_id)


def _question(course: Course, question_id: int) -> Question:
    question = (
        Question.objects.prefetch_related("options").filter(course=course, pk=question_id).first()
    )
    if question is None:
        raise Http404
    question.course = course
    return question


def _question_out(question: Question, on_papers: bool | None = None) -> dict:
    return {
        "id": question.pk,
        "kind": question.kind,
        "text": question.text,
        "options": [
            {"text": option.text, "correct": option.is_correct} for option in question.options.all()
        ],
        "explanation": question.explanation,
        "active": question.is_active,
        "on_papers": question_on_papers(question) if on_papers is None else on_papers,
        "updated_at": question.updated_at,
    }


def _options(payload: QuestionIn) -> list[OptionIn]:
    return [OptionIn(option.text, option.correct) for option in payload.options]


@router.get("/{course_id}/questions", response=QuestionPage, summary="A course's questions")
def question_list(request: HttpRequest, course_id: int, filters: Query[QuestionFilters]) -> dict:
    course = _course(request, course_id)
    questions = Question.objects.filter(course=course).prefetch_related("options")
    if filters.kind:
        questions = questions.filter(kind=filters.kind)
    if filters.active is not None:
        questions = questions.filter(is_active=filters.active)
    paginator = Paginator(questions.order_by("position", "id"), filters.page_size)
    page = paginator.get_page(filters.page)
    listed = list(page.object_list)
    used = set(
        AttemptQuestion.objects.filter(question__in=listed)
        .values_list("question_id", flat=True)
        .distinct()
    )
    return {
        "count": paginator.count,
        "page": page.number,
        "pages": paginator.num_pages,
        "items": [_question_out(question, question.pk in used) for question in listed],
    }


@router.post(
    "/{course_id}/questions",
    response={201: QuestionOut, **REFUSALS},
    summary="Add a question to a course's bank",
)
def question_post(request: HttpRequest, course_id: int, payload: QuestionIn) -> Status:
    course = _course(request, course_id)
    try:
        question = question_add(
            actor=Actor.from_request(request),
            course=course,
            kind=payload.kind,
            text=payload.text,
            options=_options(payload),
            explanation=payload.explanation,
        )
    except ExamRefused as refused:
        return _refused(refused)
    return Status(201, _question_out(question, False))


@router.get("/{course_id}/questions/{question_id}", response=QuestionOut)
def question_get(request: HttpRequest, course_id: int, question_id: int) -> dict:
    return _question_out(_question(_course(request, course_id), question_id))


@router.put(
    "/{course_id}/questions/{question_id}",
    response={200: QuestionOut, **REFUSALS},
    summary="Change a question (kind and options are fixed once it was on a paper)",
)
def question_put(
    request: HttpRequest, course_id: int, question_id: int, payload: QuestionIn
) -> Status:
    question = _question(_course(request, course_id), question_id)
    try:
        question = question_update(
            actor=Actor.from_request(request),
            question=question,
            kind=payload.kind,
            text=payload.text,
            options=_options(payload),
            explanation=payload.explanation,
        )
    except ExamRefused as refused:
        return _refused(refused)
    return Status(200, _question_out(_question(question.course, question.pk)))


@router.post(
    "/{course_id}/questions/{question_id}/retire",
    response=QuestionOut,
    summary="Retire a question: new papers no longer draw it",
)
def question_retire(request: HttpRequest, course_id: int, question_id: int) -> dict:
    question = _question(_course(request, course_id), question_id)
    question_set_active(actor=Actor.from_request(request), question=question, active=False)
    return _question_out(_question(question.course, question.pk))


@router.post(
    "/{course_id}/questions/{question_id}/reactivate",
    response=QuestionOut,
    summary="Use a retired question again",
)
def question_reactivate(request: HttpRequest, course_id: int, question_id: int) -> dict:
    question = _question(_course(request, course_id), question_id)
    question_set_active(actor=Actor.from_request(request), question=question, active=True)
    return _question_out(_question(question.course, question.pk))


@router.delete(
    "/{course_id}/questions/{question_id}",
    response={204: None, **REFUSALS},
    summary="Delete a question never drawn into a paper (others can only be retired)",
)
def question_remove(request: HttpRequest, course_id: int, question_id: int) -> Status:
    question = _question(_course(request, course_id), question_id)
    try:
        question_delete(actor=Actor.from_request(request), question=question)
    except ExamRefused as refused:
        return _refused(refused)
    return Status(204, None)


def _import_out(question_import: QuestionImport, result: CheckResult | None) -> dict:
    waiting = question_import.state == QuestionImport.State.CHECKED
    return {
        "id": question_import.pk,
        "file_name": question_import.file_name,
        "state": question_import.state,
        "total_rows": question_import.total_rows,
        "new": result.new if result and waiting else question_import.created_count,
        "updated": result.updated if result and waiting else question_import.updated_count,
        "unchanged": result.unchanged if result and waiting else question_import.unchanged_count,
        "errors": result.errors if result else question_import.error_rows,
        "error_rows": [{"row": row.number, "errors": row.errors} for row in result.error_rows]
        if result
        else [],
        "created_at": question_import.created_at,
        "applied_at": question_import.applied_at,
    }


@router.post(
    "/{course_id}/question-imports",
    response={201: ImportOut, **REFUSALS},
    summary="Upload an XLSX file of questions; every row is checked, nothing is imported yet",
)
def import_upload(request: HttpRequest, course_id: int, file: File[UploadedFile]) -> Status:
    course = _course(request, course_id)
    try:
        question_import = question_import_start(
            actor=Actor.from_request(request), course=course, upload=file
        )
    except ExamRefused as refused:
        return _refused(refused)
    return Status(201, _import_out(question_import, question_import_check(question_import)))


def _import(request: HttpRequest, course_id: int, import_id: UUID) -> QuestionImport:
    course = _course(request, course_id)
    question_import = QuestionImport.objects.filter(course=course, pk=import_id).first()
    if question_import is None:
        raise Http404
    question_import.course = course
    return question_import


@router.get(
    "/{course_id}/question-imports/{import_id}",
    response=ImportOut,
    summary="An upload's check (again, against the bank as it is now) or its result",
)
def import_get(request: HttpRequest, course_id: int, import_id: UUID) -> dict:
    question_import = _import(request, course_id, import_id)
    waiting = question_import.state == QuestionImport.State.CHECKED
    return _import_out(question_import, question_import_check(question_import) if waiting else None)


@router.post(
    "/{course_id}/question-imports/{import_id}/confirm",
    response={200: ImportOut, **REFUSALS},
    summary="Import the checked file: all of it, or nothing while a row has an error",
)
def import_confirm(
    request: HttpRequest, course_id: int, import_id: UUID, payload: ConfirmIn
) -> Status:
    question_import = _import(request, course_id, import_id)
    try:
        done = question_import_apply(
            actor=Actor.from_request(request),
            question_import=question_import,
            valid_rows_only=payload.valid_rows_only,
        )
    except ExamRefused as refused:
        return _refused(refused)
    return Status(200, _import_out(done, None))


@router.post(
    "/{course_id}/question-imports/{import_id}/abandon",
    response={200: ImportOut, **REFUSALS},
)
def import_abandon(request: HttpRequest, course_id: int, import_id: UUID) -> Status:
    question_import = _import(request, course_id, import_id)
    try:
        done = question_import_abandon(
            actor=Actor.from_request(request), question_import=question_import
        )
    except ExamRefused as refused:
        return _refused(refused)
    return Status(200, _import_out(done, None))


@router.get(
    "/{course_id}/questions.xlsx",
    summary="The questions in use as an XLSX file in the import template's format",
    openapi_extra={"responses": {"200": {"description": "XLSX", "content": {XLSX_TYPE: {}}}}},
)
def export(request: HttpRequest, course_id: int) -> FileResponse:
    course = _course(request, course_id)
    return FileResponse(
        io.BytesIO(question_bank_export(actor=Actor.from_request(request), course=course)),
        as_attachment=True,
        filename=f"试题-{course.code}.xlsx",
        content_type=XLSX_TYPE,
    )


@router.get("/{course_id}/exam-statistics", response=StatisticsOut)
def statistics(request: HttpRequest, course_id: int, year: int | None = None) -> dict:
    """Attempts, pass rate, average score and score bands; per question how often it is
    answered right (difficulty) and how well it tells strong candidates from weak ones
    (discrimination; negative suggests a wrong answer key)."""
    course = _course(request, course_id)
    pass_mark = exam_rules(course, year or timezone.localdate().year).pass_mark
    summary = course_figures(course, year=year, pass_mark=pass_mark)
    return {
        "year": year,
        "graded": summary.graded,
        "open": summary.open,
        "learners": summary.learners,
        "passed": summary.passed,
        "pass_rate": summary.pass_rate,
        "first_pass_rate": summary.first_pass_rate,
        "average_score": summary.average_score,
        "score_bands": [
            {"low": band.low, "high": band.high, "count": band.count} for band in summary.bands
        ],
        "questions": [
            {
                "question_id": item.question.pk,
                "kind": item.question.kind,
                "text": item.question.text,
                "active": item.question.is_active,
                "answered": item.answered,
                "correct": item.correct,
                "difficulty": item.difficulty,
                "discrimination": item.discrimination,
                "flag": item.flag,
            }
            for item in question_figures(course, year=year)
        ],
    }
