"""nginx configuration text for Hearth's own nginx. Pure functions, no Django, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*$")

PROXY_HEADERS = """\
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $host;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_read_timeout 3600s;
        proxy_send_timeout 3600s;"""


@dataclass(frozen=True)
class NginxLayout:
    directory: str
    listen: str
    mime_types: str = "/etc/nginx/mime.types"

    @property
    def sites(self) -> str:
        return f"{self.directory}/sites"


def _check_host(name: str) -> str:
    if not _SAFE_NAME.match(name) or ".." in name:
        raise ValueError(f"refusing to write an nginx server_name of {name!r}")
    return name


def render_main_config(layout: NginxLayout) -> str:
    d = layout.directory
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

    # Keep-alive to upstreams needs an empty Connection header; websockets need "upgrade".
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      '';
    }}

    server {{
        listen {layout.listen} default_server;
        server_name _;
        default_type text/plain;
        return 404 "No app lives at this address.\\n";
    }}

    include {layout.sites}/*.conf;
}}
"""


def render_app_server_block(
    *, name: str, server_name: str, listen: str, address: str, port: int
) -> str:
    """Proxy `server_name` to the app container's address on its network, with keep-alive."""
    upstream = f"app_{_check_host(name).replace('-', '_').replace('.', '_')}"
    return f"""\
# Written by Hearth for app {name}; changes are overwritten.
upstream {upstream} {{
    server {address}:{int(port)};
    keepalive 64;
}}

server {{
    listen {listen};
    server_name {_check_host(server_name)};

    location / {{
        proxy_pass http://{upstream};
{PROXY_HEADERS}
    }}
}}
"""


def render_stopped_app_block(*, name: str, server_name: str, listen: str, title: str) -> str:
    """What a stopped app's address shows instead of a connection error."""
    safe_title = re.sub(r"[^\w .,'()-]", "", title)[:80]
    return f"""\
# Written by Hearth for app {_check_host(name)} (stopped); changes are overwritten.
server {{
    listen {listen};
    server_name {_check_host(server_name)};
    default_type text/plain;
    return 503 "{safe_title} is stopped. Start it from the Hearth dashboard.\\n";
}}
"""


def render_dashboard_block(*, server_names: list[str], listen: str, panel_address: str) -> str:
    names = " ".join(_check_host(n) for n in server_names)
    return f"""\
# Written by Hearth for the dashboard; changes are overwritten.
upstream hearth_panel {{
    server {panel_address};
    keepalive 16;
}}

server {{
    listen {listen};
    server_name {names};

    location / {{
        proxy_pass http://hearth_panel;
{PROXY_HEADERS}
    }}
}}
"""
