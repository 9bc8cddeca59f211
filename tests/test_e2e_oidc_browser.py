"""Single sign-on in a real browser: an app whose login is Apache's mod_auth_openidc (a
relying party we did not write) signs people in through Hearth's OpenID Connect provider.
Chromium from Debian, driven by Playwright; the app's server side reaches the provider
through its network's gateway, as on a real Hearth."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import sync_playwright

from panel.accounts.models import AppAccess
from panel.accounts.services import set_app_access
from panel.core.models import Event, Task
from panel.core.services import install_app, request_app_action
from panel.domains.services import ensure_default_domain
from panel.proxy.nginx import get_nginx
from panel.proxy.sites import DASHBOARD_SITE, write_dashboard_site
from panel.runtime.containers import get_runtime
from panel.runtime.spec import app_resource_names
from tests.conftest import wait_for_task

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PORT = settings.HEARTH_HTTP_LISTEN.rsplit(":", 1)[-1]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def oidc_app(worker, publish, nginx, panel_at_bind, django_user_model):
    domain = ensure_default_domain()
    write_dashboard_site([domain.name])
    app = install_app(release=publish("oidcsite"), subdomain="rp", domain=domain)
    task = wait_for_task(app.tasks.get().pk)
    assert task.state == Task.State.SUCCEEDED, task.error
    app.refresh_from_db()
    yield app
    wait_for_task(request_app_action(app, "uninstall").pk)
    get_nginx().remove_site(DASHBOARD_SITE)  # other tests expect no dashboard site in this nginx


def sign_in_through_the_app(app, username: str, password: str, shot: str):
    # Looked up before Playwright runs its event loop in this thread (no ORM inside it).
    container = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        # Every hop of the sign-in, for the failure message: it crosses three servers.
        hops: list[str] = []
        page.on("response", lambda r: hops.append(f"{r.status} {r.request.method} {r.url}"))
        page.on("requestfailed", lambda r: hops.append(f"failed {r.url}: {r.failure}"))
        page.goto(f"http://rp.localhost:{PORT}/private/")
        try:
            page.wait_for_url("**/accounts/login/**", timeout=30000)
        except Exception:  # noqa: BLE001 - Playwright's timeout: say what the app logged
            logs = get_runtime().container_logs(container, tail=20)
            raise AssertionError(f"no login page at {page.url}; the app said:\n{logs}") from None
        assert page.url.startswith(f"http://my.localhost:{PORT}/")
        page.fill("#id_login", username)
        page.fill("#id_password", password)
        page.locator("main form button[type=submit]").click()
        # Signed in, the browser goes on to the provider and (if allowed) back to the app.
        try:
            page.wait_for_url(lambda url: "/accounts/login/" not in url, timeout=30000)
        except Exception:  # noqa: BLE001 - Playwright's timeout: show the hops
            raise AssertionError("still at the login page; hops:\n" + "\n".join(hops)) from None
        page.wait_for_load_state("load")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / shot))
        result = (page.url, page.content())
        browser.close()
    return result


def test_a_person_signs_in_to_the_app_with_their_hearth_account(oidc_app, django_user_model):
    django_user_model.objects.create_user("alice", "alice@example.com", "alice-password-1")
    url, content = sign_in_through_the_app(
        oidc_app, "alice", "alice-password-1", "oidc-signed-in.png"
    )
    assert url == f"http://rp.localhost:{PORT}/private/"
    assert "Hello alice, this is private." in content
    assert Event.objects.filter(action="sso_grant", app=oidc_app, message="OpenID Connect")


def test_someone_outside_the_access_rule_never_reaches_the_app(oidc_app, django_user_model):
    django_user_model.objects.create_user("bob", "bob@example.com", "bob-password-1")
    set_app_access(oidc_app, mode=AppAccess.Mode.RESTRICTED, users=[], groups=[], actor=None)
    url, content = sign_in_through_the_app(oidc_app, "bob", "bob-password-1", "oidc-refused.png")
    assert url.startswith(f"http://my.localhost:{PORT}/identity/o/authorize")
    assert "You may not use" in content
    assert "this is private" not in content
