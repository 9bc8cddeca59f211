"""MediaWiki on the postgresql addon, installed through install_app and the real worker: a page
written through its HTTP API is still there after restart and re-creation of the container."""

from __future__ import annotations

import pytest

from panel.core.models import Task
from tests.fixtures_store import (
    AppClient,
    app_container,
    install_and_wait,
    recreate_container,
    run_action,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TITLE = "Hearth_notes"
MARKER = "Kept in PostgreSQL across restarts: hearth-e2e-9c1d"


def api(client: AppClient, method: str = "GET", **params) -> dict:
    params["format"] = "json"
    if method == "GET":
        response = client.get("/api.php", params=params)
    else:
        response = client.post("/api.php", data=params)
    assert response.status_code == 200, response.text[:500]
    return response.json()


def test_mediawiki_keeps_a_page_edited_over_its_api_in_postgresql(
    worker, addon_services, mail_relay, publish_bundled, domain, docker_runtime
):
    app, task = install_and_wait(publish_bundled("mediawiki"), "mw", domain)
    assert task.state == Task.State.SUCCEEDED, task.error

    container_name = app_container(docker_runtime, app)
    _, password = docker_runtime.exec_in_container(
        container_name, ["cat", "/app/data/.initial-admin-password"]
    )

    stranger = AppClient(app.fqdn)
    refused = api(stranger, "POST", action="edit", title=TITLE, text="spam", token="+\\")
    assert refused["error"]["code"] in ("permissiondenied", "cantcreate-anon", "cantcreate")

    wiki = AppClient(app.fqdn)
    login_token = api(wiki, action="query", meta="tokens", type="login")["query"]["tokens"]
    login = api(
        wiki,
        "POST",
        action="clientlogin",
        username="admin",
        password=password.strip(),
        logintoken=login_token["logintoken"],
        loginreturnurl=app.url + "/",
    )
    assert login["clientlogin"]["status"] == "PASS", login
    csrf = api(wiki, action="query", meta="tokens")["query"]["tokens"]["csrftoken"]
    edit = api(wiki, "POST", action="edit", title=TITLE, text=MARKER, token=csrf)
    assert edit["edit"]["result"] == "Success", edit

    def page_text() -> str:
        response = AppClient(app.fqdn).get("/index.php", params={"title": TITLE})
        assert response.status_code == 200
        return response.text

    assert MARKER in page_text()
    assert run_action(app, "restart").state == Task.State.SUCCEEDED
    assert MARKER in page_text()
    assert recreate_container(app).state == Task.State.SUCCEEDED
    assert MARKER in page_text()

    assert run_action(app, "uninstall").state == Task.State.SUCCEEDED
    assert docker_runtime.app_resources(app.id.hex).empty
