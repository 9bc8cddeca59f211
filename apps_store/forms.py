from __future__ import annotations

from django import forms

from apps_store.update_window import DAY_NAMES, WindowError, make_window
from panel.domains.forms import HostPortFields
from panel.domains.models import Domain


class InstallForm(HostPortFields, forms.Form):
    subdomain = forms.CharField(
        max_length=63,
        help_text="The app will live at <subdomain>.<domain>.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    domain = forms.ModelChoiceField(queryset=Domain.objects.all(), empty_label=None)

    def __init__(self, *args, manifest: dict | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.add_port_fields(manifest or {})


class UpdateWindowForm(forms.Form):
    """When automatic updates may start; checked by update_window.make_window."""

    days = forms.TypedMultipleChoiceField(
        choices=list(enumerate(DAY_NAMES)),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Days the window opens on; none turns automatic updates off everywhere.",
    )
    start_hour = forms.TypedChoiceField(
        choices=[(h, f"{h:02d}:00") for h in range(24)], coerce=int, label="From"
    )
    end_hour = forms.TypedChoiceField(
        choices=[(h, f"{h:02d}:00") for h in range(24)],
        coerce=int,
        label="Until",
        help_text="An end at or before the start runs past midnight; the same hour is all day.",
    )
    timezone = forms.CharField(
        max_length=64,
        help_text="An IANA time zone name, e.g. UTC or Europe/Paris.",
        widget=forms.TextInput(attrs={"list": "timezones", "spellcheck": "false"}),
    )

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        try:
            make_window(data["days"], data["start_hour"], data["end_hour"], data["timezone"])
        except WindowError as exc:
            for name, message in exc.errors.items():
                self.add_error(name, message)
        return data
