"""Real DNS and ACME servers for the domain and TLS tests, one of each per test session:
BIND 9 (RFC 2136 updates with a TSIG key), moto's standalone Route 53, and Pebble, a real
ACME CA that validates HTTP-01 against this session's nginx and DNS-01 against BIND.

Ports are chosen free at import, before any worker process starts, so the Celery worker the
session runs inherits the same ACME directory and HTTPS port through its environment.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import dns.message
import dns.query
import pytest
import requests
from django.conf import settings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


_PEBBLE_PORT = _free_port()
_PEBBLE_DIR = Path(tempfile.gettempdir()) / f"hearth-pebble-{os.environ['HEARTH_TEST_SESSION']}"
os.environ.setdefault("HEARTH_HTTPS_LISTEN", f"127.0.0.1:{_free_port()}")
os.environ.setdefault("HEARTH_ACME_DIRECTORY", f"https://127.0.0.1:{_PEBBLE_PORT}/dir")
os.environ.setdefault("HEARTH_ACME_CA_BUNDLE", str(_PEBBLE_DIR / "listener.pem"))
for _name in ("HEARTH_HTTPS_LISTEN", "HEARTH_ACME_DIRECTORY", "HEARTH_ACME_CA_BUNDLE"):
    setattr(settings, _name, os.environ[_name])

TEST_ZONE = "hearth.test"
WILDCARD_ZONE = "wild.test"


def _wait_for(check, what: str, process: subprocess.Popen, log: Path, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if check():
                return
        except Exception:  # noqa: BLE001, S110 - not up yet
            pass
        time.sleep(0.1)
    pytest.fail(f"{what} did not start: {log.read_text()[-2000:] if log.exists() else ''}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass(frozen=True)
class Bind:
    port: int
    key_name: str
    key_secret: str
    zone: str = TEST_ZONE
    wildcard_zone: str = WILDCARD_ZONE

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    def provider_config(self, **overrides: str) -> dict[str, str]:
        return {
            "server": self.server,
            "key_name": self.key_name,
            "key_secret": self.key_secret,
            "algorithm": "hmac-sha256",
            **overrides,
        }


@pytest.fixture(scope="session")
def bind(tmp_path_factory):
    """BIND 9 on a free loopback port, authoritative for hearth.test (updatable with a TSIG
    key) and wild.test (a fixed *.wild.test record, as an owner would make)."""
    folder = tmp_path_factory.mktemp("bind")
    port = _free_port()
    key_name = "hearth-test-key"
    key_secret = base64.b64encode(secrets.token_bytes(32)).decode()
    soa = "@ 300 IN SOA ns.{z}. admin.{z}. 1 300 300 86400 60\n@ 300 IN NS ns.{z}.\n"
    (folder / f"{TEST_ZONE}.zone").write_text(soa.format(z=TEST_ZONE) + "ns 300 IN A 127.0.0.1\n")
    (folder / f"{WILDCARD_ZONE}.zone").write_text(
        soa.format(z=WILDCARD_ZONE) + "ns 300 IN A 127.0.0.1\n* 300 IN A 127.0.0.1\n"
    )
    (folder / "named.conf").write_text(
        f"""
options {{
    directory "{folder}";
    pid-file "{folder}/named.pid";
    session-keyfile "{folder}/session.key";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    allow-query {{ any; }};
    dnssec-validation no;
}};
controls {{ }};
key "{key_name}" {{ algorithm hmac-sha256; secret "{key_secret}"; }};
zone "{TEST_ZONE}" {{
    type primary;
    file "{folder}/{TEST_ZONE}.zone";
    allow-update {{ key "{key_name}"; }};
}};
zone "{WILDCARD_ZONE}" {{ type primary; file "{folder}/{WILDCARD_ZONE}.zone"; }};
"""
    )
    log = folder / "named.log"
    process = subprocess.Popen(
        ["/usr/sbin/named", "-g", "-c", str(folder / "named.conf")],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )

    def answers() -> bool:
        query = dns.message.make_query(TEST_ZONE, "SOA")
        return bool(dns.query.udp(query, "127.0.0.1", port=port, timeout=0.5).answer)

    _wait_for(answers, "named", process, log)
    yield Bind(port=port, key_name=key_name, key_secret=key_secret)
    _stop(process)


@pytest.fixture(scope="session")
def moto_route53(tmp_path_factory):
    """moto's standalone server: the Route 53 API on a free loopback port."""
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    _wait_for(lambda: requests.get(f"{url}/moto-api/", timeout=1).ok, "moto", process, log)
    yield url
    _stop(process)


@dataclass(frozen=True)
class AuthenticatedRoute53:
    url: str
    access_key_id: str
    secret_access_key: str
    zone: str
    zone_id: str

    def provider_config(self, **overrides: str) -> dict[str, str]:
        # With the zone's id, no zone lookup: moto 5.2 rejects signed GETs even with a
        # right key, while it checks signed POSTs (record changes) properly.
        return {
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "endpoint_url": self.url,
            "hosted_zone_id": self.zone_id,
            **overrides,
        }


@pytest.fixture(scope="session")
def route53_with_auth(tmp_path_factory):
    """moto checking credentials like AWS: after the first three (unauthenticated) calls,
    which make an IAM user with a key and a policy, every call needs that user's key."""
    import boto3

    port = _free_port()
    log = tmp_path_factory.mktemp("moto-auth") / "moto.log"
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"},
    )
    url = f"http://127.0.0.1:{port}"

    def listening() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True

    _wait_for(listening, "moto (with auth)", process, log)
    options = {"endpoint_url": url, "region_name": "us-east-1"}
    iam = boto3.client("iam", aws_access_key_id="setup", aws_secret_access_key="setup", **options)
    iam.create_user(UserName="hearth")
    key = iam.create_access_key(UserName="hearth")["AccessKey"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    iam.put_user_policy(UserName="hearth", PolicyName="dns", PolicyDocument=json.dumps(policy))
    zone = "authed.example.org"
    created = boto3.client(
        "route53",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        **options,
    ).create_hosted_zone(Name=zone, CallerReference=secrets.token_hex(8))
    zone_id = created["HostedZone"]["Id"].rsplit("/", 1)[-1]
    yield AuthenticatedRoute53(url, key["AccessKeyId"], key["SecretAccessKey"], zone, zone_id)
    _stop(process)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """The certificate Pebble's own HTTPS listener presents (for 127.0.0.1)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pebble listener")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "listener.pem", folder / "listener.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass(frozen=True)
class Pebble:
    directory: str
    management: str
    listener_cert: str

    def root_pem(self) -> str:
        """The root of the chains Pebble issues (new at every Pebble start)."""
        response = requests.get(f"{self.management}/roots/0", verify=self.listener_cert, timeout=5)
        response.raise_for_status()
        return response.text


@pytest.fixture(scope="session")
def pebble(nginx, bind):
    """Pebble validating for real: names resolve through BIND, HTTP-01 goes to this session's
    nginx (its httpPort), DNS-01 reads the TXT records BIND holds."""
    _PEBBLE_DIR.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = _self_signed(_PEBBLE_DIR)
    management_port = _free_port()
    http_port = int(settings.HEARTH_HTTP_LISTEN.rsplit(":", 1)[-1])
    config = _PEBBLE_DIR / "pebble-config.json"
    config.write_text(
        json.dumps(
            {
                "pebble": {
                    "listenAddress": f"127.0.0.1:{_PEBBLE_PORT}",
                    "managementListenAddress": f"127.0.0.1:{management_port}",
                    "certificate": str(cert_path),
                    "privateKey": str(key_path),
                    "httpPort": http_port,
                    "tlsPort": _free_port(),
                    "ocspResponderURL": "",
                    "externalAccountBindingRequired": False,
                }
            }
        )
    )
    env = {
        **os.environ,
        # Validate at once instead of after a random pause; no random nonce rejections; and
        # never reuse an earlier authorization, so every order is really validated.
        "PEBBLE_VA_NOSLEEP": "1",
        "PEBBLE_WFE_NONCEREJECT": "0",
        "PEBBLE_AUTHZREUSE": "0",
    }
    log = _PEBBLE_DIR / "pebble.log"
    process = subprocess.Popen(
        ["/usr/bin/pebble", "-config", str(config), "-dnsserver", bind.server],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    directory = settings.HEARTH_ACME_DIRECTORY
    _wait_for(
        lambda: requests.get(directory, verify=str(cert_path), timeout=1).ok,
        "pebble",
        process,
        log,
    )
    yield Pebble(
        directory=directory,
        management=f"https://127.0.0.1:{management_port}",
        listener_cert=str(cert_path),
    )
    _stop(process)
    shutil.rmtree(_PEBBLE_DIR, ignore_errors=True)


def fetch_tls(fqdn: str, cafile: str, path: str = "/") -> tuple[int, dict[str, str], str, bytes]:
    """GET over TLS to this session's nginx with SNI and Host = fqdn, verifying the chain
    and the name against `cafile`. Returns status, headers, body and the leaf (DER)."""
    host, port = settings.HEARTH_HTTPS_LISTEN.rsplit(":", 1)
    context = ssl.create_default_context(cafile=cafile)
    with (
        socket.create_connection((host, int(port)), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=fqdn) as tls,
    ):
        tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {fqdn}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
        leaf = tls.getpeercert(binary_form=True)
        version = tls.version()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    headers["tls-version"] = version or ""
    return int(lines[0].split()[1]), headers, body.decode(errors="replace"), leaf
