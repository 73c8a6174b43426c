"""Forms of credit registration: the learner's application, the officer's decision, direct
recording, the import upload and a line of the conversion table. The rules themselves live
in the services (cpe.credits.registration, cpe.credits.conversion); these only parse."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cpe.credits.conversion import DETAIL_FIELDS, KIND_LABELS, KINDS, Rule
from cpe.credits.models import ConversionRule, CreditEntry
from cpe.registry.imports import MAX_UPLOAD_BYTES

CATEGORY_CHOICES = [("", "—"), *CreditEntry.Category.choices]


class ApplicationForm(forms.Form):
    """An application for one kind of the table: the kind's details, the year, evidence."""

    year = forms.TypedChoiceField(label=_("Year"), coerce=int)
    category = forms.ChoiceField(label=_("Category"), required=False, choices=CATEGORY_CHOICES)
    evidence = forms.FileField(
        label=_("Evidence"),
        required=False,
        help_text=_("A PDF, JPEG or PNG file of at most 10 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )

    def __init__(self, *args: Any, rule: Rule, years: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rule = rule
        self.fields["year"].choices = [(year, str(year)) for year in sorted(years, reverse=True)]
        if rule.category:
            del self.fields["category"]
        if rule.evidence_required:
            self.fields["evidence"].help_text = _(
                "Required: a PDF, JPEG or PNG file of at most 10 MB."
            )
        for name in rule.detail_fields:
            spec = DETAIL_FIELDS[name]
            self.fields[name] = forms.CharField(
                label=spec.label,
                required=False,  # the service names every missing detail
                max_length=400,
                help_text=spec.hint,
                widget=forms.NumberInput(attrs={"min": 1}) if spec.number else forms.TextInput(),
            )

    def details(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name, "") for name in self.rule.detail_fields}


class ApproveForm(forms.Form):
    credits = forms.DecimalField(label=_("Credits granted"), max_digits=6, decimal_places=1)
    reason = forms.CharField(
        label=_("Reason (needed when the credits differ from the table)"),
        required=False,
        max_length=500,
    )


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


def kind_choices() -> list[tuple[str, Any]]:
    """The table's kinds, then the ledger's sources (prefixed "source:")."""
    sources = [
        (f"source:{value}", label)
        for value, label in CreditEntry.Source.choices
        if value != CreditEntry.Source.PLATFORM_COURSE
    ]
    return [
        ("", "—"),
        (_("Conversion table"), [(kind, KIND_LABELS[kind]) for kind in KINDS]),
        (_("Source"), sources),
    ]


class DirectRecordForm(forms.Form):
    id_number = forms.CharField(label=_("ID number"), max_length=40)
    year = forms.IntegerField(label=_("Year"), min_value=1900, max_value=2099)
    kind = forms.ChoiceField(label=_("Kind or source"), choices=kind_choices, required=False)
    category = forms.ChoiceField(label=_("Category"), required=False, choices=CATEGORY_CHOICES)
    credits = forms.CharField(label=_("Credits"), max_length=10)
    reference = forms.CharField(
        label=_("Reference"),
        max_length=200,
        required=False,
        help_text=_(
            "The certificate number or the list's name: the same reference is recorded once."
        ),
    )
    evidence = forms.CharField(
        label=_("Evidence"),
        max_length=400,  # the service names a longer one beside the field
        required=False,
        help_text=_(
            "The number or name of the document the credits rest on, such as the pass list's "
            "document number. Required where the conversion table requires evidence."
        ),
    )
    reason = forms.CharField(label=_("Note"), max_length=500, required=False)

    def kind_and_source(self) -> tuple[str, str]:
        value = self.cleaned_data.get("kind", "")
        if value.startswith("source:"):
            return "", value.removeprefix("source:")
        return value, ""


class CreditImportForm(forms.Form):
    file = forms.FileField(
        label=_("File of credits"),
        help_text=_("Excel (.xlsx) or CSV (UTF-8 or GB18030), at most 20 MB and 200,000 rows."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            from cpe.credits.imports import upload_too_large_message

            raise forms.ValidationError(upload_too_large_message())
        return upload


class ConversionRuleForm(forms.Form):
    category = forms.ChoiceField(
        label=_("Category"),
        required=False,
        choices=[("", _("The applicant chooses")), *CreditEntry.Category.choices],
    )
    credits_per_unit = forms.CharField(label=_("Credits per unit"), max_length=10)
    unit = forms.ChoiceField(label=_("Unit"), choices=ConversionRule.Unit.choices)
    min_credits = forms.CharField(label=_("Lowest credits an officer may grant"), max_length=10)
    max_credits = forms.CharField(label=_("Highest credits an officer may grant"), max_length=10)
    evidence_required = forms.BooleanField(label=_("Evidence required"), required=False)
    detail_fields = forms.MultipleChoiceField(
        label=_("Details the application asks for (the first tells one activity from another)"),
        choices=[(name, spec.label) for name, spec in DETAIL_FIELDS.items()],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    is_active = forms.BooleanField(label=_("Open for applications"), required=False)

    def values(self) -> dict[str, Any]:
        values = dict(self.cleaned_data)
        # The ticked details in the table's order: keep the reference detail first.
        chosen = values.get("detail_fields") or []
        first = self.data.get("reference_field", "")
        values["detail_fields"] = sorted(chosen, key=lambda name: (name != first, 0))
        return values
