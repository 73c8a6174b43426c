"""The course manager's exam pages: a course's question bank (edit, retire, import, export),
its exam settings, and the statistics of its exam. Courses out of the manager's region
answer 404, as the catalog's staff pages do."""

from __future__ import annotations

import io
from pathlib import PurePath
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpe.catalog.models import Course
from cpe.catalog.selectors import course_for_staff
from cpe.core.capabilities import Capability
from cpe.core.permissions import capability_required
from cpe.core.services import Actor
from cpe.exams.bank import (
    question_add,
    question_delete,
    question_on_papers,
    question_set_active,
    question_update,
)
from cpe.exams.forms import QuestionFileForm, QuestionForm
from cpe.exams.imports import (
    COLUMNS,
    MAX_UPLOAD_BYTES,
    error_rows_xlsx,
    question_bank_export,
    question_import_abandon,
    question_import_apply,
    question_import_check,
    question_import_start,
    template_xlsx,
    upload_too_large_message,
)
from cpe.exams.models import Question, QuestionImport
from cpe.exams.selectors import bank_counts
from cpe.exams.services import COUNT_FIELDS, ExamRefused, exam_rules
from cpe.exams.statistics import (
    LOW_DISCRIMINATION,
    MIN_ANSWERS,
    attempt_years,
    course_figures,
    question_figures,
)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

manager_page = capability_required(Capability.COURSES_MANAGE)


def _course(request: HttpRequest, course_id: int) -> Course:
    return course_for_staff(user=request.user, course_id=course_id)


def _question(course: Course, question_id: int) -> Question:
    question = (
        Question.objects.prefetch_related("options").filter(course=course, pk=question_id).first()
    )
    if question is None:
        raise Http404
    question.course = course
    return question


def staff_bank_panel(request: HttpRequest, course: Course) -> SafeString | str:
    """The question bank's block on a course's staff page (registered with cpe.catalog.panels)."""
    if not request.user.has_capability(Capability.COURSES_MANAGE):
        return ""
    return render_to_string(
        "exams/staff/includes/bank_panel.html", {"course": course}, request=request
    )


def _bank_context(course: Course) -> dict[str, Any]:
    """The bank's questions in use per kind beside what each paper draws."""
    rules = exam_rules(course, timezone.localdate().year)
    available = bank_counts(course)
    kinds = []
    for field_name, kind in COUNT_FIELDS.items():
        drawn = getattr(rules, field_name)
        kinds.append(
            {
                "kind": kind,
                "label": Question.Kind(kind).label,
                "active": available[kind],
                "drawn": drawn,
                "short": course.exam_required and drawn > available[kind],
            }
        )
    return {"course": course, "rules": rules, "kinds": kinds}


@manager_page
def bank(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _course(request, course_id)
    kind = request.GET.get("kind", "")
    active = request.GET.get("active", "")
    questions = Question.objects.filter(course=course).prefetch_related("options")
    if kind in Question.Kind.values:
        questions = questions.filter(kind=kind)
    if active in ("yes", "no"):
        questions = questions.filter(is_active=active == "yes")
    page = Paginator(questions.order_by("position", "id"), 50).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in (("kind", kind), ("active", active)) if v})
    return render(
        request,
        "exams/staff/bank.html",
        {
            **_bank_context(course),
            "page": page,
            "query": query,
            "kind": kind,
            "active": active,
            "kind_choices": Question.Kind.choices,
        },
    )


def _question_saved(request: HttpRequest, form: QuestionForm, action: Any) -> bool:
    try:
        action()
    except ExamRefused as refused:
        form.apply_problems(refused.fields or {"__all__": [refused.message]})
        return False
    return True


@manager_page
def question_new(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _course(request, course_id)
    form = QuestionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def create() -> None:
            question_add(
                actor=Actor.from_request(request),
                course=course,
                kind=data["kind"],
                text=data["text"],
                options=form.options(),
                explanation=data["explanation"],
            )

        if _question_saved(request, form, create):
            messages.success(request, _("The question is added to the bank."))
            if "another" in request.POST:
                return redirect("exam_staff:question_new", course_id=course.pk)
            return redirect("exam_staff:bank", course_id=course.pk)
    return render(
        request,
        "exams/staff/question_form.html",
        {"form": form, "course": course, "question": None, "locked": False},
    )


@manager_page
def question_edit(request: HttpRequest, course_id: int, question_id: int) -> HttpResponse:
    course = _course(request, course_id)
    question = _question(course, question_id)
    form = QuestionForm(request.POST or None, question=question)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def update() -> None:
            question_update(
                actor=Actor.from_request(request),
                question=question,
                kind=data["kind"],
                text=data["text"],
                options=form.options(),
                explanation=data["explanation"],
            )

        if _question_saved(request, form, update):
            messages.success(request, _("The question is saved."))
            return redirect("exam_staff:bank", course_id=course.pk)
    return render(
        request,
        "exams/staff/question_form.html",
        {
            "form": form,
            "course": course,
            "question": question,
            "locked": question_on_papers(question),
        },
    )


def _question_action(request: HttpRequest, course_id: int, question_id: int, action: Any) -> Any:
    course = _course(request, course_id)
    question = _question(course, question_id)
    try:
        action(question)
    except ExamRefused as refused:
        messages.error(request, refused.message)
    return redirect("exam_staff:bank", course_id=course.pk)


@require_POST
@manager_page
def question_retire(request: HttpRequest, course_id: int, question_id: int) -> HttpResponse:
    def retire(question: Question) -> None:
        question_set_active(actor=Actor.from_request(request), question=question, active=False)
        messages.success(request, _("The question is retired: new papers no longer draw it."))

    return _question_action(request, course_id, question_id, retire)


@require_POST
@manager_page
def question_reactivate(request: HttpRequest, course_id: int, question_id: int) -> HttpResponse:
    def reactivate(question: Question) -> None:
        question_set_active(actor=Actor.from_request(request), question=question, active=True)
        messages.success(request, _("The question is in use again."))

    return _question_action(request, course_id, question_id, reactivate)


@require_POST
@manager_page
def question_remove(request: HttpRequest, course_id: int, question_id: int) -> HttpResponse:
    def remove(question: Question) -> None:
        question_delete(actor=Actor.from_request(request), question=question)
        messages.success(request, _("The question is deleted."))

    return _question_action(request, course_id, question_id, remove)


# --- Files -----------------------------------------------------------------------------


def _xlsx(content: bytes, filename: str) -> FileResponse:
    return FileResponse(
        io.BytesIO(content), as_attachment=True, filename=filename, content_type=XLSX_TYPE
    )


@manager_page
def question_template(request: HttpRequest) -> HttpResponse:
    return _xlsx(template_xlsx(), "试题导入模板.xlsx")


@manager_page
def question_export(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _course(request, course_id)
    return _xlsx(
        question_bank_export(actor=Actor.from_request(request), course=course),
        f"试题-{course.code}.xlsx",
    )


@manager_page
def import_upload(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _course(request, course_id)
    form = QuestionFileForm()
    refusal = ""
    if request.method == "POST":
        # Refuse a huge body before Django spools it to disk as an upload.
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_UPLOAD_BYTES + 64 * 1024:
            refusal = upload_too_large_message()
        else:
            form = QuestionFileForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    question_import = question_import_start(
                        actor=Actor.from_request(request),
                        course=course,
                        upload=form.cleaned_data["file"],
                    )
                except ExamRefused as refused:
                    form.add_error("file", refused.message)
                else:
                    return redirect(
                        "exam_staff:import_detail",
                        course_id=course.pk,
                        import_id=question_import.pk,
                    )
    imports = QuestionImport.objects.filter(course=course).select_related("created_by")[:20]
    return render(
        request,
        "exams/staff/import.html",
        {
            "course": course,
            "form": form,
            "refusal": refusal,
            "imports": imports,
            "columns": COLUMNS,
        },
    )


def _import(request: HttpRequest, course_id: int, import_id: UUID) -> QuestionImport:
    course = _course(request, course_id)
    question_import = QuestionImport.objects.filter(course=course, pk=import_id).first()
    if question_import is None:
        raise Http404
    question_import.course = course
    return question_import


@manager_page
def import_detail(request: HttpRequest, course_id: int, import_id: UUID) -> HttpResponse:
    question_import = _import(request, course_id, import_id)
    waiting = question_import.state == QuestionImport.State.CHECKED
    result = question_import_check(question_import) if waiting else None
    return render(
        request,
        "exams/staff/import_detail.html",
        {
            "course": question_import.course,
            "question_import": question_import,
            "result": result,
            "waiting": waiting,
        },
    )


@require_POST
@manager_page
def import_confirm(request: HttpRequest, course_id: int, import_id: UUID) -> HttpResponse:
    question_import = _import(request, course_id, import_id)
    try:
        done = question_import_apply(
            actor=Actor.from_request(request),
            question_import=question_import,
            valid_rows_only=request.POST.get("valid_rows_only") == "1",
        )
    except ExamRefused as refused:
        messages.error(request, refused.message)
        return redirect(
            "exam_staff:import_detail", course_id=course_id, import_id=question_import.pk
        )
    messages.success(
        request,
        _("Imported: %(created)s new, %(updated)s updated, %(unchanged)s unchanged.")
        % {
            "created": done.created_count,
            "updated": done.updated_count,
            "unchanged": done.unchanged_count,
        },
    )
    return redirect("exam_staff:import_detail", course_id=course_id, import_id=done.pk)


@require_POST
@manager_page
def import_abandon(request: HttpRequest, course_id: int, import_id: UUID) -> HttpResponse:
    question_import = _import(request, course_id, import_id)
    try:
        question_import_abandon(actor=Actor.from_request(request), question_import=question_import)
    except ExamRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("The file is abandoned: nothing was imported from it."))
    return redirect("exam_staff:import_upload", course_id=course_id)


@manager_page
def import_errors(request: HttpRequest, course_id: int, import_id: UUID) -> HttpResponse:
    question_import = _import(request, course_id, import_id)
    result = question_import_check(question_import)
    if not result.errors:
        raise Http404
    stem = PurePath(question_import.file_name).stem
    return _xlsx(error_rows_xlsx(result), f"错误行-{stem}.xlsx")


# --- Statistics ------------------------------------------------------------------------


@manager_page
def statistics(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _course(request, course_id)
    years = attempt_years(course)
    year_text = request.GET.get("year", "")
    year = int(year_text) if year_text.isdigit() and int(year_text) in years else None
    pass_mark = exam_rules(course, year or timezone.localdate().year).pass_mark
    figures = question_figures(course, year=year)
    flagged = [item for item in figures if item.flag]
    return render(
        request,
        "exams/staff/statistics.html",
        {
            "course": course,
            "years": years,
            "year": year,
            "summary": course_figures(course, year=year, pass_mark=pass_mark),
            "pass_mark": pass_mark,
            "figures": figures,
            "flagged": flagged,
            "min_answers": MIN_ANSWERS,
            "low_discrimination": LOW_DISCRIMINATION,
        },
    )
