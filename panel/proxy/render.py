"""nginx configuration text for Hearth's own nginx. Pure functions, no Django, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

from panel.runtime.spec import INTERNAL_DASHBOARD_HOST

_SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*$")

# $http_host, not $host: it keeps a non-standard port, which the dashboard's CSRF check and
# apps that build absolute URLs need.
PROXY_HEADERS = """\
        proxy_http_version 1.1;
        proxy_set_header Host $http_host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $host;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_read_timeout 3600s;
        proxy_send_timeout 3600s;"""


# Mozilla's "intermediate" profile (TLS 1.2 and 1.3, forward-secret AEAD ciphers only). The
# DHE suites are left out: they need a dhparam file and add nothing for current clients.
TLS_SETTINGS = """\
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:\
ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
    ssl_prefer_server_ciphers off;
    ssl_session_cache shared:HearthTLS:10m;
    ssl_session_timeout 1d;
    ssl_session_tickets off;"""

HSTS = '    add_header Strict-Transport-Security "max-age=63072000" always;'

# The dashboard serves only its own scripts and styles; htmx adds an inline indicator style.
# form-action also names the apps' domains: signing in to an app (OIDC, the login wall) is a
# form on the dashboard whose redirects end at the app, and browsers apply form-action to
# the whole redirect chain.
DASHBOARD_HEADERS = """\
    add_header Content-Security-Policy "default-src 'self'; img-src 'self' data:; \
style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; \
frame-ancestors 'none'; base-uri 'self'; form-action 'self' {app_sources}" always;
    add_header X-Frame-Options "DENY" always;
    add_header Referrer-Policy "same-origin" always;
    add_header X-Content-Type-Options "nosniff" always;"""


@dataclass(frozen=True)
class NginxLayout:
    directory: str
    listen: str
    mime_types: str = "/etc/nginx/mime.types"
    # Where HTTPS server blocks listen; empty: no HTTPS at all.
    tls_listen: str = ""

    @property
    def sites(self) -> str:
        return f"{self.directory}/sites"

    @property
    def certs(self) -> str:
        return f"{self.directory}/certs"

    @property
    def acme_challenges(self) -> str:
        """HTTP-01 answers: one file per token, served on port 80 for every host."""
        return f"{self.directory}/acme-challenge"


@dataclass(frozen=True)
class TlsFiles:
    certificate: str
    key: str


def https_port(tls_listen: str) -> int:
    return int(tls_listen.rsplit(":", 1)[-1])


def _https_origin_suffix(tls_listen: str) -> str:
    port = https_port(tls_listen)
    return "" if port == 443 else f":{port}"


def _acme_location(layout_or_root: NginxLayout | str) -> str:
    root = (
        layout_or_root.acme_challenges
        if isinstance(layout_or_root, NginxLayout)
        else layout_or_root
    )
    return f"""\
    location ^~ /.well-known/acme-challenge/ {{
        alias {root}/;
        default_type text/plain;
        try_files $uri =404;
    }}"""


def _redirect_to_https(tls_listen: str) -> str:
    return f"""\
    location / {{
        return 301 https://$host{_https_origin_suffix(tls_listen)}$request_uri;
    }}"""


def _tls_server_lines(tls_listen: str, tls: TlsFiles) -> str:
    return f"""\
    listen {tls_listen} ssl;
    ssl_certificate {tls.certificate};
    ssl_certificate_key {tls.key};
{HSTS}"""


def _check_host(name: str) -> str:
    if not _SAFE_NAME.match(name) or ".." in name:
        raise ValueError(f"refusing to write an nginx server_name of {name!r}")
    return name


def render_main_config(layout: NginxLayout) -> str:
    d = layout.directory
    tls_default = ""
    if layout.tls_listen:
        # A name without a certificate must not be answered with some other app's one.
        tls_default = f"""
{TLS_SETTINGS}

    server {{
        listen {layout.tls_listen} ssl default_server;
        server_name _;
        ssl_reject_handshake on;
    }}
"""
    return f"""\
# Written by Hearth; changes are overwritten.
worker_processes auto;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;

events {{
    worker_connections 4096;
}}

http {{
    include {layout.mime_types};
    default_type application/octet-stream;
    access_log {d}/logs/access.log combined buffer=64k flush=5s;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 10000;
    server_tokens off;
    client_max_body_size 2g;
    server_names_hash_bucket_size 128;

    # Password guessing and API floods slow down per client address (dashboard only).
    limit_req_zone $binary_remote_addr zone=hearth_login:10m rate=10r/m;
    limit_req_zone $binary_remote_addr zone=hearth_api:10m rate=20r/s;
    limit_req_status 429;

    # Keep-alive to upstreams needs an empty Connection header; websockets need "upgrade".
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      '';
    }}

    server {{
        listen {layout.listen} default_server;
        server_name _;
        default_type text/plain;
        # Answers HTTP-01 challenges for names that have no server block yet.
{_acme_location(layout)}
        location / {{
            return 404 "No app lives at this address.\\n";
        }}
    }}
{tls_default}
    include {layout.sites}/*.conf;
}}
"""


def _http_and_https_servers(
    *,
    server_name: str,
    listen: str,
    body: str,
    tls: TlsFiles | None,
    tls_listen: str,
    acme_root: str,
    extra_headers: str = "",
) -> str:
    """The server blocks for one name: `body` over HTTP, or over HTTPS with port 80 left
    only for ACME challenges and a redirect."""
    acme = _acme_location(acme_root) + "\n" if acme_root else ""
    headers = extra_headers + "\n" if extra_headers else ""
    if tls is None or not tls_listen:
        return f"""\
server {{
    listen {listen};
    server_name {server_name};
{headers}{acme}{body}
}}
"""
    return f"""\
server {{
    listen {listen};
    server_name {server_name};
{acme}{_redirect_to_https(tls_listen)}
}}

server {{
{_tls_server_lines(tls_listen, tls)}
    server_name {server_name};
{headers}{body}
}}
"""


@dataclass(frozen=True)
class LoginWall:
    """The proxyAuth addon: nginx asks the panel (auth_request) before passing a request on."""

    panel_address: str
    path: str = "/"


_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")


def render_login_wall(wall: LoginWall, *, name: str, upstream: str) -> str:
    if not _SAFE_PATH.match(wall.path):
        raise ValueError(f"refusing to protect the path {wall.path!r}")
    panel = wall.panel_address
    protected = f"""\
    location {wall.path} {{
        auth_request /.hearth-sso/check;
        auth_request_set $hearth_user $upstream_http_x_hearth_user;
        error_page 401 = @hearth_login;
        proxy_pass http://{upstream};
{PROXY_HEADERS}
        proxy_set_header X-Remote-User $hearth_user;
    }}"""
    # With a path, the rest of the app stays open.
    open_rest = (
        ""
        if wall.path == "/"
        else f"""
    location / {{
        proxy_pass http://{upstream};
{PROXY_HEADERS}
    }}"""
    )
    return f"""\
    location = /.hearth-sso/check {{
        internal;
        proxy_pass http://{panel}/sso/proxy-auth/check?app={_check_host(name)};
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        proxy_set_header Host $host;
        proxy_set_header X-Original-URI $request_uri;
    }}

    location ^~ /.hearth-sso/ {{
        proxy_pass http://{panel}/sso/proxy-auth/;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Real-IP $remote_addr;
    }}

    location @hearth_login {{
        # A named location cannot proxy_pass to a URI; the rewrite supplies it.
        rewrite ^ /sso/proxy-auth/login?app={_check_host(name)} break;
        proxy_pass http://{panel};
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Original-URI $request_uri;
    }}

{protected}{open_rest}"""


def _redirect_servers(
    *,
    names: list[str],
    target: str,
    listen: str,
    tls: TlsFiles | None,
    tls_listen: str,
    acme_root: str,
) -> str:
    """Server blocks sending `names` to the app's main name (`target`), over HTTP and, when
    the app's certificate covers them, over HTTPS too."""
    if not names:
        return ""
    server_names = " ".join(_check_host(n) for n in names)
    acme = _acme_location(acme_root) + "\n" if acme_root else ""
    body = f"""\
    location / {{
        return 301 {target}$request_uri;
    }}"""
    text = f"""
server {{
    listen {listen};
    server_name {server_names};
{acme}{body}
}}
"""
    if tls is not None and tls_listen:
        text += f"""
server {{
{_tls_server_lines(tls_listen, tls)}
    server_name {server_names};
{body}
}}
"""
    return text


def _origin(server_name: str, listen: str, tls: TlsFiles | None, tls_listen: str) -> str:
    if tls is not None and tls_listen:
        return f"https://{server_name}{_https_origin_suffix(tls_listen)}"
    port = int(listen.rsplit(":", 1)[-1])
    return f"http://{server_name}" + ("" if port == 80 else f":{port}")


def render_app_server_block(
    *,
    name: str,
    server_name: str,
    listen: str,
    address: str,
    port: int,
    tls: TlsFiles | None = None,
    tls_listen: str = "",
    acme_root: str = "",
    # Other names served by the app, and names that redirect to server_name.
    aliases: tuple[str, ...] | list[str] = (),
    redirects: tuple[str, ...] | list[str] = (),
    login_wall: LoginWall | None = None,
) -> str:
    """Proxy `server_name` to the app container's address on its network, with keep-alive;
    over HTTPS (HTTP redirecting) when the app has a certificate; behind Hearth's login when
    the app has the proxyAuth addon."""
    upstream = f"app_{_check_host(name).replace('-', '_').replace('.', '_')}"
    if login_wall is None:
        body = f"""\
    location / {{
        proxy_pass http://{upstream};
{PROXY_HEADERS}
    }}"""
    else:
        body = render_login_wall(login_wall, name=name, upstream=upstream)
    servers = _http_and_https_servers(
        server_name=" ".join(_check_host(n) for n in [server_name, *aliases]),
        listen=listen,
        body=body,
        tls=tls,
        tls_listen=tls_listen,
        acme_root=acme_root,
    ) + _redirect_servers(
        names=list(redirects),
        target=_origin(server_name, listen, tls, tls_listen),
        listen=listen,
        tls=tls,
        tls_listen=tls_listen,
        acme_root=acme_root,
    )
    return f"""\
# Written by Hearth for app {name}; changes are overwritten.
upstream {upstream} {{
    server {address}:{int(port)};
    keepalive 64;
}}

{servers}"""


def render_stopped_app_block(
    *,
    name: str,
    server_name: str,
    listen: str,
    title: str,
    tls: TlsFiles | None = None,
    tls_listen: str = "",
    acme_root: str = "",
    # Other names served by the app, and names that redirect to server_name.
    aliases: tuple[str, ...] | list[str] = (),
    redirects: tuple[str, ...] | list[str] = (),
) -> str:
    """What a stopped app's address shows instead of a connection error."""
    safe_title = re.sub(r"[^\w .,'()-]", "", title)[:80]
    body = f"""\
    location / {{
        default_type text/plain;
        return 503 "{safe_title} is stopped. Start it from the Hearth dashboard.\\n";
    }}"""
    servers = _http_and_https_servers(
        server_name=" ".join(_check_host(n) for n in [server_name, *aliases, *redirects]),
        listen=listen,
        body=body,
        tls=tls,
        tls_listen=tls_listen,
        acme_root=acme_root,
    )
    header = f"# Written by Hearth for app {_check_host(name)} (stopped); changes are overwritten."
    return f"{header}\n{servers}"


def render_dashboard_block(
    *,
    server_names: list[str],
    listen: str,
    panel_address: str,
    tls: TlsFiles | None = None,
    tls_listen: str = "",
    acme_root: str = "",
    with_upstream: bool = True,
) -> str:
    """The dashboard's server blocks; several calls (one per certificate) share one file,
    so only the first brings the upstream."""
    names = " ".join(_check_host(n) for n in server_names)
    body = f"""\
    location / {{
        proxy_pass http://hearth_panel;
{PROXY_HEADERS}
    }}

    location /accounts/login/ {{
        limit_req zone=hearth_login burst=5 nodelay;
        proxy_pass http://hearth_panel;
{PROXY_HEADERS}
    }}

    location /api/ {{
        limit_req zone=hearth_api burst=40 nodelay;
        proxy_pass http://hearth_panel;
{PROXY_HEADERS}
    }}"""
    servers = _http_and_https_servers(
        server_name=names,
        listen=listen,
        body=body,
        tls=tls,
        tls_listen=tls_listen,
        acme_root=acme_root,
        extra_headers=DASHBOARD_HEADERS.format(
            app_sources=" ".join(
                f"*.{name.split('.', 1)[1]}:*"
                for name in server_names
                if name.count(".") >= 1 and name != INTERNAL_DASHBOARD_HOST
            )
        ),
    )
    if not with_upstream:
        return servers
    return f"""\
# Written by Hearth for the dashboard; changes are overwritten.
upstream hearth_panel {{
    server {panel_address};
    keepalive 16;
}}

{servers}"""
