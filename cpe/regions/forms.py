"""Forms of the regions app."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cpe.regions import hooks
from cpe.regions.models import Bureau, RegionPolicy
from cpe.regions.services import BUREAU_FIELDS, POLICY_FIELDS


class BureauForm(forms.ModelForm):
    class Meta:
        model = Bureau
        fields = BUREAU_FIELDS


class PolicyForm(forms.ModelForm):
    """A region's study rules from a year on, with a cap per credit source and the explicit
    request to recompute the years a change decides."""

    recompute = forms.BooleanField(
        label=_("Recompute the yearly statuses"),
        required=False,
        help_text=_(
            "Needed when the change alters what completes years that already have credits."
        ),
    )
    reason = forms.CharField(
        label=_("Reason for the recomputation"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    class Meta:
        model = RegionPolicy
        fields = ["effective_from", *POLICY_FIELDS]

    def __init__(self, *args: Any, caps: dict[str, int], existing: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if existing:
            # Correcting a row keeps its year; rules from another year are a new row.
            self.fields["effective_from"].disabled = True
        self.fields["effective_from"].min_value = 2000
        self.fields["effective_from"].max_value = 2100
        extra = {name: self.fields.pop(name) for name in ("recompute", "reason")}
        for code, label in hooks.credit_sources():
            self.fields[f"cap_{code}"] = forms.IntegerField(
                label=_("%(source)s: most credits a year") % {"source": label},
                required=False,
                min_value=0,
                max_value=999,
                initial=caps.get(code),
                help_text=_("Empty: no cap."),
            )
        self.fields.update(extra)

    def policy_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in POLICY_FIELDS}

    def caps(self) -> dict[str, int | None]:
        return {
            code: self.cleaned_data.get(f"cap_{code}") for code, _label in hooks.credit_sources()
        }


class RecomputeAgainForm(forms.Form):
    """The reason to run again a recomputation of the yearly statuses that stopped."""

    reason = forms.CharField(
        label=_("Reason for the recomputation"),
        max_length=500,
        widget=forms.TextInput(),
    )
