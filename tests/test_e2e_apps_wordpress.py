"""WordPress with the mysql and sendmail addons, installed through install_app and the real
worker: the install wizard completes over HTTP, a post is published and visible, mail goes out."""

from __future__ import annotations

import mailbox
import xmlrpc.client

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

PASSWORD = "Hearth-e2e-Correct-Horse-42!"
ADMIN_EMAIL = "owner@example.com"


def test_wordpress_wizard_completes_a_post_is_visible_and_survives_restart(
    worker, addon_services, mail_relay, publish_bundled, domain, docker_runtime
):
    app, task = install_and_wait(publish_bundled("wordpress"), "blog", domain)
    assert task.state == Task.State.SUCCEEDED, task.error

    container_name = app_container(docker_runtime, app)

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
    # The wizard's mail goes out as the app's own address (wp-cron may send others later).
    welcome = [m for m in sent if "New WordPress Site" in (m["Subject"] or "")]
    assert all(m["From"].endswith(f"blog.app@{domain.name}>") for m in welcome), [
        m["From"] for m in sent
    ]

    # What the scheduler addon runs every five minutes (wp-cron is off for page views).
    cron = app.manifest["addons"]["scheduler"]["wpcron"]["command"]
    code, output = docker_runtime.exec_in_container(container_name, ["sh", "-c", cron])
    assert code == 0 and "Warning" not in output, output

    assert run_action(app, "restart").state == Task.State.SUCCEEDED
    assert visible()
    assert recreate_container(app).state == Task.State.SUCCEEDED
    assert visible()

    assert run_action(app, "uninstall").state == Task.State.SUCCEEDED
    assert docker_runtime.app_resources(app.id.hex).empty
