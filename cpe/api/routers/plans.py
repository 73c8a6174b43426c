"""The learner's year plans: which years can be opened, opening one, choosing courses and
the progress toward the year's rules. The same services and reads as the study pages."""

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from cpe.api.auth import require, session_auth
from cpe.api.errors import error_body
from cpe.catalog.models import Course
from cpe.core.capabilities import Capability
from cpe.core.services import Actor
from cpe.learning.models import PlanCourse, YearPlan
from cpe.learning.selectors import (
    PlanProgress,
    RuleProgress,
    YearState,
    learner_for_user,
    learner_years,
    plan_progress,
)
from cpe.learning.services import (
    StudyRefused,
    plan_course_add,
    plan_course_remove,
    year_plan_open,
)
from cpe.learning.years import Blocker, blocker_message
from cpe.registry.models import Learner

router = Router(tags=["year plans"], auth=session_auth)


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


class RefusedOut(ErrorOut):
    year: int | None = Field(
        None, description="The year the rule points to: to finish first, or holding the course"
    )


class BlockerOut(Schema):
    rule: str = Field(
        description="future_year, not_required, before_makeup_start, already_complete, "
        "earlier_year_unfinished or payment_pending"
    )
    message: str
    year: int | None = Field(None, description="For earlier_year_unfinished: finish this first")


class YearOut(Schema):
    year: int
    state: str = Field(description="complete, open, payment_pending, blocked or not_opened")
    may_open: bool
    blocker: BlockerOut | None


class YearsOut(Schema):
    current_year: int
    years: list[YearOut]


class RuleOut(Schema):
    required: int
    earned: Decimal = Field(description="Credits of the completed courses")
    chosen: Decimal = Field(description="Credits of every chosen course, completed or not")
    met: bool
    reachable: bool = Field(description="Whether the chosen courses can meet the rule")


class PlanCourseOut(Schema):
    code: str
    title: str
    category: str
    class_hours: Decimal
    credits: Decimal
    added_at: datetime
    exam_required: bool = Field(description="Whether the course ends with an exam")
    lessons_completed_at: datetime | None = Field(description="When every lesson was complete")
    completed_at: datetime | None = Field(
        description="When the course was complete (lessons, and the exam passed if it has one)"
    )


class PlanOut(Schema):
    year: int
    payment: str = Field(description="free, pending or paid")
    opened_at: datetime
    completed_at: datetime | None
    study_blocker: BlockerOut | None = Field(
        description="Why time studied now would not be credited to this plan (null: it would)"
    )
    total_credits: RuleOut
    professional_credits: RuleOut
    courses: list[PlanCourseOut]


class OpenIn(Schema):
    year: int = Field(ge=1990, le=2100)


class CourseIn(Schema):
    course_code: str = Field(min_length=1, max_length=32)


def _learner(request: HttpRequest) -> Learner:
    learner = learner_for_user(require(request, Capability.STUDY))
    if learner is None:
        raise PermissionDenied
    return learner


def _plan(learner: Learner, year: int) -> YearPlan:
    plan = YearPlan.objects.select_related("learner__district").filter(learner=learner, year=year)
    found = plan.first()
    if found is None:
        raise Http404
    return found


def _blocker(blocker: Blocker | None) -> dict | None:
    if blocker is None:
        return None
    return {"rule": blocker.rule, "message": blocker_message(blocker), "year": blocker.year}


def _year(state: YearState) -> dict:
    return {
        "year": state.year,
        "state": state.state,
        "may_open": state.may_open,
        "blocker": _blocker(state.blocker),
    }


def _rule(rule: RuleProgress) -> dict:
    return {
        "required": rule.required,
        "earned": rule.earned,
        "chosen": rule.chosen,
        "met": rule.met,
        "reachable": rule.reachable,
    }


def _course(chosen: PlanCourse) -> dict:
    return {
        "code": chosen.course.code,
        "title": chosen.course.title,
        "category": chosen.category,
        "class_hours": chosen.course.class_hours,
        "credits": chosen.credits,
        "added_at": chosen.added_at,
        "exam_required": chosen.course.exam_required,
        "lessons_completed_at": chosen.lessons_completed_at,
        "completed_at": chosen.completed_at,
    }


def _plan_out(progress: PlanProgress) -> dict:
    plan = progress.plan
    return {
        "year": plan.year,
        "payment": plan.payment,
        "opened_at": plan.opened_at,
        "completed_at": plan.completed_at,
        "study_blocker": _blocker(progress.blocker),
        "total_credits": _rule(progress.total),
        "professional_credits": _rule(progress.professional),
        "courses": [_course(c) for c in progress.courses],
    }


def _refused(refused: StudyRefused) -> Status:
    return Status(400, {**error_body(refused.code, refused.message), "year": refused.year})


REFUSALS = {400: RefusedOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


@router.get("", response=YearsOut)
def years(request: HttpRequest) -> dict:
    """Every year the learner must do (or has a plan for), oldest first: its state, whether
    it may be opened now, and otherwise the rule that forbids it."""
    learner = _learner(request)
    return {
        "current_year": timezone.localdate().year,
        "years": [_year(state) for state in learner_years(learner)],
    }


@router.post("", response={200: PlanOut, 201: PlanOut, **REFUSALS})
def open_year(request: HttpRequest, payload: OpenIn) -> object:
    """Open a year (201), or get the plan already open (200). A year the rules forbid is
    refused with 400 naming the rule (`code`) and, for sequencing, the year to finish first.
    Where the region charges a fee the plan waits with payment `pending`."""
    learner = _learner(request)
    existed = YearPlan.objects.filter(learner=learner, year=payload.year).exists()
    try:
        plan = year_plan_open(actor=Actor.from_request(request), learner=learner, year=payload.year)
    except StudyRefused as refused:
        return _refused(refused)
    return Status(200 if existed else 201, _plan_out(plan_progress(plan)))


@router.get("/{year}", response={200: PlanOut, **REFUSALS})
def plan_detail(request: HttpRequest, year: int) -> dict:
    """A plan with its courses and the progress toward the year's rules (404: not opened)."""
    return _plan_out(plan_progress(_plan(_learner(request), year)))


@router.post("/{year}/courses", response={201: PlanCourseOut, **REFUSALS})
def course_add(request: HttpRequest, year: int, payload: CourseIn) -> object:
    """Choose a course into the plan. Refusals (400) name the rule: course_not_published,
    course_other_region, course_not_offered, course_other_level, course_already_chosen,
    course_in_other_year (with the `year` holding it), payment_pending and the year rules."""
    learner = _learner(request)
    plan = _plan(learner, year)
    course = Course.objects.select_related("region").filter(code=payload.course_code).first()
    if course is None:
        return Status(404, error_body("course_not_found", _("There is no such course.")))
    try:
        chosen = plan_course_add(actor=Actor.from_request(request), plan=plan, course=course)
    except StudyRefused as refused:
        return _refused(refused)
    return Status(201, _course(chosen))


@router.delete("/{year}/courses/{code}", response={204: None, **REFUSALS})
def course_remove(request: HttpRequest, year: int, code: str) -> object:
    """Take a course out of the plan; refused (400 course_studied) once study time counts."""
    plan = _plan(_learner(request), year)
    chosen = PlanCourse.objects.select_related("course").filter(plan=plan, course__code=code)
    found = chosen.first()
    if found is None:
        raise Http404
    try:
        plan_course_remove(actor=Actor.from_request(request), plan_course=found)
    except StudyRefused as refused:
        return _refused(refused)
    return Status(204, None)
