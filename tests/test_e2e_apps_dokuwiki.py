"""DokuWiki installed through install_app and the real worker, used over HTTP through nginx."""

from __future__ import annotations

import re

import pytest

from panel.core.models import Task
from panel.core.states import AppState
from tests.fixtures_store import (
    AppClient,
    app_container,
    install_and_wait,
    recreate_container,
    run_action,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGE = "hearth:notes"
MARKER = "Kept across restarts: hearth-e2e-7f3a"


def hidden_fields(html: str, form_id: str) -> dict[str, str]:
    form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', html, re.S)
    assert form, f"no form {form_id} in the page"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0)))


def test_dokuwiki_keeps_a_page_written_over_http_across_restart_and_recreation(
    worker, publish_bundled, domain, docker_runtime
):
    app, task = install_and_wait(publish_bundled("dokuwiki"), "wiki", domain)
    assert task.state == Task.State.SUCCEEDED, task.error
    assert app.state == AppState.RUNNING

    container_name = app_container(docker_runtime, app)
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

    assert run_action(app, "restart").state == Task.State.SUCCEEDED
    assert MARKER in page_text()

    # A new container from the same image (the retry path re-creates it) keeps the page.
    assert recreate_container(app).state == Task.State.SUCCEEDED
    assert MARKER in page_text()

    assert run_action(app, "uninstall").state == Task.State.SUCCEEDED
    assert docker_runtime.app_resources(app.id.hex).empty
