"""Hearth as an OpenID Connect provider for apps (the oidc addon), through its real HTTP
endpoints: discovery, authorize with a signed-in session, token, ID token signature, userinfo;
and the app's access rule applied at the authorization step."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
import pytest
from allauth.idp.oidc.models import Client
from django.conf import settings

from addons.services import app_addon_env, provision_app_addons, teardown_app_addons
from panel.accounts.models import AppAccess
from panel.accounts.services import create_group, set_app_access
from panel.core.models import AppInstance, Event

pytestmark = pytest.mark.django_db(transaction=True)

DASHBOARD = "my.localhost"
PORT = settings.HEARTH_HTTP_LISTEN.rsplit(":", 1)[-1]
CALLBACK = f"http://wiki.localhost:{PORT}/callback"


@pytest.fixture
def app(domain):
    app = AppInstance.objects.create(
        store_app_id="org.example.wiki",
        title="Wiki",
        version="1.0.0",
        manifest={
            "manifestVersion": 2,
            "id": "org.example.wiki",
            "title": "Wiki",
            "version": "1.0.0",
            "healthCheckPath": "/",
            "httpPort": 80,
            "addons": {"oidc": {"loginRedirectUri": "/callback,/other"}},
        },
        image="x",
        subdomain="wiki",
        domain=domain,
        memory_limit=1,
        state="running",
    )
    provision_app_addons(app)
    return app


@pytest.fixture
def credentials(app):
    env = app_addon_env(app)
    return env["OIDC_CLIENT_ID"], env["OIDC_CLIENT_SECRET"]


def authorize(client, client_id: str, redirect_uri: str = CALLBACK):
    query = urlencode(
        {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "openid profile email",
            "state": "s-123",
            "nonce": "n-456",
        }
    )
    return client.get(f"/identity/o/authorize?{query}", HTTP_HOST=DASHBOARD)


def exchange(client, client_id: str, secret: str, code: str):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return client.post(
        "/identity/o/api/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
        },
        HTTP_AUTHORIZATION=f"Basic {basic}",
        HTTP_HOST=DASHBOARD,
    )


def test_the_addon_hands_the_app_every_endpoint_and_its_client(app, credentials):
    env = app_addon_env(app)
    port = settings.HEARTH_HTTP_LISTEN.rsplit(":", 1)[-1]
    issuer = f"http://my.localhost:{port}"
    # Browsers go to the public dashboard; the app's server uses the internal name.
    internal_port = settings.HEARTH_INTERNAL_LISTEN.rsplit(":", 1)[-1]
    internal = f"http://dashboard.hearth.internal:{internal_port}"
    assert env["OIDC_ISSUER"] == issuer
    assert env["OIDC_AUTH_ENDPOINT"] == f"{issuer}/identity/o/authorize"
    assert env["OIDC_DISCOVERY_URL"] == f"{internal}/.well-known/openid-configuration"
    assert env["OIDC_TOKEN_ENDPOINT"] == f"{internal}/identity/o/api/token"
    assert env["OIDC_PROFILE_ENDPOINT"] == f"{internal}/identity/o/api/userinfo"
    assert env["OIDC_KEYS_ENDPOINT"] == f"{internal}/.well-known/jwks.json"
    registered = Client.objects.get(id=credentials[0])
    assert registered.get_redirect_uris() == [
        CALLBACK,
        f"http://wiki.localhost:{PORT}/other",
    ]
    assert registered.check_secret(credentials[1])


def test_discovery_fetched_by_the_internal_name_sends_browsers_to_the_public_dashboard(
    client, credentials
):
    config = client.get(
        "/.well-known/openid-configuration", HTTP_HOST="dashboard.hearth.internal:8080"
    ).json()
    port = settings.HEARTH_HTTP_LISTEN.rsplit(":", 1)[-1]
    assert config["authorization_endpoint"] == f"http://my.localhost:{port}/identity/o/authorize"
    assert config["token_endpoint"] == "http://dashboard.hearth.internal:8080/identity/o/api/token"


def test_discovery_names_the_dashboard_as_issuer(client, credentials):
    config = client.get("/.well-known/openid-configuration", HTTP_HOST=DASHBOARD).json()
    port = settings.HEARTH_HTTP_LISTEN.rsplit(":", 1)[-1]
    assert config["issuer"] == f"http://my.localhost:{port}"
    assert config["authorization_endpoint"].endswith("/identity/o/authorize")


def test_a_signed_in_user_completes_the_authorization_code_flow(
    client, django_user_model, credentials, app
):
    alice = django_user_model.objects.create_user("alice", "alice@example.com", "pw")
    create_group("family", actor=None).user_set.add(alice)
    client.force_login(alice)
    client_id, secret = credentials

    response = authorize(client, client_id)
    assert response.status_code == 302
    back = urlparse(response["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    params = parse_qs(back.query)
    assert params["state"] == ["s-123"]

    tokens = exchange(client, client_id, secret, params["code"][0])
    assert tokens.status_code == 200, tokens.content
    tokens = tokens.json()
    keys = client.get("/.well-known/jwks.json", HTTP_HOST=DASHBOARD).json()["keys"]
    key = jwt.PyJWK(keys[0]).key
    claims = jwt.decode(tokens["id_token"], key, algorithms=["RS256"], audience=client_id)
    assert claims["iss"].startswith("http://my.localhost")
    assert claims["nonce"] == "n-456"

    profile = client.get(
        "/identity/o/api/userinfo",
        HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}",
        HTTP_HOST=DASHBOARD,
    ).json()
    assert profile["preferred_username"] == "alice"
    assert profile["email"] == "alice@example.com"
    assert profile["groups"] == ["family"]
    assert Event.objects.filter(action="sso_grant", app=app, actor=alice).exists()

    # A code is good once.
    assert exchange(client, client_id, secret, params["code"][0]).status_code == 400


def test_someone_outside_the_access_rule_is_refused_by_hearth_not_the_app(
    client, django_user_model, credentials, app
):
    bob = django_user_model.objects.create_user("bob", "bob@example.com", "pw")
    set_app_access(app, mode=AppAccess.Mode.RESTRICTED, users=[], groups=[], actor=None)
    client.force_login(bob)
    response = authorize(client, credentials[0])
    assert response.status_code == 403
    assert "You may not use Wiki" in response.content.decode()
    assert Event.objects.filter(action="sso_refused", app=app, actor=bob).exists()


def test_an_unknown_redirect_uri_is_never_followed(client, django_user_model, credentials):
    client.force_login(django_user_model.objects.create_user("eve", "e@example.com", "pw"))
    response = authorize(client, credentials[0], redirect_uri="http://evil.example/steal")
    assert response.status_code != 302 or "evil.example" not in response["Location"]


def test_an_unknown_client_is_refused(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("eve", "e@example.com", "pw"))
    response = authorize(client, "no-such-client")
    # allauth shows the error on the provider's own page and sends the browser nowhere.
    assert response.status_code != 302
    assert "client" in response.content.decode().lower()
    assert "code=" not in response.get("Location", "")


def test_a_visitor_who_is_not_signed_in_is_sent_to_log_in_first(client, credentials):
    response = authorize(client, credentials[0])
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_uninstall_removes_the_client(app, credentials):
    teardown_app_addons(app)
    assert not Client.objects.filter(id=credentials[0]).exists()


def test_a_bad_redirect_path_in_the_manifest_fails_provisioning_and_leaves_no_client(domain):
    app = AppInstance.objects.create(
        store_app_id="org.example.bad",
        title="Bad",
        version="1.0.0",
        manifest={
            "manifestVersion": 2,
            "id": "org.example.bad",
            "title": "Bad",
            "version": "1.0.0",
            "healthCheckPath": "/",
            "httpPort": 80,
            "addons": {"oidc": {"loginRedirectUri": "callback"}},
        },
        image="x",
        subdomain="bad",
        domain=domain,
        memory_limit=1,
    )
    # The manifest schema catches it before anything is made.
    with pytest.raises(Exception, match='expected a path starting with "/"'):
        provision_app_addons(app)
    assert not Client.objects.exists()


def test_client_secrets_are_stored_hashed_with_the_generated_secret_hasher(credentials):
    stored = Client.objects.get(id=credentials[0]).secret
    assert stored.startswith("sha256_generated_secret$")
    assert credentials[1] not in stored
