from __future__ import annotations

from django import forms

from panel.domains.models import Domain
from panel.domains.ports import declared_ports


class InstallForm(forms.Form):
    subdomain = forms.CharField(
        max_length=63,
        help_text="The app will live at <subdomain>.<domain>.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    domain = forms.ModelChoiceField(queryset=Domain.objects.all(), empty_label=None)

    def __init__(self, *args, manifest: dict | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # One field per tcpPorts/udpPorts entry, named like the service's error keys
        # (host_ports.<VARIABLE>) so its errors land beside it.
        self.declared_ports = declared_ports(manifest or {})
        for port in self.declared_ports:
            protocols = "/".join(p.upper() for p in port.protocols)
            span = f", {port.count} consecutive ports from this one" if port.count > 1 else ""
            self.fields[port.field] = forms.IntegerField(
                label=f"{port.title} ({protocols} port on this server{span})",
                help_text=port.description,
                initial=port.default,
            )

    def port_fields(self) -> list[forms.BoundField]:
        return [self[port.field] for port in self.declared_ports]

    def host_ports(self) -> dict[str, int]:
        return {port.name: self.cleaned_data[port.field] for port in self.declared_ports}
