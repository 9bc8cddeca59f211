"""Single sign-on speed on this machine, against the real servers Hearth runs.

- LDAP: a new connection, bind as the app, search one user by uid — per iteration, with 1000
  users in 100 groups (Hearth's LDAP server process, ldap3 as the client).
- OIDC: a full authorization-code round trip for a signed-in person — authorize → token →
  userinfo — over HTTP against the panel under daphne.

Targets (issue 6): LDAP bind+search p95 < 50 ms; OIDC round trip p95 < 100 ms.
Run: .venv/bin/python bench/sso.py [--rounds N]
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._platform import BENCH_ENV, ROOT, setup_django, target_line  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    raise SystemExit(f"server did not start; see {log}")


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def make_directory(users: int, groups: int):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from addons.models import AddonInstance
    from addons.services import app_addon_env, provision_app_addons
    from panel.core.models import AppInstance
    from panel.domains.services import ensure_default_domain

    model = get_user_model()
    model.objects.filter(username__startswith="bench").delete()
    Group.objects.filter(name__startswith="bench").delete()
    AppInstance.objects.filter(subdomain="ssobench").delete()
    # One hash for everybody: making 1000 Argon2 hashes would only measure set-up.
    password = make_password("bench-password")
    model.objects.bulk_create(
        model(username=f"bench{i}", email=f"bench{i}@example.com", password=password)
        for i in range(users)
    )
    made = Group.objects.bulk_create(Group(name=f"bench-group-{g}") for g in range(groups))
    people = list(model.objects.filter(username__startswith="bench"))
    through = model.groups.through
    rng = random.Random(7)
    through.objects.bulk_create(
        through(user_id=person.pk, group_id=group.pk)
        for person in people
        for group in rng.sample(made, 3)
    )
    app = AppInstance.objects.create(
        store_app_id="org.example.bench",
        title="Bench",
        version="1.0.0",
        manifest={
            "manifestVersion": 2,
            "id": "org.example.bench",
            "title": "Bench",
            "version": "1.0.0",
            "healthCheckPath": "/",
            "httpPort": 80,
            "addons": {"oidc": {"loginRedirectUri": "/callback"}},
        },
        image="x",
        subdomain="ssobench",
        domain=ensure_default_domain(),
        memory_limit=1,
        state="running",
    )
    provision_app_addons(app)
    oidc_env = app_addon_env(app)
    # The directory side only needs the app's bind credentials, not a container.
    AddonInstance.objects.create(
        app=app, addon="ldap", state="ready", credentials={"bind_password": "bench-app-secret"}
    )
    return app, oidc_env


def bench_ldap(app, rounds: int, users: int) -> list[float]:
    from ldap3 import Connection, Server

    from addons.ldap import directory

    port = free_port()
    log = Path(BENCH_ENV["HEARTH_HOME"]) / "ldap.log"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runldapserver", "--host", "127.0.0.1"],
        cwd=ROOT,
        env={**os.environ, "HEARTH_LDAP_PORT": str(port)},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process, log)
        server = Server(f"ldap://127.0.0.1:{port}")
        timings = []
        for i in range(rounds + 10):
            started = time.perf_counter()
            connection = Connection(
                server, directory.app_bind_dn(app.id.hex), "bench-app-secret", auto_bind=True
            )
            connection.search(
                directory.USERS_DN, f"(uid=bench{i % users})", attributes=["mail", "memberOf"]
            )
            found = len(connection.entries)
            connection.unbind()
            if found != 1:
                raise SystemExit(f"LDAP search found {found} entries, cannot measure")
            if i >= 10:  # the first rounds warm the directory snapshot
                timings.append(time.perf_counter() - started)
        return timings
    finally:
        process.terminate()
        process.wait(timeout=10)


def bench_oidc(env: dict, callback: str, rounds: int) -> list[float]:
    import requests

    port = free_port()
    log = Path(BENCH_ENV["HEARTH_HOME"]) / "panel.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "panel.asgi:application",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process, log)
        base = f"http://127.0.0.1:{port}"
        host = {"Host": "my.localhost"}
        session = requests.Session()
        page = session.get(f"{base}/accounts/login/", headers=host)
        session.post(
            f"{base}/accounts/login/",
            headers={**host, "Referer": f"{base}/"},
            data={
                "login": "bench1",
                "password": "bench-password",
                "csrfmiddlewaretoken": page.cookies.get("csrftoken"),
            },
        )
        basic = base64.b64encode(
            f"{env['OIDC_CLIENT_ID']}:{env['OIDC_CLIENT_SECRET']}".encode()
        ).decode()
        query = urlencode(
            {
                "client_id": env["OIDC_CLIENT_ID"],
                "response_type": "code",
                "redirect_uri": callback,
                "scope": "openid profile email",
                "state": "s",
            }
        )
        if "sessionid" not in session.cookies:
            raise SystemExit(f"could not log in as bench1; see {log}")
        timings = []
        for i in range(rounds + 5):
            started = time.perf_counter()
            answer = session.get(
                f"{base}/identity/o/authorize?{query}",
                headers=host,
                allow_redirects=False,
                timeout=10,
            )
            code = parse_qs(urlparse(answer.headers.get("Location", "")).query).get("code")
            if not code:
                raise SystemExit(f"authorize gave no code ({answer.status_code}), cannot measure")
            tokens = requests.post(
                f"{base}/identity/o/api/token",
                headers={**host, "Authorization": f"Basic {basic}"},
                data={
                    "grant_type": "authorization_code",
                    "code": code[0],
                    "redirect_uri": callback,
                },
                timeout=10,
            ).json()
            profile = requests.get(
                f"{base}/identity/o/api/userinfo",
                headers={**host, "Authorization": f"Bearer {tokens['access_token']}"},
                timeout=10,
            ).json()
            if profile.get("preferred_username") != "bench1":
                raise SystemExit(f"userinfo answered {profile}, cannot measure")
            if i >= 5:
                timings.append(time.perf_counter() - started)
        return timings
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=100)
    args = parser.parse_args()
    setup_django()
    app, env = make_directory(args.users, args.groups)

    ldap = bench_ldap(app, args.rounds, args.users)
    oidc = bench_oidc(env, f"{app.url}/callback", args.rounds // 2)
    ldap_ms, oidc_ms = [t * 1000 for t in ldap], [t * 1000 for t in oidc]
    print(f"directory: {args.users} users, {args.groups} groups")
    print(
        f"ldap bind+search: {len(ldap)} rounds, {len(ldap) / sum(ldap):.0f}/s, "
        f"p50 {statistics.median(ldap_ms):.1f} ms, p95 {p95(ldap_ms):.1f} ms"
    )
    print(
        f"oidc authorize→token→userinfo: {len(oidc)} rounds, {len(oidc) / sum(oidc):.0f}/s, "
        f"p50 {statistics.median(oidc_ms):.1f} ms, p95 {p95(oidc_ms):.1f} ms"
    )
    print(target_line("ldap-p95", p95(ldap_ms), "<", 50, " ms"))
    print(target_line("oidc-p95", p95(oidc_ms), "<", 100, " ms"))


if __name__ == "__main__":
    main()
