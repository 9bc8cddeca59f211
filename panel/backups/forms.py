from __future__ import annotations

from django import forms

from panel.backups.models import BackupTarget


class BackupTargetForm(forms.Form):
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
