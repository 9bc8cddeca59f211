from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password

from panel.accounts.models import AppAccess
from panel.accounts.roles import ROLE_LABELS, Role


def role_choices(roles: list[Role]) -> list[tuple[str, str]]:
    return [(r.value, ROLE_LABELS[r]) for r in roles]


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField()

    def __init__(self, *args, roles: list[Role], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(roles)
        self.fields["role"].initial = Role.USER.value


class RoleForm(forms.Form):
    role = forms.ChoiceField()

    def __init__(self, *args, roles: list[Role], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(roles)


class GroupForm(forms.Form):
    name = forms.CharField(max_length=150)


class GroupMembersForm(forms.Form):
    members = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class AppAccessForm(forms.Form):
    mode = forms.ChoiceField(choices=AppAccess.Mode.choices, widget=forms.RadioSelect)
    users = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )


class AcceptInvitationForm(forms.Form):
    username = forms.RegexField(
        regex=r"^[a-z0-9][a-z0-9._-]{1,30}$",
        error_messages={
            "invalid": "Use 2 to 31 lower-case letters, digits, dots, dashes or underscores."
        },
    )
    password = forms.CharField(widget=forms.PasswordInput, min_length=10)

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        validate_password(password)
        return password


class AppPasswordForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="The client it is for, e.g. Phone calendar")
    app = forms.ModelChoiceField(queryset=None, required=False, empty_label="Every app I may use")

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from panel.accounts.services import usable_apps
        from panel.core.models import AppInstance

        self.fields["app"].queryset = usable_apps(user, AppInstance.objects.all())
