"""ldap: the app reads users and groups from Hearth's LDAP directory and checks passwords there.

Each app gets its own bind DN and password; the directory only lets people in whom the app's
access rule allows (addons.ldap.server).
"""

from __future__ import annotations

import secrets

from django.conf import settings

from addons.base import Addon
from addons.ldap import directory
from addons.models import AddonInstance
from addons.registry import register
from panel.core.models import AppInstance
from panel.envconfig import env_int
from panel.runtime import services as runtime_services
from panel.runtime.firewall import allow_app_to_host_port
from panel.runtime.spec import app_resource_names

DEFAULT_PORT = 3890


def ldap_port() -> int:
    return env_int("HEARTH_LDAP_PORT", DEFAULT_PORT)


@register
class LdapAddon(Addon):
    name = "ldap"
    description = (
        "Users and groups over LDAP (read-only), with a bind account of the app's own; only "
        "people the app's access rule allows can sign in."
    )
    variables = (
        "LDAP_SERVER",
        "LDAP_HOST",
        "LDAP_PORT",
        "LDAP_URL",
        "LDAP_USERS_BASE_DN",
        "LDAP_GROUPS_BASE_DN",
        "LDAP_BIND_DN",
        "LDAP_BIND_PASSWORD",
    )

    def start_service(self) -> None:
        allow_app_to_host_port(ldap_port())

    def provision(self, app: AppInstance, instance: AddonInstance) -> None:
        instance.ensure_credentials({"bind_password": secrets.token_urlsafe(24)})
        allow_app_to_host_port(ldap_port())

    def env(self, app: AppInstance, instance: AddonInstance) -> dict[str, str]:
        network = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).network
        # The host's address on the app's own network: the server listens there for it.
        host = runtime_services.network_gateway(network)
        return {
            "LDAP_SERVER": host,
            "LDAP_HOST": host,
            "LDAP_PORT": str(ldap_port()),
            "LDAP_URL": f"ldap://{host}:{ldap_port()}",
            "LDAP_USERS_BASE_DN": directory.USERS_DN,
            "LDAP_GROUPS_BASE_DN": directory.GROUPS_DN,
            "LDAP_BIND_DN": directory.app_bind_dn(app.id.hex),
            "LDAP_BIND_PASSWORD": instance.credentials["bind_password"],
        }

    def teardown(self, app: AppInstance, instance: AddonInstance) -> None:
        # Nothing outside the database: the bind password goes with the addon's row.
        return None
