"""Which nginx site files Hearth's apps and dashboard need, in Hearth's terms."""

from __future__ import annotations

from django.conf import settings

from panel.proxy.nginx import get_nginx
from panel.proxy.render import (
    render_app_server_block,
    render_dashboard_block,
    render_stopped_app_block,
)

DASHBOARD_SITE = "dashboard"


def app_site_name(app) -> str:
    return f"app-{app.id.hex}"


def write_app_site(app, address: str) -> None:
    nginx = get_nginx()
    nginx.apply_site(
        app_site_name(app),
        render_app_server_block(
            name=app.id.hex,
            server_name=app.fqdn,
            listen=nginx.layout.listen,
            address=address,
            port=app.manifest["httpPort"],
        ),
    )


def write_stopped_app_site(app) -> None:
    nginx = get_nginx()
    nginx.apply_site(
        app_site_name(app),
        render_stopped_app_block(
            name=app.id.hex, server_name=app.fqdn, listen=nginx.layout.listen, title=app.title
        ),
    )


def remove_app_site(app) -> None:
    get_nginx().remove_site(app_site_name(app))


def write_dashboard_site(domain_names: list[str]) -> None:
    nginx = get_nginx()
    nginx.apply_site(
        DASHBOARD_SITE,
        render_dashboard_block(
            server_names=[f"{settings.HEARTH_DASHBOARD_SUBDOMAIN}.{name}" for name in domain_names],
            listen=nginx.layout.listen,
            panel_address=settings.HEARTH_PANEL_BIND,
        ),
    )
