"""A course's exam settings for course managers: whether it ends with an exam, and its own
rules over the region's (the same service as the staff page, cpe.exams.services)."""

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from cpe.api.auth import require, session_auth
from cpe.api.errors import error_body
from cpe.catalog.models import Course
from cpe.core.capabilities import Capability
from cpe.core.permissions import in_scope
from cpe.core.services import Actor
from cpe.exams.models import ExamSettings
from cpe.exams.selectors import bank_counts
from cpe.exams.services import RULE_FIELDS, exam_rules, exam_settings_update, region_exam_rules

router = Router(tags=["exam settings"], auth=session_auth)


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


class RuleValues(Schema):
    single_count: int | None = Field(None, ge=0, le=500)
    multiple_count: int | None = Field(None, ge=0, le=500)
    true_false_count: int | None = Field(None, ge=0, le=500)
    shuffle_options: bool | None = None
    pass_mark: int | None = Field(None, ge=1, le=100)
    time_limit_minutes: int | None = Field(None, ge=1, le=500)
    attempts_per_year: int | None = Field(None, ge=1, le=500)
    reset_on_exhaustion: bool | None = None
    show_review: bool | None = None


class ExamSettingsIn(Schema):
    exam_required: bool
    own: RuleValues = Field(description="The course's own rules; null takes the region's")


class ExamSettingsOut(Schema):
    course: str
    exam_required: bool
    own: RuleValues = Field(description="The course's own rules (null: the region's)")
    region: RuleValues = Field(description="The region's rules for this year")
    effective: RuleValues = Field(description="What applies to an attempt started now")
    bank: dict[str, int] = Field(description="Active questions in the bank, by kind")


def _course(request: HttpRequest, code: str) -> Course:
    user = require(request, Capability.COURSES_MANAGE)
    course = Course.objects.select_related("region").filter(code=code).first()
    if course is None or not in_scope(user, course.region.path):
        raise Course.DoesNotExist
    return course


def _out(course: Course) -> dict[str, object]:
    year = timezone.localdate().year
    own = ExamSettings.objects.filter(course=course).first()
    return {
        "course": course.code,
        "exam_required": course.exam_required,
        "own": {name: getattr(own, name, None) for name in RULE_FIELDS},
        "region": vars(region_exam_rules(course, year)),
        "effective": vars(exam_rules(course, year)),
        "bank": bank_counts(course),
    }


@router.get("/{code}/exam-settings", response={200: ExamSettingsOut, 404: ErrorOut})
def exam_settings_get(request: HttpRequest, code: str) -> object:
    """A course's exam settings: its own, the region's, and what applies now."""
    try:
        return _out(_course(request, code))
    except Course.DoesNotExist:
        return Status(404, error_body("not_found", _("There is no such course.")))


@router.put("/{code}/exam-settings", response={200: ExamSettingsOut, 404: ErrorOut, 422: ErrorOut})
def exam_settings_put(request: HttpRequest, code: str, payload: ExamSettingsIn) -> object:
    """Set whether the course ends with an exam and its own rules (null: the region's).
    They apply to attempts started from now on."""
    try:
        course = _course(request, code)
        exam_settings_update(
            actor=Actor.from_request(request),
            course=course,
            exam_required=payload.exam_required,
            values=payload.own.dict(),
        )
    except Course.DoesNotExist:
        return Status(404, error_body("not_found", _("There is no such course.")))
    except ValidationError as error:
        fields = {k: [str(m) for m in v] for k, v in error.message_dict.items()}
        return Status(422, error_body("validation_error", _("Some fields are not valid."), fields))
    return _out(course)
