"""A security key as second factor, in a real browser: Chromium's virtual authenticator
(WebAuthn over the DevTools protocol) registers a key on the profile, then signing in asks
for it after the password."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.conf import settings
from playwright.sync_api import sync_playwright

from panel.domains.services import ensure_default_domain
from panel.proxy.nginx import get_nginx
from panel.proxy.sites import DASHBOARD_SITE, write_dashboard_site

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PORT = settings.HEARTH_HTTP_LISTEN.rsplit(":", 1)[-1]
DASHBOARD = f"http://my.localhost:{PORT}"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def dashboard(nginx, panel_at_bind):
    write_dashboard_site([ensure_default_domain().name])
    yield DASHBOARD
    get_nginx().remove_site(DASHBOARD_SITE)


def log_in(page, username: str, password: str) -> None:
    page.goto(f"{DASHBOARD}/accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url, timeout=30000)


def test_a_security_key_is_registered_and_then_asked_for_at_sign_in(dashboard, django_user_model):
    django_user_model.objects.create_user("alice", "alice@example.com", "alice-password-1")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        context = browser.new_context()
        page = context.new_page()
        devtools = context.new_cdp_session(page)
        devtools.send("WebAuthn.enable")
        devtools.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "usb",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                }
            },
        )
        log_in(page, "alice", "alice-password-1")
        page.goto(f"{DASHBOARD}/accounts/2fa/webauthn/add/")
        if "/reauthenticate/" in page.url:  # allauth asks for the password again first
            page.fill("#id_password", "alice-password-1")
            page.locator("form button[type=submit]").last.click()
            page.wait_for_url("**/webauthn/add/", timeout=30000)
        page.click("#mfa_webauthn_add")
        page.wait_for_url(lambda url: "/webauthn/add/" not in url, timeout=30000)

        page.context.clear_cookies()
        log_in(page, "alice", "alice-password-1")
        asked = page.url
        page.click("#mfa_webauthn_authenticate")
        page.wait_for_url(lambda url: "/2fa/authenticate/" not in url, timeout=30000)
        signed_in = page.url
        browser.close()
    assert asked.endswith("/accounts/2fa/authenticate/")
    assert signed_in == f"{DASHBOARD}/"
    assert Authenticator.objects.filter(user__username="alice", type="webauthn").count() == 1
