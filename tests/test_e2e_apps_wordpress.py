"""WordPress with the mysql and sendmail addons, installed through install_app and the real
worker: the install wizard completes over HTTP, a post is published and visible, mail goes out."""

from __future__ import annotations

import mailbox
import xmlrpc.client

import pytest
from django.conf import settings

from panel.core.models import AppInstance, Task
from panel.core.services import install_app, request_app_action
from panel.core.states import AppState
from panel.runtime.spec import app_resource_names
from tests.conftest import wait_for_task
from tests.fixtures_store import AppClient

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "Hearth-e2e-Correct-Horse-42!"
ADMIN_EMAIL = "owner@example.com"


def act(app: AppInstance, action: str) -> Task:
    task = wait_for_task(request_app_action(app, action).pk, timeout=180)
    if action != "uninstall":
        app.refresh_from_db()
    return task


def test_wordpress_wizard_completes_a_post_is_visible_and_survives_restart(
    worker, addon_services, mail_relay, publish_bundled, domain, docker_runtime
):
    app = install_app(release=publish_bundled("wordpress"), subdomain="blog", domain=domain)
    task = wait_for_task(app.tasks.get().pk, timeout=240)
    app.refresh_from_db()
    assert task.state == Task.State.SUCCEEDED, task.error

    container_name = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    container = docker_runtime.client.containers.get(container_name)
    assert container.attrs["HostConfig"]["ReadonlyRootfs"] is True
    assert container.attrs["HostConfig"]["CapDrop"] == ["ALL"]
    _, uid = docker_runtime.exec_in_container(container_name, ["id", "-u"])
    assert uid.strip() == "1000"

    site = AppClient(app.fqdn)
    first = site.get("/")
    assert first.status_code == 302 and "/wp-admin/install.php" in first.headers["Location"]
    wizard = site.post(
        "/wp-admin/install.php?step=2",
        data={
            "weblog_title": "Hearth Blog",
            "user_name": "admin",
            "admin_password": PASSWORD,
            "admin_password2": PASSWORD,
            "admin_email": ADMIN_EMAIL,
            "blog_public": "0",
            "Submit": "Install WordPress",
            "language": "",
        },
    )
    assert wizard.status_code == 200
    assert "Success!" in wizard.text, wizard.text[-2000:]

    body = xmlrpc.client.dumps(
        (
            1,
            "admin",
            PASSWORD,
            {
                "post_title": "Hearth e2e post 7f3a",
                "post_content": "Published through XML-RPC by the e2e test.",
                "post_status": "publish",
            },
        ),
        "wp.newPost",
    )
    created = site.post("/xmlrpc.php", data=body.encode(), headers={"Content-Type": "text/xml"})
    assert created.status_code == 200
    (post_id,), _ = xmlrpc.client.loads(created.content)

    def visible() -> bool:
        post = AppClient(app.fqdn).get("/", params={"p": post_id})
        home = AppClient(app.fqdn).get("/")
        return (
            post.status_code == 200
            and "Hearth e2e post 7f3a" in post.text
            and "Hearth e2e post 7f3a" in home.text
            and "Hearth Blog" in home.text
        )

    assert visible()
    # The wizard mailed the admin through the sendmail addon and Hearth's relay.
    sent = [m for m in mailbox.Maildir(mail_relay, create=False) if ADMIN_EMAIL in m["To"]]
    logs = docker_runtime.container_logs(container_name, tail=200).splitlines()
    assert any("New WordPress Site" in (m["Subject"] or "") for m in sent), [
        line for line in logs if "wp_mail failed" in line
    ]
    assert all(m["From"].endswith(f"blog.app@{domain.name}>") for m in sent)

    assert act(app, "restart").state == Task.State.SUCCEEDED
    assert visible()
    AppInstance.objects.filter(pk=app.pk).update(state=AppState.ERROR)
    assert act(app, "retry").state == Task.State.SUCCEEDED
    assert visible()

    assert act(app, "uninstall").state == Task.State.SUCCEEDED
    assert docker_runtime.app_resources(app.id.hex).empty
