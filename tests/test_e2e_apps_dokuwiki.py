"""DokuWiki installed through install_app and the real worker, used over HTTP through nginx."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from panel.core.models import AppInstance, Task
from panel.core.services import install_app, request_app_action
from panel.core.states import AppState
from panel.runtime.spec import app_resource_names
from tests.conftest import wait_for_task
from tests.fixtures_store import AppClient

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGE = "hearth:notes"
MARKER = "Kept across restarts: hearth-e2e-7f3a"


def hidden_fields(html: str, form_id: str) -> dict[str, str]:
    form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', html, re.S)
    assert form, f"no form {form_id} in the page"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0)))


def act(app: AppInstance, action: str) -> Task:
    task = wait_for_task(request_app_action(app, action).pk, timeout=120)
    if action != "uninstall":
        app.refresh_from_db()
    return task


def test_dokuwiki_keeps_a_page_written_over_http_across_restart_and_recreation(
    worker, publish_bundled, domain, docker_runtime
):
    app = install_app(release=publish_bundled("dokuwiki"), subdomain="wiki", domain=domain)
    task = wait_for_task(app.tasks.get().pk, timeout=180)
    app.refresh_from_db()
    assert task.state == Task.State.SUCCEEDED, task.error
    assert app.state == AppState.RUNNING

    container_name = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    container = docker_runtime.client.containers.get(container_name)
    assert container.attrs["HostConfig"]["ReadonlyRootfs"] is True
    assert container.attrs["HostConfig"]["CapDrop"] == ["ALL"]
    assert not container.attrs["HostConfig"]["CapAdd"]
    code, uid = docker_runtime.exec_in_container(container_name, ["id", "-u"])
    assert uid.strip() == "1000"
    code, password = docker_runtime.exec_in_container(
        container_name, ["cat", "/app/data/.initial-admin-password"]
    )
    assert code == 0 and password.strip()

    wiki = AppClient(app.fqdn)
    assert wiki.get("/doku.php").status_code == 200
    # A stranger may read but not edit: the edit form is only for signed-in users.
    assert "dw__editform" not in wiki.get("/doku.php", params={"id": PAGE, "do": "edit"}).text

    login = wiki.get("/doku.php", params={"id": "start", "do": "login"})
    signed_in = wiki.post(
        "/doku.php",
        data={**hidden_fields(login.text, "dw__login"), "u": "admin", "p": password.strip()},
    )
    assert signed_in.status_code == 302, "admin could not sign in"
    edit = wiki.get("/doku.php", params={"id": PAGE, "do": "edit"})
    saved = wiki.post(
        "/doku.php",
        data={
            **hidden_fields(edit.text, "dw__editform"),
            "wikitext": f"====== Notes ======\n{MARKER}\n",
            "summary": "written by the e2e test",
            "do[save]": "1",
        },
    )
    assert saved.status_code == 302

    def page_text() -> str:
        response = AppClient(app.fqdn).get("/doku.php", params={"id": PAGE})
        assert response.status_code == 200
        return response.text

    assert MARKER in page_text()
    # Written where the contract says: in /app/data, nowhere else.
    code, _ = docker_runtime.exec_in_container(
        container_name, ["test", "-f", "/app/data/data/pages/hearth/notes.txt"]
    )
    assert code == 0

    assert act(app, "restart").state == Task.State.SUCCEEDED
    assert MARKER in page_text()

    # A new container from the same image (the retry path re-creates it) keeps the page.
    AppInstance.objects.filter(pk=app.pk).update(state=AppState.ERROR)
    assert act(app, "retry").state == Task.State.SUCCEEDED
    assert MARKER in page_text()

    assert act(app, "uninstall").state == Task.State.SUCCEEDED
    assert docker_runtime.app_resources(app.id.hex).empty
