from __future__ import annotations

import shutil

import pytest

from panel.proxy.nginx import Nginx, ProxyError
from panel.proxy.render import (
    NginxLayout,
    render_app_server_block,
    render_dashboard_block,
    render_main_config,
    render_stopped_app_block,
)


def test_app_block_proxies_to_the_container_address_with_upstream_keepalive():
    text = render_app_server_block(
        name="abc123", server_name="blog.localhost", listen="80", address="172.18.0.2", port=8000
    )
    assert "server 172.18.0.2:8000;" in text
    assert "keepalive 64;" in text
    assert "server_name blog.localhost;" in text
    assert "proxy_http_version 1.1;" in text
    # An empty Connection header (via the map) is what lets nginx reuse upstream connections.
    assert "proxy_set_header Connection $connection_upgrade;" in text


def test_main_config_maps_upgrade_to_an_empty_connection_header_by_default():
    text = render_main_config(NginxLayout(directory="/srv/nginx", listen="80"))
    assert "''      '';" in text
    assert "include /srv/nginx/sites/*.conf;" in text
    assert "default_server" in text


@pytest.mark.parametrize("bad", ["evil.com; return 200", "a b", "../x", "UPPER.localhost", ""])
def test_refuses_server_names_that_could_inject_configuration(bad):
    with pytest.raises(ValueError, match="refusing"):
        render_app_server_block(
            name="abc", server_name=bad, listen="80", address="1.2.3.4", port=80
        )


def test_stopped_block_answers_503_and_strips_quotes_from_the_title():
    text = render_stopped_app_block(
        name="abc", server_name="x.localhost", listen="80", title='Evil"; return 200 "x'
    )
    assert "return 503" in text
    assert 'Evil"' not in text


def test_dashboard_block_serves_every_domains_my_host():
    text = render_dashboard_block(
        server_names=["my.a.com", "my.b.org"], listen="80", panel_address="127.0.0.1:8001"
    )
    assert "server_name my.a.com my.b.org;" in text
    assert "server 127.0.0.1:8001;" in text


@pytest.fixture
def stopped_nginx(tmp_path):
    if not shutil.which("nginx") and not shutil.os.path.exists("/usr/sbin/nginx"):
        pytest.fail("nginx is not installed; run the suite with `scripts/hearth test`")
    proxy = Nginx("/usr/sbin/nginx", NginxLayout(directory=str(tmp_path), listen="127.0.0.1:1"))
    proxy._write_main_config()
    return proxy


def test_a_site_nginx_rejects_is_removed_and_the_error_names_it(stopped_nginx):
    with pytest.raises(ProxyError, match="nginx rejected the configuration for app-x"):
        stopped_nginx.apply_site("app-x", "server { this is not nginx }")
    assert not stopped_nginx.site_path("app-x").exists()


def test_a_rejected_change_puts_the_previous_file_back(stopped_nginx):
    good = render_app_server_block(
        name="x", server_name="x.localhost", listen="127.0.0.1:1", address="10.0.0.1", port=80
    )
    stopped_nginx.apply_site("app-x", good)
    with pytest.raises(ProxyError):
        stopped_nginx.apply_site("app-x", good + "\nbroken {")
    assert stopped_nginx.site_path("app-x").read_text() == good


def test_a_login_wall_asks_the_panel_before_every_request_and_nginx_accepts_it(stopped_nginx):
    from panel.proxy.render import LoginWall

    text = render_app_server_block(
        name="abc",
        server_name="wiki.localhost",
        listen="127.0.0.1:1",
        address="10.0.0.2",
        port=80,
        login_wall=LoginWall(panel_address="127.0.0.1:8001", path="/admin"),
    )
    assert "auth_request /.hearth-sso/check;" in text
    assert "proxy_pass http://127.0.0.1:8001/sso/proxy-auth/check?app=abc;" in text
    assert "location /admin {" in text and "location / {" in text  # the rest stays open
    stopped_nginx.apply_site("app-abc", text)  # passes `nginx -t`


def test_a_login_wall_path_cannot_smuggle_configuration():
    from panel.proxy.render import LoginWall

    with pytest.raises(ValueError, match="refusing to protect"):
        render_app_server_block(
            name="abc",
            server_name="wiki.localhost",
            listen="80",
            address="10.0.0.2",
            port=80,
            login_wall=LoginWall(panel_address="127.0.0.1:8001", path="/x { return 200; }"),
        )


def test_dashboard_forms_may_end_at_the_apps_of_its_domains_and_keep_the_port():
    text = render_dashboard_block(
        server_names=["my.example.com", "dashboard.hearth.internal"],
        listen="80",
        panel_address="127.0.0.1:8001",
    )
    assert "form-action 'self' *.example.com:*" in text
    assert "hearth.internal:*" not in text
    assert "proxy_set_header Host $http_host;" in text
