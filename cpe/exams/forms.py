"""Forms of the exam pages: a course's exam settings (each empty field takes the region's)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cpe.exams.models import ExamSettings
from cpe.exams.services import RULE_FIELDS, ExamRules

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
