"""Forms of the accounts app."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cpe.accounts.models import User
from cpe.accounts.roles import Role
from cpe.accounts.services import grantable_roles
from cpe.core.services import Actor
from cpe.regions.models import Region


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class StaffUserForm(forms.Form):
    """Create or edit a staff account; the role and region choices are those the actor may give."""

    username = forms.CharField(label=_("User name"), max_length=150)
    display_name = forms.CharField(label=_("Full name"), max_length=60)
    email = forms.EmailField(label=_("Email"), required=False)
    role = forms.ChoiceField(label=_("Role"))
    region = forms.ModelChoiceField(
        label=_("Region"),
        queryset=Region.objects.none(),
        required=False,
        empty_label=_("Whole platform"),
    )
    is_active = forms.BooleanField(label=_("Can sign in"), required=False, initial=True)
    reason = forms.CharField(label=_("Reason for the change"), max_length=500, required=False)

    def __init__(self, *args: Any, actor: Actor, user: User | None = None, **kwargs: Any) -> None:
        if user is not None:
            kwargs.setdefault(
                "initial",
                {
                    "username": user.username,
                    "display_name": user.display_name,
                    "email": user.email,
                    "role": user.role,
                    "region": user.region,
                    "is_active": user.is_active,
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(r, Role(r).label) for r in grantable_roles(actor)]
        scope = actor.scope_path or ""
        self.fields["region"].queryset = Region.objects.within(scope).order_by("code")
        if scope:
            self.fields["region"].required = True
            self.fields["region"].empty_label = None
        if user is None:
            del self.fields["is_active"], self.fields["reason"]
        else:
            self.fields["username"].disabled = True  # the sign-in name never changes


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters, not only digits, not like your user name."),
    )
    new_password_again = forms.CharField(
        label=_("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("new_password") and data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", _("The two new passwords are not the same."))
        return data


def _code_field(label: str, *, autofocus: bool = False) -> forms.CharField:
    attrs = {"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 12}
    if autofocus:
        attrs["autofocus"] = True
    return forms.CharField(label=label, max_length=12, widget=forms.TextInput(attrs=attrs))


class CodeForm(forms.Form):
    """The six digits an authenticator app shows."""

    code = _code_field(_("Code from your authenticator app"), autofocus=True)


class EnrolmentForm(forms.Form):
    """Confirm a new authenticator; replacing one also needs a code from the old one."""

    code = _code_field(_("Code shown by the new authenticator"), autofocus=True)
    current_code = _code_field(_("Code shown by your current authenticator"))

    def __init__(self, *args: Any, replacing: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not replacing:
            del self.fields["current_code"]


class SecondFactorResetForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the reset"),
        max_length=500,
        help_text=_("For example: the phone with the authenticator app was lost."),
    )
