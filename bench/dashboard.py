"""The live dashboard with 100 installed apps and 1000 users.

- pages: the app list, an app's page, a task's page, the event log and the notification
  centre, each rendered 20 times through Django's full request path; p50/p95, and the SQL
  queries of the app list with 10 apps and with 100 (they must not grow with the app count);
- log latency: a real container prints a line every 50 ms; a real browser (Debian's
  Chromium) holds the app's log websocket to the panel under daphne; latency is the time the
  browser's message event fires minus Docker's timestamp of the line;
- idle memory: the panel (daphne), the Celery worker and beat as supervisord runs them (the
  commands of `writesupervisorconf`), 20 s after they start, summed resident memory (RSS;
  PSS is printed too).

Targets (issue 7): page p95 < 100 ms; queries flat in the app count; log line p95 < 250 ms;
panel + worker + beat < 400 MiB.
Run: .venv/bin/python bench/dashboard.py [--only idle-memory]
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOME = Path("/tmp/hearth-bench-dashboard")
APPS, USERS, RENDERS, LOG_LINES = 100, 1000, 20, 60

sys.path.insert(0, str(ROOT))
from bench._platform import target_line  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


ENV = {
    "DJANGO_SETTINGS_MODULE": "panel.settings",
    "HEARTH_HOME": str(HOME),
    "HEARTH_INSTANCE": "hearthbenchdash",
    "HEARTH_SECRET_KEY": "bench-only",
    "HEARTH_REDIS_URL": "redis://127.0.0.1:6379/13",
    "HEARTH_HTTP_LISTEN": f"127.0.0.1:{free_port()}",
    "DATABASE_URL": f"sqlite:///{HOME / 'bench.sqlite3'}",
}


def setup_django() -> None:
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    os.environ.update(ENV)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)


def make_apps(count: int, domain) -> list:
    from panel.core.models import AppInstance, Event, Task

    existing = AppInstance.objects.count()
    health = ["healthy", "healthy", "healthy", "unhealthy", "down", "oom", "restarting"]
    apps = AppInstance.objects.bulk_create(
        AppInstance(
            store_app_id=f"org.example.app{n:04d}",
            title=f"App {n}",
            version="1.0.0",
            manifest={"healthCheckPath": "/", "httpPort": 8000},
            image="127.0.0.1:5000/example/app:1.0.0",
            subdomain=f"app{n:04d}",
            domain=domain,
            memory_limit=256 << 20,
            state="running",
            health=health[n % len(health)],
        )
        for n in range(existing, count)
    )
    Task.objects.bulk_create(
        Task(kind="install", app=app, app_label=str(app), state="succeeded", percent=100)
        for app in apps
    )
    Event.objects.bulk_create(Event(action="install", app=app, app_label=str(app)) for app in apps)
    return apps


def make_users(admin_name: str):
    from django.contrib.auth import get_user_model

    from panel.monitoring.notifications import notify_admins

    users = get_user_model()
    users.objects.bulk_create(
        # "!" is Django's unusable password: 1000 Argon2 hashes would take minutes.
        users(username=f"user{n:04d}", email=f"user{n:04d}@example.com", password="!")  # noqa: S106
        for n in range(USERS - 1)
    )
    admin = users.objects.create_superuser(admin_name, "", None)
    for n in range(30):
        notify_admins("app_down", f"App {n} is down", email=False)
    return admin


def measure_pages(admin, app, task) -> tuple[dict[str, list[float]], int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(admin)
    pages = {
        "app list": "/",
        "app page": f"/apps/{app.pk}/",
        "task page": f"/tasks/{task.pk}/",
        "event log": "/events/",
        "notifications": "/notifications/",
    }
    timings: dict[str, list[float]] = {name: [] for name in pages}
    for name, url in pages.items():
        client.get(url)  # warm: templates compiled, connections open
        for _ in range(RENDERS):
            start = time.perf_counter()
            response = client.get(url)
            timings[name].append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    return timings, len(queries)


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


class Processes:
    """daphne, a Celery worker and beat on the bench's database, as `hearth up` runs them."""

    def __init__(self) -> None:
        self.port = free_port()
        self.started = time.monotonic()
        self.procs: dict[str, subprocess.Popen] = {}
        env = {**os.environ, **ENV}
        # The very commands `hearth up` gives supervisord, on the bench's port and home.
        from panel.core.management.commands.writesupervisorconf import programs

        chosen = [
            program
            for program in programs(
                Path(sys.executable).parent,
                ROOT,
                HOME,
                panel_bind=f"127.0.0.1:{self.port}",
                worker_name="benchdash",
            )
            if program.name in ("panel", "worker", "beat")
        ]
        for program in chosen:
            log = (HOME / f"{program.name}.log").open("ab")
            self.procs[program.name] = subprocess.Popen(
                shlex.split(program.command.replace("%%", "%")),
                cwd=ROOT,
                env={**env, **dict(program.env)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"daphne did not start; see {HOME / 'panel.log'}") from None
                time.sleep(0.2)

    def memory(self) -> tuple[int, int, dict[str, list[int]]]:
        """Summed RSS and PSS in bytes of every process and its children, and RSS by process."""
        rss = pss = 0
        each: dict[str, list[int]] = {}
        for name, proc in self.procs.items():
            for pid in [proc.pid, *children(proc.pid)]:
                resident = proc_kib(f"/proc/{pid}/status", "VmRSS:") * 1024
                each.setdefault(name, []).append(resident)
                rss += resident
                pss += proc_kib(f"/proc/{pid}/smaps_rollup", "Pss:") * 1024
        return rss, pss, each

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            direct = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in direct:
            found += [child, *children(child)]
    return found


def proc_kib(path: str, field: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure_log_latency(admin, base_url: str, domain) -> list[float]:
    """Milliseconds from Docker's timestamp of each line to the browser's message event."""
    from django.conf import settings
    from django.test import Client
    from playwright.sync_api import sync_playwright

    from panel.core.models import AppInstance
    from panel.runtime.base_image import ensure_base_image
    from panel.runtime.containers import get_runtime
    from panel.runtime.spec import LOG_CONFIG, app_resource_names, build_container_spec

    runtime = get_runtime()
    image, _ = ensure_base_image(runtime.client, settings.HEARTH_REGISTRY)
    app = AppInstance.objects.create(
        store_app_id="org.example.logger",
        title="Logger",
        version="1.0.0",
        manifest={"healthCheckPath": "/", "httpPort": 8000},
        image=image,
        subdomain="logger",
        domain=domain,
        memory_limit=64 << 20,
        state="running",
    )
    names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
    runtime.ensure_network(names, app.id.hex)
    kwargs = build_container_spec(
        instance=settings.HEARTH_INSTANCE,
        app_hex_id=app.id.hex,
        image=image,
        fqdn=app.fqdn,
        http_port=8000,
        memory_limit=64 << 20,
    ).docker_create_kwargs()
    kwargs.pop("volumes")
    kwargs.update(
        command=["sh", "-c", "i=0; while true; do i=$((i+1)); echo line$i; sleep 0.05; done"],
        log_config=LOG_CONFIG,
    )
    runtime.client.containers.run(**kwargs)
    client = Client()
    client.force_login(admin)
    session = client.cookies["sessionid"].value
    script = """async ([path, wanted]) => {
        const seen = [];
        await new Promise((done) => {
            const ws = new WebSocket(`ws://${location.host}${path}?tail=0`);
            ws.onmessage = (event) => {
                const now = Date.now();
                for (const line of JSON.parse(event.data).lines || []) seen.push([line.ts, now]);
                if (seen.length >= wanted) { ws.close(); done(); }
            };
        });
        return seen;
    }"""
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )
            context = browser.new_context()
            context.add_cookies([{"name": "sessionid", "value": session, "url": base_url}])
            page = context.new_page()
            page.goto(f"{base_url}/accounts/login/")
            seen = page.evaluate(script, [f"/ws/apps/{app.id}/logs/", LOG_LINES])
            browser.close()
    finally:
        runtime.remove_app(app.id.hex)
    from panel.monitoring.logstream import timestamp_ns

    return [received - timestamp_ns(ts) / 1e6 for ts, received in seen]


def measure_idle_memory() -> tuple[int, int, dict[str, list[int]]]:
    """Start the platform's processes, let them settle for 20 s, sum their memory."""
    processes = Processes()
    try:
        time.sleep(max(0.0, 20 - (time.monotonic() - processes.started)))
        return processes.memory()
    finally:
        processes.stop()


def print_memory(rss: int, pss: int, each: dict[str, list[int]]) -> None:
    print(f"panel + worker + beat: RSS {rss / 2**20:.0f} MiB, PSS {pss / 2**20:.0f} MiB")
    for name, sizes in each.items():
        print(f"  {name}: RSS " + " + ".join(f"{size / 2**20:.0f}" for size in sizes) + " MiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--only",
        choices=["idle-memory"],
        help="measure only this (idle-memory: no apps, no browser, about 30 s)",
    )
    if parser.parse_args().only == "idle-memory":
        setup_django()
        rss, pss, each = measure_idle_memory()
        print_memory(rss, pss, each)
        print(target_line("idle-memory", rss / 2**20, "<", 400, " MiB"))
        return 0
    setup_django()
    from panel.domains.services import ensure_default_domain

    domain = ensure_default_domain()
    admin = make_users("benchowner")
    make_apps(10, domain)
    from panel.core.models import AppInstance, Task

    _, queries_small = measure_pages(admin, AppInstance.objects.first(), Task.objects.first())
    make_apps(APPS, domain)
    timings, queries_big = measure_pages(admin, AppInstance.objects.last(), Task.objects.last())

    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"{APPS} apps, {USERS} users, {RENDERS} renders per page (load average {load})")
    every = []
    for name, values in timings.items():
        every += values
        print(f"{name:14}: p50 {p(values, 50):6.1f} ms  p95 {p(values, 95):6.1f} ms")
    print(f"SQL queries of the app list: {queries_small} with 10 apps, {queries_big} with {APPS}")

    processes = Processes()
    try:
        latencies = measure_log_latency(admin, f"http://127.0.0.1:{processes.port}", domain)
        time.sleep(max(0.0, 20 - (time.monotonic() - processes.started)))
        rss, pss, each = processes.memory()
    finally:
        processes.stop()
    print(
        f"log lines: {len(latencies)}, latency p50 {p(latencies, 50):.1f} ms, "
        f"p95 {p(latencies, 95):.1f} ms, max {max(latencies):.1f} ms"
    )
    print_memory(rss, pss, each)
    print(target_line("dashboard-p95", p(every, 95), "<", 100, " ms"))
    print(target_line("dashboard-queries", queries_big, "<=", queries_small))
    print(target_line("log-latency-p95", p(latencies, 95), "<", 250, " ms"))
    print(target_line("idle-memory", rss / 2**20, "<", 400, " MiB"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
