"""Forms of the core: the audit log's filters."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from cpe.core.selectors import AuditFilters


class AuditFilterForm(forms.Form):
    person = forms.CharField(label=_("Person"), required=False, max_length=150)
    action = forms.CharField(label=_("Action"), required=False, max_length=64)
    record = forms.CharField(label=_("Record"), required=False, max_length=200)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def filters(self) -> AuditFilters:
        data = self.cleaned_data if self.is_valid() else {}
        return AuditFilters(
            person=data.get("person", ""),
            action=data.get("action", ""),
            record=data.get("record", ""),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


def apply_validation_error(
    form: forms.Form, error: ValidationError, default_field: str | None = None
) -> None:
    """Show a service's ValidationError on the form: on its fields, else at the top."""
    messages = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
    for field, texts in messages.items():
        target = field if field in form.fields else default_field
        form.add_error(target, texts)
