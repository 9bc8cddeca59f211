"""Which nginx site files Hearth's apps and dashboard need, in Hearth's terms."""

from __future__ import annotations

from django.conf import settings

from panel.proxy.nginx import get_nginx
from panel.proxy.render import (
    LoginWall,
    render_app_server_block,
    render_dashboard_block,
    render_stopped_app_block,
)
from panel.runtime.spec import INTERNAL_DASHBOARD_HOST

DASHBOARD_SITE = "dashboard"


def app_site_name(app) -> str:
    return f"app-{app.id.hex}"


def _tls_arguments(app) -> dict:
    """HTTPS when the app has a certificate; port 80 always answers ACME challenges; the
    app's aliases and redirects."""
    from panel.domains.services import app_hostnames, app_tls_files

    layout = get_nginx().layout
    others = app_hostnames(app)[1:]
    return {
        "tls": app_tls_files(app),
        "tls_listen": layout.tls_listen,
        "acme_root": layout.acme_challenges,
        "aliases": [host.fqdn for host in others if not host.redirect],
        "redirects": [host.fqdn for host in others if host.redirect],
    }


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
            login_wall=_login_wall(app),
            **_tls_arguments(app),
        ),
    )


def _login_wall(app) -> LoginWall | None:
    options = (app.manifest.get("addons") or {}).get("proxyAuth")
    if options is None:
        return None
    return LoginWall(panel_address=settings.HEARTH_PANEL_BIND, path=options.get("path") or "/")


def write_stopped_app_site(app) -> None:
    nginx = get_nginx()
    nginx.apply_site(
        app_site_name(app),
        render_stopped_app_block(
            name=app.id.hex,
            server_name=app.fqdn,
            listen=nginx.layout.listen,
            title=app.title,
            **_tls_arguments(app),
        ),
    )


def refresh_app_site(app) -> None:
    """Rewrite a running or stopped app's site (after its certificate changed)."""
    from panel.runtime.containers import get_runtime
    from panel.runtime.spec import app_resource_names

    if app.state == "running":
        names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
        write_app_site(app, get_runtime().container_address(names.container, names.network))
    elif app.state == "stopped":
        write_stopped_app_site(app)


def remove_app_site(app) -> None:
    get_nginx().remove_site(app_site_name(app))


def write_dashboard_site(domain_names: list[str]) -> None:
    """my.<domain> for every domain: over HTTPS for domains whose domain-wide certificate
    covers it, plain HTTP for the others."""
    from panel.domains.certificates import name_is_covered
    from panel.domains.models import Certificate
    from panel.domains.services import tls_files

    nginx = get_nginx()
    layout = nginx.layout
    certificates = {
        c.domain.name: c
        for c in Certificate.objects.filter(
            app__isnull=True, domain__name__in=domain_names
        ).select_related("domain")
    }
    plain, secure = [], []
    for domain_name in domain_names:
        host = f"{settings.HEARTH_DASHBOARD_SUBDOMAIN}.{domain_name}"
        certificate = certificates.get(domain_name)
        if certificate is not None and name_is_covered(host, certificate.names):
            secure.append(([host], tls_files(certificate)))
        else:
            plain.append(host)
    # App containers reach the dashboard by this name over plain HTTP on their own network,
    # on the same socket as everyone else unless a separate one is set.
    internal_apart = layout.listen != settings.HEARTH_INTERNAL_LISTEN
    if not internal_apart:
        plain.append(INTERNAL_DASHBOARD_HOST)
    groups = ([(plain, None)] if plain else []) + secure
    blocks = [
        render_dashboard_block(
            server_names=names,
            listen=layout.listen,
            panel_address=settings.HEARTH_PANEL_BIND,
            tls=tls,
            tls_listen=layout.tls_listen,
            acme_root=layout.acme_challenges,
            with_upstream=index == 0,
        )
        for index, (names, tls) in enumerate(groups)
    ]
    if internal_apart:
        blocks.append(
            render_dashboard_block(
                server_names=[INTERNAL_DASHBOARD_HOST],
                listen=settings.HEARTH_INTERNAL_LISTEN,
                panel_address=settings.HEARTH_PANEL_BIND,
                with_upstream=not blocks,
            )
        )
    nginx.apply_site(DASHBOARD_SITE, "\n".join(blocks))
