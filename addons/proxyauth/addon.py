"""proxyAuth: apps without a login of their own sit behind Hearth's login.

Nothing is provisioned: the proxy writes the login wall into the app's nginx server block
(panel.proxy.render.render_login_wall) and the checks are answered by addons.proxyauth.views.
"""

from __future__ import annotations

from addons.base import Addon
from addons.models import AddonInstance
from addons.registry import register
from panel.core.models import AppInstance


@register
class ProxyAuthAddon(Addon):
    name = "proxyAuth"
    description = (
        "A login wall in front of the app: only people the app's access rule allows get "
        "through; the app receives their username in X-Remote-User."
    )
    options = {
        "path": "protect only this path (default: the whole app)",
        "basicAuth": "also accept HTTP Basic credentials (account or app password)",
        "supportsBearerAuth": "pass requests with a Bearer token through to the app",
    }

    def provision(self, app: AppInstance, instance: AddonInstance) -> None:
        return None

    def teardown(self, app: AppInstance, instance: AddonInstance) -> None:
        return None
