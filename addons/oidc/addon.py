"""oidc: the app signs people in with their Hearth account over OpenID Connect.

Installing registers a confidential client for the app with the redirect URIs its manifest
names (loginRedirectUri, relative to the app's origin); uninstalling removes it. The app's
access rule is enforced by Hearth at the authorization step (see addons.oidc.views).
"""

from __future__ import annotations

import secrets

from allauth.idp.oidc.models import Client
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.urls import reverse

from addons.base import Addon, AddonError
from addons.models import AddonInstance
from addons.oidc.adapter import dashboard_origin
from addons.registry import register
from panel.core.models import AppInstance
from panel.domains.services import browser_origin
from panel.runtime.firewall import allow_app_to_host_port
from panel.runtime.spec import INTERNAL_DASHBOARD_HOST

SCOPES = ["openid", "profile", "email"]


def allow_dashboard_to_apps() -> None:
    """The app's server side fetches keys and tokens from the dashboard, i.e. this host's
    nginx (reached through the app network's gateway, see runtime.spec)."""
    for listen in (settings.HEARTH_INTERNAL_LISTEN, getattr(settings, "HEARTH_HTTPS_LISTEN", "")):
        if listen:
            allow_app_to_host_port(int(listen.rsplit(":", 1)[-1]))


def redirect_uris(app: AppInstance, option: str) -> list[str]:
    paths = [p.strip() for p in option.split(",") if p.strip()] or ["/"]
    for path in paths:
        if not path.startswith("/"):
            raise AddonError(f"oidc: loginRedirectUri {path!r} must be a path starting with /")
    origin = browser_origin(app)  # what the browser is sent back to
    return [f"{origin}{path}" for path in paths]


@register
class OidcAddon(Addon):
    name = "oidc"
    description = (
        "Sign-in with Hearth accounts over OpenID Connect; only people the app's access rule "
        "allows get through."
    )
    variables = (
        "OIDC_PROVIDER_NAME",
        "OIDC_DISCOVERY_URL",
        "OIDC_ISSUER",
        "OIDC_AUTH_ENDPOINT",
        "OIDC_TOKEN_ENDPOINT",
        "OIDC_KEYS_ENDPOINT",
        "OIDC_PROFILE_ENDPOINT",
        "OIDC_CLIENT_ID",
        "OIDC_CLIENT_SECRET",
    )
    options = {
        "loginRedirectUri": "paths (comma separated) the provider may send people back to",
        "logoutRedirectUri": "path to return to after signing out",
        "tokenSignatureAlgorithm": "RS256 (the provider signs ID tokens with RS256)",
    }

    def start_service(self) -> None:
        allow_dashboard_to_apps()

    def provision(self, app: AppInstance, instance: AddonInstance) -> None:
        allow_dashboard_to_apps()
        uris = redirect_uris(app, instance.options.get("loginRedirectUri", ""))
        client = Client.objects.filter(id=instance.credentials.get("client_id", "")).first()
        if client is None:
            secret = secrets.token_urlsafe(32)
            # A generated 256-bit secret: a fast salted hash is enough (see accounts.hashers).
            client = Client(
                name=f"{app.title} ({app.fqdn})",
                secret=make_password(secret, hasher="sha256_generated_secret"),
            )
            instance.credentials = {"client_id": client.id, "client_secret": secret}
        client.type = Client.Type.CONFIDENTIAL
        client.skip_consent = True  # the owner installed the app; the access rule decides
        client.set_scopes(SCOPES)
        client.set_default_scopes(SCOPES)
        client.grant_types = "\n".join(
            [Client.GrantType.AUTHORIZATION_CODE, Client.GrantType.REFRESH_TOKEN]
        )
        client.response_types = Client.ResponseType.CODE
        client.set_redirect_uris(uris)
        logout = instance.options.get("logoutRedirectUri")
        origin = browser_origin(app)
        client.set_post_logout_redirect_uris([f"{origin}{logout or '/'}"])
        client.data = {"hearth_app": app.id.hex}
        client.save()
        instance.save(update_fields=["credentials", "updated_at"])

    def env(self, app: AppInstance, instance: AddonInstance) -> dict[str, str]:
        issuer = dashboard_origin(app.domain.name)
        # What the app's server fetches goes to the dashboard by its internal name (see
        # runtime.spec); what browsers are sent to stays the public dashboard.
        port = settings.HEARTH_INTERNAL_LISTEN.rsplit(":", 1)[-1]
        internal = f"http://{INTERNAL_DASHBOARD_HOST}" + ("" if port == "80" else f":{port}")
        return {
            "OIDC_PROVIDER_NAME": "Hearth",
            "OIDC_ISSUER": issuer,
            "OIDC_DISCOVERY_URL": f"{internal}{reverse('idp:oidc:configuration')}",
            "OIDC_AUTH_ENDPOINT": f"{issuer}{reverse('idp:oidc:authorization')}",
            "OIDC_TOKEN_ENDPOINT": f"{internal}{reverse('idp:oidc:token')}",
            "OIDC_KEYS_ENDPOINT": f"{internal}{reverse('idp:oidc:jwks')}",
            "OIDC_PROFILE_ENDPOINT": f"{internal}{reverse('idp:oidc:userinfo')}",
            "OIDC_CLIENT_ID": instance.credentials["client_id"],
            "OIDC_CLIENT_SECRET": instance.credentials["client_secret"],
        }

    def teardown(self, app: AppInstance, instance: AddonInstance) -> None:
        Client.objects.filter(id=instance.credentials.get("client_id", "")).delete()
