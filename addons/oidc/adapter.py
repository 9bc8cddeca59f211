"""Hearth's OpenID Connect provider (django-allauth's IdP), fitted to Hearth.

The issuer is the dashboard's own origin (my.<domain>), not whatever host a request came in
on, so tokens issued through the browser and checked by an app's server-side client agree.
Claims carry the Hearth username, email and groups.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlparse

from allauth.core.internal import jwkkit
from allauth.idp.oidc.adapter import DefaultOIDCAdapter
from django.conf import settings

# allauth parses the PEM signing key for every token it issues; loading an RSA key checks it
# and costs ~100 ms, most of an authorization-code round trip. The keys are settings, so
# parse each once per process.
if not hasattr(jwkkit.load_pem, "cache_info"):
    jwkkit.load_pem = lru_cache(maxsize=8)(jwkkit.load_pem)


def dashboard_origin(domain_name: str) -> str:
    listen = settings.HEARTH_HTTP_LISTEN.rsplit(":", 1)[-1]
    port = "" if listen in ("80", "443") else f":{listen}"
    return f"http://{settings.HEARTH_DASHBOARD_SUBDOMAIN}.{domain_name}{port}"


class HearthOIDCAdapter(DefaultOIDCAdapter):
    def get_issuer(self) -> str:
        host = self.request.get_host().split(":")[0] if self.request else ""
        prefix = f"{settings.HEARTH_DASHBOARD_SUBDOMAIN}."
        domain = host[len(prefix) :] if host.startswith(prefix) else settings.HEARTH_DEFAULT_DOMAIN
        return dashboard_origin(domain)

    def populate_server_metadata(self, data: dict) -> None:
        """Browsers are sent to the public dashboard; the back channel (token, keys,
        userinfo) stays on whatever name the app's server used to fetch this document."""
        issuer = self.get_issuer()
        for key in ("authorization_endpoint", "end_session_endpoint"):
            if key in data:
                data[key] = issuer + urlparse(data[key]).path

    def get_claims(self, purpose, user, client, scopes, email=None, **kwargs: Any) -> dict:
        claims = super().get_claims(purpose, user, client, scopes, email=email, **kwargs)
        if "profile" in scopes:
            claims["preferred_username"] = user.get_username()
            claims["groups"] = sorted(user.groups.values_list("name", flat=True))
        if "email" in scopes and "email" not in claims and user.email:
            # Accounts made by the owner have an address but no allauth EmailAddress row.
            claims["email"] = user.email
            claims["email_verified"] = True
        return claims
