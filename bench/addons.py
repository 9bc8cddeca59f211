"""How quickly are databases and redis made and removed for apps, and what do they cost idle?

For 20 apps (rows and networks only: the app containers themselves are not what is measured):
- provision mysql + postgresql + redis for each app, timed per app (targets: median < 1.5 s);
- with the 20 apps provisioned and idle for a while, the memory of the addon services
  (MariaDB, PostgreSQL and the 20 redis containers; target: < 600 MiB in all);
- tear the three down again for each app, timed per app.

Run: .venv/bin/python bench/addons.py [--apps N] [--idle SECONDS]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._platform import setup_django, target_line  # noqa: E402

MANIFEST = {
    "manifestVersion": 2,
    "id": "io.hearth.bench.addons",
    "title": "Addon bench",
    "version": "1.0.0",
    "healthCheckPath": "/",
    "httpPort": 8000,
    "addons": {"mysql": {}, "postgresql": {}, "redis": {}},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--apps", type=int, default=20)
    parser.add_argument("--idle", type=float, default=15.0)
    args = parser.parse_args()

    setup_django()
    from django.conf import settings

    from addons.redis.addon import container_name as redis_container
    from addons.registry import all_addons
    from addons.services import provision_app_addons, start_addon_services, teardown_app_addons
    from panel.core.models import AppInstance
    from panel.domains.services import ensure_default_domain
    from panel.runtime import services as runtime_services
    from panel.runtime.containers import get_runtime
    from panel.runtime.spec import app_resource_names

    runtime = get_runtime()
    started = time.perf_counter()
    start_addon_services()
    print(f"addon services ready in {time.perf_counter() - started:.1f} s")
    shared = [name for addon in all_addons() for name in addon.service_containers()]

    domain = ensure_default_domain()
    AppInstance.objects.filter(store_app_id=MANIFEST["id"]).delete()
    apps = []
    for index in range(args.apps):
        app = AppInstance.objects.create(
            store_app_id=MANIFEST["id"],
            title=MANIFEST["title"],
            version=MANIFEST["version"],
            manifest=MANIFEST,
            image="none",
            subdomain=f"addonbench{index}",
            domain=domain,
            memory_limit=64 * 1024 * 1024,
        )
        runtime.ensure_network(app_resource_names(settings.HEARTH_INSTANCE, app.id.hex), app.id.hex)
        apps.append(app)

    provision, teardown = [], []
    try:
        for app in apps:
            begin = time.perf_counter()
            provision_app_addons(app)
            provision.append(time.perf_counter() - begin)

        time.sleep(args.idle)
        usage = runtime_services.memory_usage(shared + [redis_container(app) for app in apps])
        shared_mib = sum(usage[name] for name in shared) / 2**20
        total_mib = sum(usage.values()) / 2**20

        for app in apps:
            begin = time.perf_counter()
            teardown_app_addons(app)
            teardown.append(time.perf_counter() - begin)
    finally:
        for app in apps:
            runtime.remove_app(app.id.hex)
            app.delete()
        # The bench's own database servers and their data go too (a run starts them afresh).
        for name in shared:
            runtime_services.remove_service(name, volumes=(f"{name}-data",))

    print(f"apps: {args.apps}")
    for label, values in (("provision", provision), ("teardown ", teardown)):
        print(
            f"{label} mysql+postgresql+redis per app: median {statistics.median(values):.3f} s "
            f"(min {min(values):.3f}, max {max(values):.3f})"
        )
    for name in shared:
        print(f"memory {name}: {usage[name] / 2**20:.1f} MiB")
    print(f"memory shared services: {shared_mib:.1f} MiB")
    print(f"memory {args.apps} redis containers: {total_mib - shared_mib:.1f} MiB")
    print(target_line("addons-provision", statistics.median(provision), "<", 1.5, " s"))
    print(target_line("addons-memory", total_mib, "<", 600, " MiB"))


if __name__ == "__main__":
    main()
