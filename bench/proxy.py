"""What does Hearth's nginx hop cost? wrk against one small page of the static site app:
directly at the container's address, through Hearth's nginx over HTTP, and through it over
HTTPS (an uploaded certificate, the same TLS settings every app gets), in the same run.

Targets (issue 8): nginx over HTTP >= 70% of direct-to-container requests/s
(`proxy-throughput`), and HTTPS >= 80% of Hearth's own HTTP figure (`proxy-https`).

wrk sends the URL's host as TLS SNI and glibc cannot resolve *.localhost, so the app is
installed at the name "127.0.0.1" (subdomain 127 of domain 0.0.1): the URL, the SNI, the
Host header and the server block then agree, with nothing changed on the host.

Run: .venv/bin/python bench/proxy.py [--seconds N] [--rounds N]
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import re
import socket
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._platform import BenchWorker, setup_django, target_line, wait_for_task  # noqa: E402

THREADS, CONNECTIONS = 2, 32
FQDN = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wrk(url: str, seconds: int, host: str | None = None) -> tuple[float, float]:
    """Requests per second and p99 latency in milliseconds."""
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url]
    if host:
        command[1:1] = ["-H", f"Host: {host}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if not rps or not p99 or errors:
        raise SystemExit(f"wrk could not measure {url}:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return float(rps.group(1)), float(p99.group(1)) * scale


def self_signed(name: str) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address(name))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    os.environ["HEARTH_HTTPS_LISTEN"] = f"127.0.0.1:{_free_port()}"
    setup_django()
    from django.conf import settings

    from apps_store.services import PACKAGES_DIR, build_package, record_release
    from panel.core.services import request_app_action
    from panel.domains.models import Domain
    from panel.domains.services import ensure_default_domain, upload_certificate
    from panel.proxy.nginx import get_nginx
    from panel.proxy.sites import refresh_app_site
    from panel.runtime.containers import get_runtime
    from panel.runtime.spec import app_resource_names

    nginx = get_nginx()
    nginx.ensure_running()
    folder = PACKAGES_DIR / "staticsite"
    manifest, tag, digest = build_package(folder)
    release = record_release(folder, manifest, tag, digest)
    domain, _ = Domain.objects.update_or_create(
        name="0.0.1", defaults={"provider": "noop", "tls_mode": "custom"}
    )
    domain.certificates.all().delete()

    direct, http, https = [], [], []
    try:
        with BenchWorker():
            # Two apps of the same image: one plain HTTP (with a certificate, port 80 would
            # only redirect), one with a certificate; rounds interleave all three paths, so
            # a busy moment on the host hits them alike.
            plain = install(release, subdomain="benchproxy", domain=ensure_default_domain())
            secure = install(release, subdomain="127", domain=domain)
            fullchain, key = self_signed(FQDN)
            upload_certificate(domain=domain, app=secure, fullchain_pem=fullchain, key_pem=key)
            refresh_app_site(secure)
            names = app_resource_names(settings.HEARTH_INSTANCE, plain.id.hex)
            address = get_runtime().container_address(names.container, names.network)
            direct_url = f"http://{address}:{manifest.http_port}/"
            http_url = f"http://{settings.HEARTH_HTTP_LISTEN}/"
            https_url = f"https://{settings.HEARTH_HTTPS_LISTEN}/"
            for url, host in ((direct_url, None), (http_url, plain.fqdn), (https_url, None)):
                wrk(url, 1, host=host)  # warm-up: connections, TLS sessions, caches
            for _ in range(args.rounds):
                direct.append(wrk(direct_url, args.seconds))
                http.append(wrk(http_url, args.seconds, host=plain.fqdn))
                https.append(wrk(https_url, args.seconds))
            for app in (plain, secure):
                wait_for_task(request_app_action(app, "uninstall").pk)
    finally:
        nginx.stop()

    def summary(label: str, runs: list[tuple[float, float]]) -> None:
        rps = statistics.median(r for r, _ in runs)
        p99 = statistics.median(p for _, p in runs)
        each = ", ".join(f"{r:.0f}" for r, _ in runs)
        print(f"{label}: {rps:8.0f} req/s  p99 {p99:7.2f} ms  (rounds: {each})")

    print(f"wrk -t{THREADS} -c{CONNECTIONS}, {args.rounds} rounds x {args.seconds} s, static page")
    summary("direct to container ", direct)
    summary("through nginx, HTTP ", http)
    summary("through nginx, HTTPS", https)
    # Ratios per round (same moment on the host), then their median.
    proxy = statistics.median(h[0] / d[0] * 100 for h, d in zip(http, direct, strict=True))
    tls = statistics.median(s[0] / h[0] * 100 for s, h in zip(https, http, strict=True))
    print(target_line("proxy-throughput", proxy, ">=", 70, "%"))
    print(target_line("proxy-https", tls, ">=", 80, "%"))


def install(release, *, subdomain: str, domain):
    from panel.core.models import AppInstance
    from panel.core.services import install_app

    # Left over from an interrupted run: the location must be free.
    AppInstance.objects.filter(subdomain=subdomain, domain=domain).delete()
    app = install_app(release=release, subdomain=subdomain, domain=domain)
    task = wait_for_task(app.tasks.get().pk)
    if task.state != "succeeded":
        raise SystemExit(f"install failed, cannot measure: {task.error}")
    app.refresh_from_db()
    return app


if __name__ == "__main__":
    main()
