"""nginx's TLS configuration: the text Hearth renders, checked by the real `nginx -t`, and the
headers the dashboard gets through the session's nginx."""

from __future__ import annotations

import pytest

from panel.proxy.nginx import ProxyError
from panel.proxy.render import (
    NginxLayout,
    TlsFiles,
    render_app_server_block,
    render_dashboard_block,
    render_main_config,
)
from tests.conftest import fetch

TLS = TlsFiles(certificate="/srv/certs/a.crt", key="/srv/certs/a.key")


def test_main_config_allows_tls_1_2_and_1_3_with_intermediate_ciphers_only():
    text = render_main_config(NginxLayout(directory="/srv/n", listen="80", tls_listen="443"))
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in text
    assert "ECDHE-ECDSA-AES128-GCM-SHA256" in text
    assert "CBC" not in text and "RC4" not in text and "SHA:" not in text
    # Unknown names get no certificate at all rather than some app's.
    assert "ssl_reject_handshake on;" in text
    assert "location ^~ /.well-known/acme-challenge/" in text


def test_app_with_a_certificate_redirects_http_except_acme_challenges_and_sends_hsts():
    text = render_app_server_block(
        name="abc",
        server_name="blog.example.com",
        listen="80",
        address="172.18.0.2",
        port=8000,
        tls=TLS,
        tls_listen="443",
        acme_root="/srv/n/acme-challenge",
    )
    http, https = text.split("server {")[1:]
    assert "return 301 https://$host$request_uri;" in http
    assert "alias /srv/n/acme-challenge/;" in http
    assert "proxy_pass" not in http
    assert "listen 443 ssl;" in https and "ssl_certificate /srv/certs/a.crt;" in https
    assert "Strict-Transport-Security" in https and "proxy_pass http://app_abc;" in https


def test_app_without_a_certificate_is_served_over_http_with_acme_challenges():
    text = render_app_server_block(
        name="abc",
        server_name="blog.example.com",
        listen="80",
        address="172.18.0.2",
        port=8000,
        tls=None,
        tls_listen="443",
        acme_root="/srv/n/acme-challenge",
    )
    assert "ssl" not in text and "return 301" not in text
    assert "proxy_pass http://app_abc;" in text and "acme-challenge" in text


def test_dashboard_gets_security_headers():
    text = render_dashboard_block(
        server_names=["my.example.com"], listen="80", panel_address="127.0.0.1:8001"
    )
    for header in ("Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"):
        assert header in text
    assert "frame-ancestors 'none'" in text


@pytest.mark.django_db
def test_dashboard_headers_reach_the_browser_through_nginx(nginx):
    from panel.proxy.sites import write_dashboard_site

    write_dashboard_site(["localhost"])
    # The panel is not running in this test: nginx answers 502, with the headers ("always").
    response = fetch("my.localhost")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    nginx.remove_site("dashboard")


@pytest.mark.django_db
def test_login_attempts_through_nginx_are_rate_limited_per_client(nginx):
    from panel.proxy.sites import write_dashboard_site

    write_dashboard_site(["localhost"])
    # No panel runs here: allowed requests get 502 from nginx, limited ones 429.
    statuses = [fetch("my.localhost", "/accounts/login/").status_code for _ in range(12)]
    assert statuses[:6] == [502] * 6  # the burst
    assert set(statuses[6:]) == {429}
    # Other dashboard pages are not limited by the login zone.
    assert fetch("my.localhost", "/").status_code == 502
    nginx.remove_site("dashboard")


def test_certificate_files_nginx_rejects_are_rolled_back(nginx, tmp_path):
    from tests.fixtures_domains import _self_signed

    good_cert, good_key = _self_signed(tmp_path)
    cert = nginx.directory / "certs" / "rollback-test.crt"
    key = nginx.directory / "certs" / "rollback-test.key"
    nginx.replace_files({cert: good_cert.read_bytes(), key: good_key.read_bytes()})
    nginx.apply_site(
        "rollback-test",
        render_app_server_block(
            name="rollback",
            server_name="rollback.localhost",
            listen=nginx.layout.listen,
            address="127.0.0.1",
            port=9,
            tls=TlsFiles(certificate=str(cert), key=str(key)),
            tls_listen=nginx.layout.tls_listen,
        ),
    )
    with pytest.raises(ProxyError, match="rejected the new files"):
        nginx.replace_files({cert: b"garbage", key: b"garbage"})
    # The working pair is back, so nginx still starts and serves with it.
    assert cert.read_bytes() == good_cert.read_bytes()
    assert key.read_bytes() == good_key.read_bytes()
    nginx.test()
    nginx.remove_site("rollback-test")
    cert.unlink()
    key.unlink()


def test_without_an_https_listener_nothing_listens_for_tls_and_apps_stay_on_http():
    text = render_main_config(NginxLayout(directory="/srv/n", listen="18090"))
    assert "ssl" not in text
    app = render_app_server_block(
        name="abc",
        server_name="blog.example.com",
        listen="18090",
        address="172.18.0.2",
        port=8000,
        tls=TLS,
        tls_listen="",
        acme_root="/srv/n/acme-challenge",
    )
    assert "ssl" not in app and "return 301" not in app and "proxy_pass" in app
