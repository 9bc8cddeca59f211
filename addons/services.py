"""The addons of an installed app: provisioned at install, handed over as env, torn down at
uninstall. (Placeholder until the addon registry lands: no addon needs provisioning yet.)"""

from __future__ import annotations


def provision_app_addons(app, progress=None) -> None:
    """Provision every addon the app's manifest lists that it does not have yet (idempotent)."""


def app_addon_env(app) -> dict[str, str]:
    """Unprefixed variables (MYSQL_URL...) of the app's provisioned addons."""
    return {}


def teardown_app_addons(app, progress=None) -> None:
    """Remove every addon resource of the app (databases, users, containers, volumes)."""
