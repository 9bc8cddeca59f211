"""A clone of an app with tcpPorts/udpPorts gets host ports of its own: the source keeps its
ports, a port the owner picks that is taken is refused by field and nothing is made."""

from __future__ import annotations

import pytest
from django.urls import reverse

from panel.backups.clone import create_app_from_snapshot
from panel.backups.models import Backup, BackupTarget
from panel.core.models import AppInstance, Task
from panel.core.services import ActionRejected

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(domain, publish):
    release = publish("tcpecho")
    app = AppInstance.objects.create(
        store_app_id=release.store_app.app_id,
        title="Echo",
        version=release.version,
        manifest=release.manifest,
        image=release.pinned_image,
        subdomain="echo",
        domain=domain,
        memory_limit=64 << 20,
        state="running",
        host_ports={name: spec["defaultValue"] for name, spec in ports(release.manifest)},
    )
    target = BackupTarget.objects.create(name="disk", kind="filesystem", path="/nowhere")
    backup = Backup.objects.create(
        app=app,
        app_label=str(app),
        app_uid=app.id.hex,
        target=target,
        snapshot_id="f" * 64,
        app_version=app.version,
    )
    return app, backup


def ports(manifest):
    return [*manifest.get("tcpPorts", {}).items(), *manifest.get("udpPorts", {}).items()]


def configuration(app: AppInstance) -> dict:
    return {
        "store_app_id": app.store_app_id,
        "title": app.title,
        "version": app.version,
        "manifest": app.manifest,
        "image": app.image,
        "memory_limit": app.memory_limit,
        "host_ports": dict(app.host_ports),
    }


def test_a_clone_beside_its_source_takes_the_next_free_ports(source, domain):
    app, backup = source
    clone = create_app_from_snapshot(
        configuration(app), backup=backup, subdomain="echo2", domain=domain, kind=Task.Kind.CLONE
    )
    assert set(clone.host_ports) == set(app.host_ports)
    for name, port in clone.host_ports.items():
        assert port != app.host_ports[name]
        assert port > app.host_ports[name]


def test_a_taken_port_chosen_for_the_clone_is_refused_by_field_and_nothing_is_made(source, domain):
    app, backup = source
    name, port = next(iter(app.host_ports.items()))
    with pytest.raises(ActionRejected) as refused:
        create_app_from_snapshot(
            configuration(app),
            backup=backup,
            subdomain="echo2",
            domain=domain,
            kind=Task.Kind.CLONE,
            host_ports={name: port},
        )
    assert f"host_ports.{name}" in refused.value.errors
    assert "already used by" in refused.value.errors[f"host_ports.{name}"]
    assert AppInstance.objects.count() == 1 and not Task.objects.exists()


def test_the_clone_form_offers_free_ports(source, owner_client):
    app, backup = source
    page = owner_client.get(reverse("backups:app_clone", args=[app.pk, backup.pk]))
    assert page.status_code == 200
    name, port = next(iter(app.host_ports.items()))
    field = page.context["form"][f"host_ports.{name}"]
    assert field.initial != port
