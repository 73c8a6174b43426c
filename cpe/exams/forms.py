"""Forms of the course manager's exam pages: a question with its options, the exam settings,
and the question file upload. The rules live in the services; the forms only gather input."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cpe.exams.models import Question
from cpe.exams.services import OPTION_TEXT_MAX, OPTIONS_MAX, RULE_FIELDS, OptionIn

LETTERS = [chr(ord("A") + index) for index in range(OPTIONS_MAX)]


class QuestionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Question.Kind.choices)
    text = forms.CharField(label=_("Question"), widget=forms.Textarea(attrs={"rows": 3}))
    explanation = forms.CharField(
        label=_("Explanation"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown with the correct answer after the exam, when the course allows it."),
    )

    def __init__(self, *args: Any, question: Question | None = None, **kwargs: Any) -> None:
        if question is not None:
            initial = {
                "kind": question.kind,
                "text": question.text,
                "explanation": question.explanation,
            }
            for index, option in enumerate(question.options.all()):
                initial[f"option_{index}"] = option.text
                initial[f"correct_{index}"] = option.is_correct
            kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        for index, letter in enumerate(LETTERS):
            self.fields[f"option_{index}"] = forms.CharField(
                label=_("Option %(letter)s") % {"letter": letter},
                max_length=OPTION_TEXT_MAX,
                required=False,
            )
            self.fields[f"correct_{index}"] = forms.BooleanField(
                label=_("Option %(letter)s is correct") % {"letter": letter}, required=False
            )

    def option_rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        """(letter, option field, correct box) for the template."""
        return [
            (letter, self[f"option_{index}"], self[f"correct_{index}"])
            for index, letter in enumerate(LETTERS)
        ]

    def options(self) -> list[OptionIn]:
        """The rows written, in order; a blank row not ticked is no option (a blank row ticked
        is, so that the rule can say it is empty)."""
        data = self.cleaned_data
        rows = [
            OptionIn(data.get(f"option_{index}", "").strip(), bool(data.get(f"correct_{index}")))
            for index in range(len(LETTERS))
        ]
        return [row for row in rows if row.text or row.is_correct]

    def apply_problems(self, problems: dict[str, list[str]]) -> None:
        """Field errors from question_problems next to their fields (options: above them)."""
        for name, messages in problems.items():
            for message in messages:
                self.add_error(name if name in ("kind", "text") else None, message)


def _own_or_region(label: Any, region_value: Any) -> Any:
    return _("Empty: the region's rule (%(value)s).") % {"value": region_value}


YES_NO = [("", _("The region's rule")), ("true", _("Yes")), ("false", _("No"))]


def _yes_no(value: str) -> bool | None:
    return {"true": True, "false": False}.get(value)


class ExamSettingsForm(forms.Form):
    """The course's own exam rules; each empty field takes the region's rule for the year."""

    exam_required = forms.BooleanField(label=_("The course ends with an exam"), required=False)
    single_count = forms.IntegerField(
        label=_("Single-choice questions drawn"), min_value=0, max_value=200, required=False
    )
    multiple_count = forms.IntegerField(
        label=_("Multiple-choice questions drawn"), min_value=0, max_value=200, required=False
    )
    true_false_count = forms.IntegerField(
        label=_("True/false questions drawn"), min_value=0, max_value=200, required=False
    )
    shuffle_options = forms.TypedChoiceField(
        label=_("Shuffle the options"),
        choices=YES_NO,
        coerce=_yes_no,
        required=False,
        empty_value=None,
    )
    pass_mark = forms.IntegerField(
        label=_("Pass mark (of 100)"), min_value=1, max_value=100, required=False
    )
    time_limit_minutes = forms.IntegerField(
        label=_("Time limit (minutes)"), min_value=1, max_value=600, required=False
    )
    attempts_per_year = forms.IntegerField(
        label=_("Attempts per year"), min_value=1, max_value=100, required=False
    )
    reset_on_exhaustion = forms.TypedChoiceField(
        label=_("Study the lessons again when the attempts are used up"),
        choices=YES_NO,
        coerce=_yes_no,
        required=False,
        empty_value=None,
    )
    show_review = forms.TypedChoiceField(
        label=_("Show the answers and explanations after the exam"),
        choices=YES_NO,
        coerce=_yes_no,
        required=False,
        empty_value=None,
    )

    def __init__(
        self, *args: Any, own: dict[str, Any], exam_required: bool, region_rules: Any, **kwargs: Any
    ) -> None:
        initial = {"exam_required": exam_required}
        for name, value in own.items():
            if isinstance(value, bool):
                initial[name] = "true" if value else "false"
            else:
                initial[name] = value
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        for name in RULE_FIELDS:
            region_value = getattr(region_rules, f"exam_{name}")
            if isinstance(region_value, bool):
                region_value = _("Yes") if region_value else _("No")
            self.fields[name].help_text = _own_or_region(self.fields[name].label, region_value)

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in RULE_FIELDS}

    def apply_problems(self, problems: dict[str, list[str]]) -> None:
        for name, messages in problems.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)


class QuestionFileForm(forms.Form):
    file = forms.FileField(
        label=_("Question file (XLSX)"),
        help_text=_("The template's columns; up to 2,000 questions and 2 MB."),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )
