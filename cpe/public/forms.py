"""Forms of the public site: notices, the public credit query and office API keys."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cpe.core.permissions import user_scope_path
from cpe.public.models import Notice
from cpe.regions.models import Region


class NoticeForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_("Markdown: **bold**, *italic*, lists with -, links as [text](https://...)."),
    )
    region = forms.ModelChoiceField(
        label=_("Region"),
        queryset=Region.objects.none(),
        required=False,
        empty_label=_("Whole platform"),
    )
    pinned = forms.BooleanField(label=_("Pin to the top"), required=False)
    publish = forms.BooleanField(label=_("Published"), required=False)

    def __init__(self, *args: Any, user: Any, notice: Notice | None = None, **kwargs: Any) -> None:
        if notice is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "title": notice.title,
                "body": notice.body,
                "region": notice.region,
                "pinned": notice.pinned,
                "publish": notice.is_published,
            }
        super().__init__(*args, **kwargs)
        scope = user_scope_path(user) or ""
        self.fields["region"].queryset = (
            Region.objects.within(scope).exclude(level=Region.Level.DISTRICT).order_by("code")
        )
        if scope:  # only platform-wide staff may choose "Whole platform"
            self.fields["region"].required = True
            self.fields["region"].empty_label = None


class CreditQueryForm(forms.Form):
    """What a person types; the query service checks the ID number, the name and the year."""

    id_number = forms.CharField(
        label=_("ID number"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
        help_text=_("18 characters as on the ID card; the last may be X."),
    )
    name = forms.CharField(
        label=_("Name"), max_length=60, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    year = forms.CharField(
        label=_("Year (optional)"),
        required=False,
        max_length=4,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        help_text=_("Leave empty to see every year."),
    )
    # Filled in by the browser's check (static/public/query.js) when one is needed.
    pow_challenge = forms.CharField(required=False, widget=forms.HiddenInput)
    pow_counter = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)


class OfficeKeyForm(forms.Form):
    office = forms.CharField(
        label=_("Office"),
        max_length=200,
        help_text=_("Who will use the key, e.g. the province's accounting examination office."),
    )
    region = forms.ModelChoiceField(label=_("Province"), queryset=Region.objects.none())

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scope = user_scope_path(user) or ""
        self.fields["region"].queryset = Region.objects.within(scope).filter(
            level=Region.Level.PROVINCE
        )
        if self.fields["region"].queryset.count() == 1:
            self.fields["region"].initial = self.fields["region"].queryset.first()


class OfficeKeyRevokeForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)
