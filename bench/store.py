"""The App Store with a store of 500 releases: how long a sync takes, how fast the page is.

- sync: a store index of 250 apps × 2 releases, served over real HTTP, synced into an empty
  catalog (fetch, verify 501 Ed25519 signatures and every manifest, write in bulk);
- page: the App Store page rendered 20 times through Django's full request path (middleware,
  session, template), p50/p95, and its SQL query count, compared with a 10-app catalog.

Targets (issue 3): page p95 < 50 ms; the query count does not grow with the number of apps.
Run: .venv/bin/python bench/store.py
"""

from __future__ import annotations

import gc
import os
import shutil
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOME = Path("/tmp/hearth-bench-store")
APPS, RELEASES_PER_APP, RENDERS = 250, 2, 20
ICON = "data:image/svg+xml;base64," + "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4="

sys.path.insert(0, str(ROOT))
from bench._platform import target_line  # noqa: E402


def setup_django() -> None:
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="panel.settings",
        HEARTH_HOME=str(HOME),
        HEARTH_INSTANCE="hearthbenchstore",
        HEARTH_SECRET_KEY="bench-only",  # noqa: S106 - a throwaway panel for the bench
        DATABASE_URL=f"sqlite:///{HOME / 'bench.sqlite3'}",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)


def make_catalog(apps: int) -> None:
    """`apps` apps with RELEASES_PER_APP signed releases each, as publishpackage makes them."""
    from apps_store.models import Release, StoreApp
    from apps_store.services import release_sort_key, sign_release

    tags = ["wiki", "calendar", "chat", "media", "office", "dev", "mail", "sync", "notes"]
    store_apps = StoreApp.objects.bulk_create(
        StoreApp(
            app_id=f"org.example.app{n:04d}",
            title=f"Example App {n:04d}",
            tagline=f"Tagline of app {n}",
            description=f"A description of app {n}. " * 5,
            tags=[tags[n % len(tags)], tags[(n + 4) % len(tags)]],
            icon=ICON,
        )
        for n in range(apps)
    )
    releases = []
    for store_app in store_apps:
        for minor in range(RELEASES_PER_APP):
            version = f"1.{minor}.0"
            release = Release(
                store_app=store_app,
                version=version,
                sort_key=release_sort_key(version),
                manifest={
                    "manifestVersion": 2,
                    "id": store_app.app_id,
                    "title": store_app.title,
                    "version": version,
                    "healthCheckPath": "/",
                    "httpPort": 8000,
                    "addons": {"localstorage": {}},
                    "tags": store_app.tags,
                },
                image=f"127.0.0.1:5000/hearth/apps/{store_app.app_id}:{version}",
                image_digest="sha256:" + f"{minor:x}" * 64,
                changelog=f"Changes in {version}.",
            )
            sign_release(release)
            releases.append(release)
    Release.objects.bulk_create(releases)


def serve(body: bytes) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def render_page(client) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get("/store/")  # warm caches (templates, session) like a running panel
    # Collect what building and syncing the catalog left behind, so that a full collection
    # of the bench's own garbage does not land inside one of the timed renders.
    gc.collect()
    timings = []
    for _ in range(RENDERS):
        started = time.perf_counter()
        response = client.get("/store/")
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"the App Store page answered {response.status_code}")
    with CaptureQueriesContext(connection) as queries:
        client.get("/store/")
    return timings, len(queries)


def main() -> None:
    setup_django()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from apps_store.models import Release, StoreApp
    from apps_store.sync import sync_store

    owner = get_user_model().objects.create_superuser("owner", "o@example.com", "x")
    client = Client()
    client.force_login(owner)

    make_catalog(10)
    _, small_queries = render_page(client)
    StoreApp.objects.all().delete()

    make_catalog(APPS)
    started = time.perf_counter()
    index = Client().get("/api/v1/store/index.json")
    serve_seconds = time.perf_counter() - started
    if index.status_code != 200:
        raise SystemExit(f"the store index answered {index.status_code}")
    StoreApp.objects.all().delete()

    server = serve(index.content)
    started = time.perf_counter()
    report = sync_store(f"http://127.0.0.1:{server.server_port}")
    sync_seconds = time.perf_counter() - started
    server.shutdown()
    releases = Release.objects.count()
    if releases != APPS * RELEASES_PER_APP or report.new_releases != releases:
        raise SystemExit(f"the sync brought {releases} releases, cannot measure")

    timings, queries = render_page(client)
    p50 = statistics.median(timings)
    p95 = statistics.quantiles(timings, n=20)[-1]
    print(
        f"index of {releases} releases: {len(index.content) / 1024:.0f} KiB, "
        f"built and signed in {serve_seconds * 1000:.0f} ms"
    )
    print(f"sync of {releases} releases over HTTP into an empty catalog: {sync_seconds:.2f} s")
    print(
        f"App Store page with {APPS} apps: p50 {p50:.1f} ms, p95 {p95:.1f} ms "
        f"over {RENDERS} renders; {queries} SQL queries (10 apps: {small_queries})"
    )
    print("renders (ms, in order):", " ".join(f"{t:.1f}" for t in timings))
    print(target_line("store-page", p95, "<", 50, " ms"))
    print(target_line("store-queries", queries, "<=", small_queries))


if __name__ == "__main__":
    main()
