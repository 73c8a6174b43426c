"""The form that uploads a file of learners."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from cpe.registry.imports import (
    MAX_UPLOAD_BYTES,
    FileRefused,
    inspect_upload,
    upload_too_large_message,
)


class LearnerImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("File of learners"),
        help_text=_("Excel (.xlsx) or CSV (UTF-8 or GB18030), at most 20 MB and 200,000 rows."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )

    def clean_file(self) -> UploadedFile:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(upload_too_large_message(), code="too_large")
        try:
            inspect_upload(upload.name, upload.read(64 * 1024))
        except FileRefused as refused:
            raise ValidationError(str(refused), code="refused") from None
        upload.seek(0)
        return upload
