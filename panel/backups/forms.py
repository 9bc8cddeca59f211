from __future__ import annotations

from django import forms

from panel.backups.models import BackupTarget
from panel.backups.schedule import DEFAULT_BACKUP_SCHEDULE, DEFAULT_CHECK_SCHEDULE
from panel.domains.forms import HostPortFields


class ScheduleFields(forms.Form):
    """When a target backs up and checks, and what it keeps (checked in services).

    Optional when adding a target (empty = the defaults shown), required when editing one.
    """

    backup_schedule = forms.CharField(
        required=False,
        max_length=100,
        initial=DEFAULT_BACKUP_SCHEDULE,
        label="Backup schedule",
        help_text="Cron, UTC: 0 3 * * * is every day at 03:00.",
    )
    keep_daily = forms.IntegerField(
        required=False, initial=7, label="Keep daily", help_text="0 = rule off."
    )
    keep_weekly = forms.IntegerField(required=False, initial=4, label="Keep weekly")
    keep_monthly = forms.IntegerField(required=False, initial=6, label="Keep monthly")
    keep_within = forms.CharField(
        required=False,
        max_length=32,
        label="Keep everything within",
        help_text="A duration such as 30d or 1y6m; empty = rule off.",
    )
    check_schedule = forms.CharField(
        required=False,
        max_length=100,
        initial=DEFAULT_CHECK_SCHEDULE,
        label="Integrity check schedule",
        help_text="Cron, UTC: 0 5 * * 0 is every Sunday at 05:00.",
    )


class BackupTargetEditForm(ScheduleFields):
    name = forms.CharField(max_length=100)
    access_key = forms.CharField(required=False, max_length=200, help_text="S3 only.")
    secret_key = forms.CharField(
        required=False,
        max_length=300,
        widget=forms.PasswordInput,
        help_text="S3 only; leave empty to keep the stored one.",
    )
    password = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.PasswordInput,
        label="Recovery key",
        help_text="Only if Hearth lost it (its key file was replaced); empty keeps the stored one.",
    )
    field_order = ["name", "access_key", "secret_key", "password"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("backup_schedule", "check_schedule", "keep_daily", "keep_weekly"):
            self.fields[name].required = True
        self.fields["keep_monthly"].required = True


class BackupTargetForm(ScheduleFields):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=BackupTarget.Kind.choices)
    path = forms.CharField(
        required=False, max_length=500, help_text="Folder targets: an absolute path."
    )
    endpoint = forms.CharField(
        required=False,
        max_length=300,
        help_text="S3: the service URL; empty for AWS (https://s3.amazonaws.com).",
    )
    region = forms.CharField(required=False, max_length=64)
    bucket = forms.CharField(required=False, max_length=63)
    prefix = forms.CharField(required=False, max_length=300, help_text="S3: folder in the bucket.")
    access_key = forms.CharField(required=False, max_length=200)
    secret_key = forms.CharField(required=False, max_length=300, widget=forms.PasswordInput)
    password = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.PasswordInput,
        label="Recovery key",
        help_text="Only to reuse an existing repository there; leave empty and Hearth makes one.",
    )
    field_order = [
        "name",
        "kind",
        "path",
        "endpoint",
        "region",
        "bucket",
        "prefix",
        "access_key",
        "secret_key",
        "password",
    ]


# Clone and import ---------------------------------------------------------------------------
class CloneForm(HostPortFields, forms.Form):
    """Where the clone of a snapshot goes (checked by panel.core.services.check_location) and,
    for apps with tcpPorts/udpPorts, its own host ports (the source keeps its own)."""

    subdomain = forms.CharField(max_length=63)
    domain = forms.ModelChoiceField(queryset=None, empty_label=None)

    def __init__(self, *args, manifest: dict, **kwargs) -> None:
        from panel.domains.models import Domain
        from panel.domains.ports import suggested_host_ports

        super().__init__(*args, **kwargs)
        self.fields["domain"].queryset = Domain.objects.order_by("name")
        self.add_port_fields(manifest, suggested_host_ports(manifest))


class ImportSourceForm(forms.Form):
    """Where the backups are and the key that opens them (nothing is saved from this)."""

    kind = forms.ChoiceField(choices=BackupTarget.Kind.choices)
    path = forms.CharField(
        required=False, max_length=500, help_text="Folder targets: the absolute path."
    )
    endpoint = forms.CharField(
        required=False, max_length=300, help_text="S3: the service URL; empty for AWS."
    )
    region = forms.CharField(required=False, max_length=64)
    bucket = forms.CharField(required=False, max_length=63)
    prefix = forms.CharField(required=False, max_length=300)
    access_key = forms.CharField(required=False, max_length=200)
    secret_key = forms.CharField(
        required=False, max_length=300, widget=forms.PasswordInput(render_value=True)
    )
    recovery_key = forms.CharField(
        max_length=200,
        widget=forms.PasswordInput(render_value=True),
        help_text="The key Hearth showed once when the target was added.",
    )

    def source(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name) or "" for name in ImportSourceForm.base_fields}


class ImportForm(ImportSourceForm):
    """The chosen snapshot and where its app goes; the source travels in hidden fields."""

    snapshot = forms.CharField(max_length=64)
    subdomain = forms.CharField(max_length=63)
    domain = forms.ModelChoiceField(queryset=None, empty_label=None)

    def __init__(self, *args, **kwargs) -> None:
        from panel.domains.models import Domain

        super().__init__(*args, **kwargs)
        self.fields["domain"].queryset = Domain.objects.order_by("name")
        for name in ImportSourceForm.base_fields:
            self.fields[name].widget = forms.HiddenInput()
