from __future__ import annotations

from django import forms

from panel.domains.models import Domain


class InstallForm(forms.Form):
    subdomain = forms.CharField(
        max_length=63,
        help_text="The app will live at <subdomain>.<domain>.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    domain = forms.ModelChoiceField(queryset=Domain.objects.all(), empty_label=None)
