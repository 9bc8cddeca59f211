"""How much slower is "install through Hearth" than a bare `docker run` of the same image?

Both sides run the same image with the same health poll, in the same run:
- Hearth: install_app() → Celery worker → pull by digest → network + volume → container →
  nginx server block (nginx -t, reload) → health poll → running;
- baseline: `docker run -d` of the image (read-only root and a /app/data volume, as the
  platform does) → the same health poll against the container address.

Target (issue 2): median Hearth time ≤ 1.5 × median docker run time.
Run: .venv/bin/python bench/install.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._platform import BenchWorker, setup_django, target_line, wait_for_task  # noqa: E402


def hearth_install(release, domain, index: int) -> float:
    from panel.core.services import install_app, request_app_action

    started = time.perf_counter()
    app = install_app(release=release, subdomain=f"bench{index}", domain=domain)
    task = wait_for_task(app.tasks.get().pk)
    elapsed = time.perf_counter() - started
    if task.state != "succeeded":
        raise SystemExit(f"install failed, cannot measure: {task.error}")
    wait_for_task(request_app_action(app, "uninstall").pk)
    return elapsed


def docker_run(image: str, port: int, path: str) -> float:
    from panel.runtime.health import wait_until_healthy

    name = "hearthbench-baseline"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    started = time.perf_counter()
    subprocess.run(
        [
            "docker",
            "run",
            "-d",
            "--name",
            name,
            "--read-only",
            "--tmpfs",
            "/tmp:mode=1777",
            "--tmpfs",
            "/run:mode=1777",
            "--mount",
            "type=volume,dst=/app/data",
            image,
        ],
        check=True,
        capture_output=True,
    )
    address = subprocess.run(
        ["docker", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", name],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    healthy, detail = wait_until_healthy(address, port, path, timeout=60)
    elapsed = time.perf_counter() - started
    subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True)
    if not healthy:
        raise SystemExit(f"baseline container never became healthy: {detail}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    setup_django()
    from apps_store.services import PACKAGES_DIR, build_package, record_release
    from panel.domains.services import ensure_default_domain
    from panel.proxy.nginx import get_nginx

    nginx = get_nginx()
    nginx.ensure_running()
    folder = PACKAGES_DIR / "staticsite"
    manifest, tag, digest = build_package(folder)
    release = record_release(folder, manifest, tag, digest)
    domain = ensure_default_domain()

    hearth, baseline = [], []
    try:
        with BenchWorker():
            hearth_install(release, domain, 0)  # warm-up: first pull, first import in worker
            for index in range(1, args.runs + 1):
                hearth.append(hearth_install(release, domain, index))
                baseline.append(docker_run(tag, manifest.http_port, manifest.health_check_path))
    finally:
        nginx.stop()

    h, b = statistics.median(hearth), statistics.median(baseline)
    print(f"runs: {args.runs}")
    for label, values in (("hearth install", hearth), ("docker run    ", baseline)):
        print(
            f"{label} → healthy: median {statistics.median(values):.3f} s "
            f"(min {min(values):.3f}, max {max(values):.3f})"
        )
    print(f"ratio: {h / b:.2f}")
    print(target_line("install", h / b, "<=", 1.5))


if __name__ == "__main__":
    main()
