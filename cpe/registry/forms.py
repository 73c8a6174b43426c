"""Forms of the officer's learner console. The services check every rule; forms only collect."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cpe.regions.models import Region
from cpe.registry.models import Learner, LearnerEvidence, QualificationLevel
from cpe.registry.services import LearnerDetails


class LearnerForm(forms.Form):
    id_number = forms.CharField(
        label=_("ID number"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=_("18 characters; a 15-digit number from before 1999 is converted."),
    )
    name = forms.CharField(label=_("Name"), max_length=40)
    mobile = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
        help_text=_("The learner's sign-in codes are sent to this number."),
    )
    employer_name = forms.CharField(label=_("Employer"), max_length=200)
    employer_uscc = forms.CharField(
        label=_("Unified social credit code"), max_length=30, required=False
    )
    qualification_level = forms.ChoiceField(
        label=_("Qualification level"), choices=QualificationLevel.choices
    )
    certificate_number = forms.CharField(
        label=_("Certificate number"), max_length=40, required=False
    )
    qualification_year = forms.IntegerField(
        label=_("Year obtained"),
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text=_("Leave empty when there is no qualification."),
    )
    district = forms.ModelChoiceField(label=_("District"), queryset=Region.objects.none())
    reason = forms.CharField(label=_("Reason for the change"), max_length=500, required=False)

    def __init__(
        self, *args: Any, districts: Any = None, learner: Learner | None = None, **kwargs: Any
    ) -> None:
        if learner is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": learner.name,
                    "mobile": learner.mobile,
                    "employer_name": learner.employer_name,
                    "employer_uscc": learner.employer_uscc,
                    "qualification_level": learner.qualification_level,
                    "certificate_number": learner.certificate_number,
                    "qualification_year": learner.qualification_year,
                },
            )
        super().__init__(*args, **kwargs)
        if learner is None:
            del self.fields["reason"]
            self.fields["district"].queryset = districts
            if districts is not None and districts.count() == 1:
                self.fields["district"].initial = districts.first()
                self.fields["district"].widget = forms.HiddenInput()
        else:
            # The number on file is never put into the page; typing one corrects it.
            del self.fields["district"]
            self.fields["id_number"].required = False
            self.fields["id_number"].help_text = _(
                "On file: %(masked)s. Leave empty to keep it; type the whole number only to "
                "correct a mistake."
            ) % {"masked": learner.id_number_masked}

    def details(self) -> LearnerDetails:
        data = self.cleaned_data
        return LearnerDetails(
            id_number=data["id_number"],
            name=data["name"],
            mobile=data["mobile"],
            employer_name=data["employer_name"],
            employer_uscc=data["employer_uscc"],
            qualification_level=data["qualification_level"],
            certificate_number=data["certificate_number"],
            qualification_year=data["qualification_year"],
        )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


class TransferForm(ReasonForm):
    to_district = forms.ModelChoiceField(
        label=_("Receiving district"), queryset=Region.objects.none()
    )
    field_order = ["to_district", "reason"]

    def __init__(self, *args: Any, learner: Learner, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_district"].queryset = (
            Region.objects.filter(level=Region.Level.DISTRICT)
            .exclude(pk=learner.district_id)
            .select_related("parent")
            .order_by("code")
        )
        self.fields["to_district"].label_from_instance = lambda region: (
            f"{region.parent.display_name} {region.display_name}"
        )


class EvidenceForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of document"), choices=LearnerEvidence.Kind.choices)
    file = forms.FileField(
        label=_("File"),
        help_text=_("PDF, JPEG or PNG, up to 10 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}),
    )
