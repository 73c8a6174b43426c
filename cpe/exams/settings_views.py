"""Staff pages of exams: the course manager's exam settings of a course and the exam panel
on the course's staff page, and a learner's attempts on the staff page of their study.
(The question bank's own pages are beside these.)"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from cpe.catalog.models import Course
from cpe.catalog.selectors import course_for_staff
from cpe.core.capabilities import Capability
from cpe.core.forms import apply_validation_error
from cpe.core.permissions import capability_required
from cpe.core.services import Actor
from cpe.exams.forms import ExamSettingsForm
from cpe.exams.models import ExamSettings
from cpe.exams.selectors import attempt_history, bank_counts
from cpe.exams.services import exam_rules, exam_settings_update, region_exam_rules
from cpe.registry.models import Learner


def staff_exam_panel(request: HttpRequest, course: Course) -> SafeString | str:
    """The exam block of a course's staff page (registered with cpe.catalog.panels)."""
    if not request.user.has_capability(Capability.COURSES_MANAGE):
        return ""
    return render_to_string(
        "exams/includes/staff_exam_panel.html",
        {
            "course": course,
            "rules": exam_rules(course, timezone.localdate().year),
            "counts": bank_counts(course),
        },
        request=request,
    )


@capability_required(Capability.COURSES_MANAGE)
def exam_settings_edit(request: HttpRequest, course_id: int) -> HttpResponse:
    course = course_for_staff(user=request.user, course_id=course_id)
    own = ExamSettings.objects.filter(course=course).first()
    form = ExamSettingsForm(
        request.POST if request.method == "POST" else None,
        settings=own,
        defaults=region_exam_rules(course, timezone.localdate().year),
        initial={"exam_required": course.exam_required},
    )
    if request.method == "POST" and form.is_valid():
        try:
            exam_settings_update(
                actor=Actor.from_request(request),
                course=course,
                exam_required=form.cleaned_data["exam_required"],
                values=form.values(),
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _("The exam settings are saved."))
            return redirect("catalog:staff_course_detail", course_id=course.pk)
    return render(request, "exams/staff_exam_settings.html", {"form": form, "course": course})


def staff_attempts_panel(request: HttpRequest, learner: Learner) -> SafeString | str:
    """The learner's exam attempts on the staff page of their study (registered with
    cpe.learning.panels), to answer "my exam was not counted"."""
    attempts = list(
        attempt_history(learner).annotate(
            answered=Count("paper", filter=Q(paper__saved_at__isnull=False)),
            questions=Count("paper"),
        )[:50]
    )
    return render_to_string(
        "exams/includes/staff_attempts_panel.html", {"attempts": attempts}, request=request
    )
