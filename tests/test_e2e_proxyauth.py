"""The proxyAuth login wall, end to end: a real app behind Hearth's nginx, nginx asking the
panel (served by daphne where nginx expects it), a person signing in on the dashboard, and the
access rule refusing whoever it does not list — before the app sees a single request."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
import requests
from django.conf import settings

from panel.accounts.models import AppAccess
from panel.accounts.services import set_app_access
from panel.core.models import Event, Task
from panel.core.services import install_app, request_app_action
from tests.conftest import wait_for_task

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NGINX = f"http://{settings.HEARTH_HTTP_LISTEN}"


@pytest.fixture
def protected_app(worker, built_packages, domain, panel_at_bind):
    """The static website, packaged with the proxyAuth addon."""
    from apps_store.manifest import validate_manifest
    from apps_store.services import record_release

    folder, manifest, tag, digest = built_packages["staticsite"]
    walled = validate_manifest(
        {
            **manifest.data,
            "id": "io.hearth.test.walled",
            "title": "Walled Site",
            "addons": {"localstorage": {}, "proxyAuth": {}},
        }
    )
    release = record_release(folder, walled, tag, digest)
    app = install_app(release=release, subdomain="walled", domain=domain)
    task = wait_for_task(app.tasks.get().pk)
    assert task.state == Task.State.SUCCEEDED, task.error
    yield app
    wait_for_task(request_app_action(app, "uninstall").pk)


def via_nginx(path_and_query: str, host: str, cookies=None) -> requests.Response:
    return requests.get(
        f"{NGINX}{path_and_query}",
        headers={"Host": host},
        cookies=cookies,
        allow_redirects=False,
        timeout=10,
    )


def sign_in_through_the_wall(username: str, password: str) -> tuple[requests.Response, dict]:
    """Walk the redirects by hand: glibc does not resolve *.localhost, so each hop is sent
    to the right server with the Host header its URL names."""
    wall = via_nginx("/page.html?x=1", "walled.localhost")
    assert wall.status_code == 302
    login = urlparse(wall.headers["Location"])
    assert login.netloc.startswith("my.localhost")
    panel = requests.Session()
    form = panel.get(
        f"http://{settings.HEARTH_PANEL_BIND}/accounts/login/",
        headers={"Host": "my.localhost"},
        timeout=10,
    )
    panel.post(
        f"http://{settings.HEARTH_PANEL_BIND}/accounts/login/",
        headers={"Host": "my.localhost"},
        timeout=10,
        allow_redirects=False,
        data={
            "login": username,
            "password": password,
            "csrfmiddlewaretoken": form.cookies["csrftoken"],
        },
    )
    grant = panel.get(
        f"http://{settings.HEARTH_PANEL_BIND}{login.path}?{login.query}",
        headers={"Host": "my.localhost"},
        allow_redirects=False,
        timeout=10,
    )
    if grant.status_code != 302:
        return grant, {}
    back = urlparse(grant.headers["Location"])
    assert back.netloc.startswith("walled.localhost")
    callback = via_nginx(f"{back.path}?{back.query}", "walled.localhost")
    return callback, callback.cookies.get_dict()


def test_the_wall_sends_visitors_to_sign_in_and_lets_allowed_people_through(
    protected_app, django_user_model
):
    django_user_model.objects.create_user("alice", "alice@example.com", "alice-password")
    assert via_nginx("/", "walled.localhost").status_code == 302  # nothing reaches the app

    callback, cookies = sign_in_through_the_wall("alice", "alice-password")
    assert callback.status_code == 302
    assert callback.headers["Location"] == "/page.html?x=1"  # back where they were going
    page = via_nginx("/", "walled.localhost", cookies=cookies)
    assert page.status_code == 200
    assert "Welcome to your website" in page.text
    assert Event.objects.filter(
        action="sso_grant", app=protected_app, message="login wall"
    ).exists()

    # A forged or foreign cookie is not a session.
    forged = via_nginx("/", "walled.localhost", cookies={"hearth_sso": "alice"})
    assert forged.status_code == 302


def test_someone_outside_the_access_rule_is_refused_by_the_wall(protected_app, django_user_model):
    alice = django_user_model.objects.create_user("alice", "alice@example.com", "alice-password")
    django_user_model.objects.create_user("bob", "bob@example.com", "bob-password")
    set_app_access(
        protected_app, mode=AppAccess.Mode.RESTRICTED, users=[alice], groups=[], actor=None
    )
    refused, cookies = sign_in_through_the_wall("bob", "bob-password")
    assert refused.status_code == 403
    assert not cookies
    _, alice_cookies = sign_in_through_the_wall("alice", "alice-password")
    assert via_nginx("/", "walled.localhost", cookies=alice_cookies).status_code == 200

    # Taking alice off the list closes the door at her next request, cookie or not.
    set_app_access(protected_app, mode=AppAccess.Mode.RESTRICTED, users=[], groups=[], actor=None)
    assert via_nginx("/", "walled.localhost", cookies=alice_cookies).status_code == 302
