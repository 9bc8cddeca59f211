from __future__ import annotations

from django import forms

from panel.domains.models import TlsMode
from panel.domains.providers import PROVIDERS


def config_field_name(kind: str, name: str) -> str:
    """Each provider's settings have their own inputs: manual and wildcard share names."""
    return f"{kind}-{name}"


class DomainForm(forms.Form):
    """The domain, its DNS provider with that provider's settings, and its TLS mode.

    Only shape is checked here; add_domain checks meaning (and the credentials, for real).
    """

    name = forms.CharField(max_length=253, help_text="For example example.com")
    provider = forms.ChoiceField(choices=[(k, p.label) for k, p in PROVIDERS.items()])
    tls_mode = forms.ChoiceField(choices=TlsMode.choices, initial=TlsMode.ACME_HTTP)
    ipv4 = forms.GenericIPAddressField(
        protocol="IPv4", required=False, label="Server IPv4 address", help_text="empty: default"
    )
    ipv6 = forms.GenericIPAddressField(protocol="IPv6", required=False, label="Server IPv6")
    dynamic_dns = forms.BooleanField(
        required=False,
        label="Dynamic DNS",
        help_text="A home server: follow the public address when it changes",
    )
    cname_target = forms.CharField(
        max_length=253,
        required=False,
        label="App records as CNAME to",
        help_text=(
            "Optional: a host name such as my.example.com or a dynamic-DNS name; apps get a "
            "CNAME to it instead of A/AAAA records"
        ),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for kind, provider in PROVIDERS.items():
            for field in provider.fields:
                widget = forms.PasswordInput(render_value=True) if field.secret else None
                self.fields[config_field_name(kind, field.name)] = forms.CharField(
                    label=field.label,
                    required=False,
                    help_text=field.help,
                    initial=field.default,
                    widget=widget,
                )

    def provider_groups(self) -> list[tuple[str, str, list]]:
        """(kind, label, bound fields) for the template, one fieldset per provider."""
        return [
            (kind, provider.label, [self[config_field_name(kind, f.name)] for f in provider.fields])
            for kind, provider in PROVIDERS.items()
        ]

    def provider_config(self) -> dict[str, str]:
        kind = self.cleaned_data["provider"]
        return {
            f.name: self.cleaned_data.get(config_field_name(kind, f.name), "")
            for f in PROVIDERS[kind].fields
        }

    def add_service_errors(self, errors: dict[str, str]) -> None:
        kind = self.data.get("provider", "")
        for field, message in errors.items():
            name = config_field_name(kind, field)
            self.add_error(
                name if name in self.fields else (field if field in self.fields else None), message
            )


class CertificateUploadForm(forms.Form):
    fullchain = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        label="Certificate chain (PEM)",
        help_text="The certificate, then its intermediate certificate(s)",
    )
    key = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label="Private key (PEM)")
    app = forms.ChoiceField(required=False, label="For", help_text="empty: the whole domain")

    def __init__(self, *args, apps=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["app"].choices = [("", "The whole domain (*.domain)")] + [
            (str(app.pk), app.fqdn) for app in apps
        ]

    def add_service_errors(self, errors: dict[str, str]) -> None:
        mapping = {"certificate": "fullchain", "key": "key"}
        for field, message in errors.items():
            self.add_error(mapping.get(field), message)


class LocationForm(forms.Form):
    subdomain = forms.CharField(max_length=63)
    domain = forms.ModelChoiceField(queryset=None, empty_label=None)
    redirect_old = forms.BooleanField(
        required=False,
        label="Redirect the old address to the new one",
        help_text="Old links keep working for as long as you choose below",
    )
    redirect_days = forms.TypedChoiceField(
        choices=[(7, "for 7 days"), (30, "for 30 days"), (90, "for 90 days"), (0, "forever")],
        coerce=int,
        initial=30,
        required=False,
        empty_value=30,
        label="Keep the redirect",
        help_text="It is then removed with its DNS record; 'forever' until you remove it",
    )

    def __init__(self, *args, **kwargs) -> None:
        from panel.domains.models import Domain

        super().__init__(*args, **kwargs)
        self.fields["domain"].queryset = Domain.objects.all()

    def add_service_errors(self, errors: dict[str, str]) -> None:
        for field, message in errors.items():
            self.add_error(field if field in self.fields else None, message)


class AliasesForm(forms.Form):
    aliases = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Other names served by the app",
        help_text="One full name per line, on your domains",
    )
    redirects = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Names that redirect to the app",
        help_text="One full name per line",
    )

    def names(self) -> list[tuple[str, bool]]:
        return [
            (line.strip(), redirect)
            for field, redirect in (("aliases", False), ("redirects", True))
            for line in self.cleaned_data[field].splitlines()
            if line.strip()
        ]

    def add_service_errors(self, errors: dict[str, str]) -> None:
        for field, message in errors.items():
            self.add_error("aliases" if field == "aliases" else None, message)


class HostPortFields:
    """One field per tcpPorts/udpPorts entry, named like the port service's error keys
    (host_ports.<VARIABLE>) so each error lands beside its port. For the install, clone and
    port-change forms."""

    def add_port_fields(self, manifest: dict, initial: dict | None = None) -> None:
        from panel.domains.ports import declared_ports

        self.declared_ports = declared_ports(manifest)
        initial = initial or {}
        for port in self.declared_ports:
            protocols = "/".join(p.upper() for p in port.protocols)
            span = f", {port.count} consecutive ports from this one" if port.count > 1 else ""
            self.fields[port.field] = forms.IntegerField(
                label=f"{port.title} ({protocols} port on this server{span})",
                help_text=port.description,
                initial=initial.get(port.name, port.default),
            )

    def port_fields(self) -> list[forms.BoundField]:
        return [self[port.field] for port in self.declared_ports]

    def host_ports(self) -> dict[str, int]:
        return {port.name: self.cleaned_data[port.field] for port in self.declared_ports}

    def add_service_errors(self, errors: dict[str, str]) -> None:
        for field, message in errors.items():
            self.add_error(field if field in self.fields else None, message)


class HostPortsForm(HostPortFields, forms.Form):
    """An installed app's host ports."""

    def __init__(self, *args, app, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.add_port_fields(app.manifest, app.host_ports)


class EnvOverridesForm(forms.Form):
    env_overrides = forms.CharField(
        required=False,
        label="Environment variables",
        help_text=(
            "One NAME=value per line. Hearth's own variables (HEARTH_*, CLOUDRON_*, the port "
            "variables) cannot be set here; they win over these."
        ),
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        max_length=128 * 1024,
    )

    def clean_env_overrides(self) -> dict[str, str]:
        from panel.domains.app_settings import parse_env_lines

        values, problems = parse_env_lines(self.cleaned_data["env_overrides"])
        if problems:
            raise forms.ValidationError(" ".join(problems))
        return values

    def add_service_errors(self, errors: dict[str, str]) -> None:
        for field, message in errors.items():
            self.add_error(field if field in self.fields else None, message)


class CnameTargetForm(forms.Form):
    cname_target = forms.CharField(
        max_length=253,
        required=False,
        label="App records as CNAME to",
        help_text="A host name such as my.example.com; empty: A/AAAA records to this server",
    )

    def add_service_errors(self, errors: dict[str, str]) -> None:
        for field, message in errors.items():
            self.add_error(field if field in self.fields else None, message)
