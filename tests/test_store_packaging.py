"""validatepackage: what a packager sees for good and bad package folders (no Docker needed)."""

from __future__ import annotations

import json
import shutil
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps_store.services import PACKAGES_DIR


@pytest.mark.parametrize("name", sorted(p.name for p in PACKAGES_DIR.iterdir() if p.is_dir()))
def test_every_bundled_package_is_valid(name):
    out = StringIO()
    call_command("validatepackage", str(PACKAGES_DIR / name), stdout=out, stderr=StringIO())
    assert "valid package" in out.getvalue()


def test_validatepackage_lists_every_problem_with_where_and_what(tmp_path):
    folder = tmp_path / "app"
    shutil.copytree(PACKAGES_DIR / "staticsite", folder)
    manifest = json.loads((folder / "HearthManifest.json").read_text())
    manifest["addons"] = {"mysql": {"multipleDatabase": True}}
    manifest["icon"] = "missing.png"
    (folder / "HearthManifest.json").write_text(json.dumps(manifest))
    (folder / "Dockerfile").write_text('FROM debian:bookworm\nCMD ["/app/code/start.sh"]\n')

    with pytest.raises(CommandError) as caught:
        call_command("validatepackage", str(folder), stdout=StringIO(), stderr=StringIO())
    message = str(caught.value)
    assert 'addons.mysql: unknown option "multipleDatabase"' in message
    assert 'did you mean "multipleDatabases"?' in message
    assert 'no "ARG BASE_IMAGE" line' in message
    assert 'the last FROM must be "FROM ${BASE_IMAGE}"' in message
    assert 'icon "missing.png" is not a file' in message


def test_validatepackage_explains_a_folder_without_manifest(tmp_path):
    with pytest.raises(CommandError, match="no manifest found .* HearthManifest.json"):
        call_command("validatepackage", str(tmp_path), stdout=StringIO(), stderr=StringIO())


def test_validatepackage_warns_when_the_app_would_run_as_root(tmp_path):
    folder = tmp_path / "app"
    shutil.copytree(PACKAGES_DIR / "staticsite", folder)
    dockerfile = (folder / "Dockerfile").read_text().replace("USER hearth\n", "")
    (folder / "Dockerfile").write_text(dockerfile)
    err = StringIO()
    call_command("validatepackage", str(folder), stdout=StringIO(), stderr=err)
    assert "runs as root" in err.getvalue()


def test_the_commands_work_from_the_shell_with_plain_errors_and_exit_codes(tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "panel.settings_test"}

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
        )

    good = manage("validatepackage", str(PACKAGES_DIR / "staticsite"))
    assert good.returncode == 0, good.stderr
    assert "valid package io.hearth.staticsite 1.0.0" in good.stdout
    bad = manage("validatepackage", str(tmp_path))
    assert bad.returncode == 1
    assert "no manifest found" in bad.stderr and "Traceback" not in bad.stderr
    assert manage("storekey").stdout.split()[1] == "fingerprint"


def test_syncstore_reports_a_store_that_does_not_answer_and_fails(db):
    with pytest.raises(CommandError, match="http://127.0.0.1:9 did not answer"):
        call_command("syncstore", "http://127.0.0.1:9", stdout=StringIO(), stderr=StringIO())
