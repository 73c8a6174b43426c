"""Forms of the catalog: the course manager's course and lesson forms, the catalog filters."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpe.catalog.models import Course, Lesson
from cpe.catalog.services import FIRST_YEAR, CourseDetails
from cpe.regions.models import Region
from cpe.registry.models import QualificationLevel


def year_choices() -> list[tuple[int, int]]:
    return [(year, year) for year in range(timezone.localdate().year + 1, FIRST_YEAR - 1, -1)]


class CourseForm(forms.Form):
    region = forms.ModelChoiceField(
        label=_("Catalog of"),
        queryset=Region.objects.none(),
        help_text=_(
            "The province or city whose learners take the course; its rules give the credits."
        ),
    )
    code = forms.CharField(label=_("Course code"), max_length=32, help_text=_("e.g. HB-ZY-01"))
    title = forms.CharField(label=_("Title"), max_length=200)
    category = forms.ChoiceField(label=_("Category"), choices=Course.Category.choices)
    class_hours = forms.DecimalField(
        label=_("Class hours"), min_value=Decimal("0.5"), max_value=100, decimal_places=1
    )
    instructor = forms.CharField(label=_("Instructor"), max_length=100, required=False)
    summary = forms.CharField(
        label=_("Summary"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    target_levels = forms.MultipleChoiceField(
        label=_("Qualification levels"),
        choices=QualificationLevel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: for every level."),
    )
    years = forms.TypedMultipleChoiceField(
        label=_("Years offered"),
        choices=year_choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "inline-choices"}),
    )
    cover = forms.FileField(
        label=_("Cover image"),
        required=False,
        help_text=_("JPEG, PNG or WebP, up to 2 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    remove_cover = forms.BooleanField(label=_("Remove the cover image"), required=False)

    def __init__(self, *args: Any, regions: Any, course: Course | None = None, **kwargs: Any):
        if course is not None:
            kwargs.setdefault(
                "initial",
                {
                    "region": course.region_id,
                    "code": course.code,
                    "title": course.title,
                    "category": course.category,
                    "class_hours": course.class_hours,
                    "instructor": course.instructor,
                    "summary": course.summary,
                    "target_levels": course.target_level_list,
                    "years": [y.year for y in course.years.all()],
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions
        if course is not None:
            del self.fields["region"]  # a course stays in the catalog it was made for
        if course is None or not course.cover:
            del self.fields["remove_cover"]

    def details(self) -> CourseDetails:
        data = self.cleaned_data
        return CourseDetails(
            code=data["code"],
            title=data["title"],
            category=data["category"],
            class_hours=data["class_hours"],
            instructor=data["instructor"],
            summary=data["summary"],
            target_levels=tuple(data["target_levels"]),
            years=tuple(data["years"]),
        )


class LessonForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=Lesson.Kind.choices, widget=forms.RadioSelect, initial="video"
    )
    video = forms.FileField(
        label=_("Video file (MP4)"),
        required=False,
        help_text=_("H.264 video in MP4. Its length is read from the file."),
        widget=forms.ClearableFileInput(attrs={"accept": "video/mp4"}),
    )
    reading_file = forms.FileField(
        label=_("Reading file (PDF)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )
    remove_reading_file = forms.BooleanField(label=_("Remove the PDF file"), required=False)
    reading_text = forms.CharField(
        label=_("Reading text (Markdown)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
    )
    minimum_minutes = forms.IntegerField(
        label=_("Minimum study time (minutes)"),
        required=False,
        min_value=1,
        max_value=600,
        help_text=_("For reading: the time a learner must spend with the page open."),
    )

    def __init__(self, *args: Any, lesson: Lesson | None = None, **kwargs: Any) -> None:
        if lesson is not None:
            kwargs.setdefault(
                "initial",
                {
                    "title": lesson.title,
                    "kind": lesson.kind,
                    "reading_text": lesson.reading_text,
                    "minimum_minutes": lesson.duration_seconds // 60
                    if not lesson.is_video
                    else None,
                },
            )
        super().__init__(*args, **kwargs)
        if lesson is not None:
            # A lesson keeps its kind; only what fits that kind is offered.
            del self.fields["kind"]
            for name in (
                ("reading_file", "remove_reading_file", "reading_text", "minimum_minutes")
                if lesson.is_video
                else ("video",)
            ):
                del self.fields[name]
            if (
                not lesson.is_video
                and not lesson.reading_file
                and "remove_reading_file" in self.fields
            ):
                del self.fields["remove_reading_file"]
        else:
            del self.fields["remove_reading_file"]


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)


class CatalogFilterForm(forms.Form):
    """The catalog's search box and filters (also used by the learner's course selection)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    category = forms.ChoiceField(
        label=_("Category"),
        required=False,
        choices=[("", _("Any category")), *Course.Category.choices],
    )
    year = forms.TypedChoiceField(
        label=_("Year"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=lambda: [("", _("Any year")), *year_choices()],
    )
    level = forms.ChoiceField(
        label=_("Qualification level"),
        required=False,
        choices=[("", _("Any level")), *QualificationLevel.choices],
    )

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for course_search; an invalid filter is simply dropped."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "query": data.get("q") or "",
            "category": data.get("category") or "",
            "year": data.get("year"),
            "level": data.get("level") or "",
        }
