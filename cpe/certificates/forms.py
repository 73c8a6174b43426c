"""Forms of the certificate pages: the language of a download, the officer's batch, a number."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cpe.core.permissions import user_scope_path
from cpe.regions.models import Region

LANGUAGE_CHOICES = [("zh-hans", _("Chinese")), ("en", _("English"))]


class DownloadForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"), choices=LANGUAGE_CHOICES, initial="zh-hans", required=False
    )

    def language_code(self) -> str:
        if self.is_valid() and self.cleaned_data["language"]:
            return self.cleaned_data["language"]
        return "zh-hans"


class VerifyForm(forms.Form):
    number = forms.CharField(
        label=pgettext_lazy("certificate", "Certificate number"),
        max_length=40,
        help_text=_("As printed on the certificate, for example 7K2M-9XQ4-TT8B-3D5R."),
    )


def districts_in_scope(user: Any) -> list[Region]:
    scope = user_scope_path(user)
    if scope is None:
        return []
    districts = Region.objects.filter(level=Region.Level.DISTRICT).order_by("code")
    if scope:
        districts = districts.filter(path__startswith=scope)
    return list(districts)


class BatchForm(forms.Form):
    district = forms.ChoiceField(label=_("District"))
    year = forms.IntegerField(label=_("Year"), min_value=2000)
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_CHOICES, initial="zh-hans")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["district"].choices = [
            (d.code, d.display_name) for d in districts_in_scope(user)
        ]
        self.fields["year"].initial = timezone.localdate().year - 1

    def clean_year(self) -> int:
        year = self.cleaned_data["year"]
        if year > timezone.localdate().year:
            raise forms.ValidationError(_("The year cannot be in the future."))
        return year
