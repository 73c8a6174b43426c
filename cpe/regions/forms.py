"""Forms of the regions app."""

from __future__ import annotations

from django import forms

from cpe.regions.models import Bureau
from cpe.regions.services import BUREAU_FIELDS


class BureauForm(forms.ModelForm):
    class Meta:
        model = Bureau
        fields = BUREAU_FIELDS
