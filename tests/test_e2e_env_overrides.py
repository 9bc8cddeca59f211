"""Environment overrides end to end: set on the app page, then through the API, each time
visible inside the recreated container (docker exec env), beside Hearth's own variables."""

from __future__ import annotations

import json
import socket

import pytest
from django.conf import settings
from django.urls import reverse

from panel.core.models import Task
from panel.core.services import install_app, request_app_action
from panel.runtime.spec import app_resource_names
from tests.conftest import wait_for_task
from tests.test_e2e_ports import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def container_env(docker_runtime, app) -> dict[str, str]:
    name = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    code, out = docker_runtime.exec_in_container(name, ["env"])
    assert code == 0, out
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def test_overrides_reach_the_container_after_the_change(
    worker, publish, domain, owner_client, docker_runtime
):
    app = install_app(
        release=publish("tcpecho"),
        subdomain="envy",
        domain=domain,
        host_ports={"ECHO_PORT": free_port(), "UDP_ECHO_PORT": free_port(socket.SOCK_DGRAM)},
    )
    assert wait_for_task(app.tasks.get().pk, timeout=180).state == Task.State.SUCCEEDED
    assert "GREETING" not in container_env(docker_runtime, app)

    response = owner_client.post(
        reverse("domains:app_environment", args=[app.pk]),
        {"env_overrides": "GREETING=hello world\nLOG_LEVEL=debug"},
    )
    assert response.status_code == 302
    task = wait_for_task(app.tasks.order_by("-pk").first().pk, timeout=180)
    assert task.state == Task.State.SUCCEEDED, task.error
    env = container_env(docker_runtime, app)
    assert env["GREETING"] == "hello world" and env["LOG_LEVEL"] == "debug"
    # Hearth's own variables are all still there.
    assert env["HEARTH_APP_DOMAIN"] == app.fqdn and env["ECHO_PORT"] == str(
        app.host_ports["ECHO_PORT"]
    )

    response = owner_client.put(
        reverse("domains_api:app_environment", args=[app.pk]),
        json.dumps({"env_overrides": {"GREETING": "bye"}}),
        content_type="application/json",
    )
    assert response.status_code == 202
    task = wait_for_task(response.json()["task"]["id"], timeout=180)
    assert task.state == Task.State.SUCCEEDED, task.error
    env = container_env(docker_runtime, app)
    assert env["GREETING"] == "bye" and "LOG_LEVEL" not in env

    assert wait_for_task(request_app_action(app, "uninstall").pk).state == Task.State.SUCCEEDED
