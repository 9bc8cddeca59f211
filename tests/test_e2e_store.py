"""Packaging commands and release verification against the real Docker and registry."""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from docker.errors import ImageNotFound

from apps_store.manifest import load_manifest
from apps_store.models import AvailableUpdate, Release
from apps_store.services import PACKAGES_DIR, build_package, image_tag, release_problem
from apps_store.tasks import check_for_updates
from panel.core.models import AppInstance
from panel.core.services import ActionRejected, install_app
from tests.fixtures_store import install_and_wait, run_action

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PACKAGE_ID = "io.hearth.test.packaging"


@pytest.fixture
def package(tmp_path, docker_runtime):
    """A copy of the static website package under an id of its own, not yet built."""
    folder = tmp_path / "mysite"
    shutil.copytree(PACKAGES_DIR / "staticsite", folder)
    manifest = json.loads((folder / "HearthManifest.json").read_text())
    manifest.update(id=PACKAGE_ID, title="My Site", version="1.0.0")
    (folder / "HearthManifest.json").write_text(json.dumps(manifest))
    with contextlib.suppress(ImageNotFound):
        docker_runtime.client.images.remove(image_tag(load_manifest(folder)), force=True)
    return folder


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_a_packager_validates_builds_pushes_and_publishes_a_signed_installable_release(
    package,
):
    with pytest.raises(CommandError, match="there is no image .* run: manage.py buildpackage"):
        run("pushpackage", str(package))
    assert f"valid package {PACKAGE_ID} 1.0.0" in run("validatepackage", str(package))
    assert f"built 127.0.0.1:5000/hearth/apps/{PACKAGE_ID}:1.0.0" in run(
        "buildpackage", str(package)
    )
    assert "digest sha256:" in run("pushpackage", str(package))
    published = run("publishpackage", str(package))
    assert f"published {PACKAGE_ID}@1.0.0" in published
    assert "signed by store key" in published

    release = Release.objects.get(store_app__app_id=PACKAGE_ID, version="1.0.0")
    assert release.signature and release_problem(release) == ""


def test_a_release_whose_image_was_replaced_in_the_registry_is_refused(package, domain):
    run("publishpackage", str(package))
    release = Release.objects.get(store_app__app_id=PACKAGE_ID)
    assert release_problem(release) == ""

    # Someone pushes other content under the same tag after publishing.
    (package / "public" / "index.html").write_text("<h1>not what was signed</h1>\n")
    _, _, other_digest = build_package(package)
    assert other_digest != release.image_digest
    problem = release_problem(release)
    assert "replaced after publishing" in problem
    assert other_digest in problem and release.image_digest in problem
    with pytest.raises(ActionRejected) as caught:
        install_app(release=release, subdomain="mysite", domain=domain)
    assert "replaced after publishing" in caught.value.errors["release"]
    assert not AppInstance.objects.exists()


def test_a_release_whose_image_is_missing_from_the_registry_is_refused(package, domain):
    run("publishpackage", str(package))
    release = Release.objects.get(store_app__app_id=PACKAGE_ID)
    release.image = f"127.0.0.1:5000/hearth/apps/{PACKAGE_ID}:9.9.9"
    release.version = "9.9.9"
    from apps_store.services import sign_release

    sign_release(release)  # correctly signed: only the registry check can catch it
    assert "missing from the registry" in release_problem(release)


def test_a_build_failure_is_reported_with_the_build_log(package):
    (package / "Dockerfile").write_text(
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo 'compiling' && exit 3\n"
    )
    with pytest.raises(CommandError) as caught:
        run("buildpackage", str(package))
    assert "docker build failed" in str(caught.value)
    assert "compiling" in str(caught.value)


def test_the_worker_marks_an_installed_app_updatable_once_a_newer_release_is_published(
    worker, publish, domain, owner_client, tmp_path
):
    app, task = install_and_wait(publish("staticsite"), "upd", domain)
    assert task.state == "succeeded", task.error
    assert "update available" not in owner_client.get(reverse("core:dashboard")).content.decode()

    newer = tmp_path / "staticsite"
    shutil.copytree(PACKAGES_DIR / "staticsite", newer)
    manifest = json.loads((newer / "HearthManifest.json").read_text())
    manifest.update(version="1.1.0", changelog="A newer welcome page.")
    (newer / "HearthManifest.json").write_text(json.dumps(manifest))
    run("publishpackage", str(newer))

    # What beat runs every few hours, run now by the real worker.
    check_for_updates.delay()
    deadline = time.monotonic() + 60
    while not AvailableUpdate.objects.filter(app=app).exists():
        assert time.monotonic() < deadline, "the worker did not mark the update"
        time.sleep(0.2)
    assert "update available" in owner_client.get(reverse("core:dashboard")).content.decode()
    detail = owner_client.get(reverse("core:app_detail", args=[app.pk])).content.decode()
    assert "update available: 1.1.0" in detail
    page = owner_client.get(reverse("apps_store:app", args=["io.hearth.staticsite"]))
    assert "A newer welcome page." in page.content.decode()
    assert run_action(app, "uninstall").state == "succeeded"
