"""Forms of the learner's sign-in pages; the services check the values themselves."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


def _text(label: str, *, autocomplete: str, max_length: int = 40, **attrs: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        widget=forms.TextInput(attrs={"autocomplete": autocomplete, **attrs}),
    )


def _password(label: str, autocomplete: str = "new-password") -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


class SignInForm(forms.Form):
    # Named like the staff form's fields, so password managers and tests treat them alike.
    username = _text(_("ID number or mobile number"), autocomplete="username", autofocus=True)
    password = _password(_("Password"), autocomplete="current-password")


class FirstSignInForm(forms.Form):
    id_number = _text(_("ID number"), autocomplete="off", autofocus=True)
    name = _text(_("Name"), autocomplete="name", max_length=30)


class ForgottenPasswordForm(forms.Form):
    login = _text(_("ID number or mobile number"), autocomplete="username", autofocus=True)
    name = _text(_("Name"), autocomplete="name", max_length=30)


class ChoosePasswordForm(forms.Form):
    password = _password(_("New password"))
    password_again = _password(_("New password again"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = _(
            "At least 8 characters, not only digits, not your ID number or birth date."
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords are not the same."))
        return data


class CodeForm(ChoosePasswordForm):
    code = forms.CharField(
        label=_("Code from the text message"),
        max_length=10,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9]*",
                "autofocus": True,
            }
        ),
    )
    field_order = ["code", "password", "password_again"]
