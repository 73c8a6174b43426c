"""Forms of the exam pages: a course's exam settings (each empty field takes the region's), a
question with its options, and the question file upload. The rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cpe.exams.models import ExamSettings, Question
from cpe.exams.services import OPTION_TEXT_MAX, OPTIONS_MAX, RULE_FIELDS, ExamRules, OptionIn

BOOLEAN_RULES = {"shuffle_options", "reset_on_exhaustion", "show_review"}


def _yes_no(value: bool) -> str:
    return str(_("Yes") if value else _("No"))


class ExamSettingsForm(forms.Form):
    exam_required = forms.BooleanField(
        label=_("The course ends with an exam"),
        required=False,
        help_text=_("Without an exam, completing the lessons completes the course."),
    )

    def __init__(
        self, *args: Any, settings: ExamSettings | None, defaults: ExamRules, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        model_fields = {
            f.name: f for f in ExamSettings._meta.get_fields() if hasattr(f, "verbose_name")
        }
        for name in RULE_FIELDS:
            label = model_fields[name].verbose_name
            default = getattr(defaults, name)
            if name in BOOLEAN_RULES:
                self.fields[name] = forms.TypedChoiceField(
                    label=label,
                    required=False,
                    choices=[
                        ("", _("The region's rule (%(value)s)") % {"value": _yes_no(default)}),
                        ("yes", _("Yes")),
                        ("no", _("No")),
                    ],
                    coerce=lambda value: value == "yes",
                    empty_value=None,
                )
                own = getattr(settings, name, None) if settings else None
                self.initial.setdefault(name, "" if own is None else ("yes" if own else "no"))
            else:
                self.fields[name] = forms.IntegerField(
                    label=label,
                    required=False,
                    min_value=1
                    if name in ("pass_mark", "time_limit_minutes", "attempts_per_year")
                    else 0,
                    max_value=100 if name == "pass_mark" else 500,
                    help_text=_("Empty: the region's rule (%(value)s).") % {"value": default},
                )
                self.initial.setdefault(name, getattr(settings, name, None) if settings else None)

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in RULE_FIELDS}


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
