"""Forms of the public site."""

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
