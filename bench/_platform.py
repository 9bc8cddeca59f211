"""A private Hearth for benchmarks: own instance name, data folder, nginx port and worker.

Benchmarks measure the real path (Celery worker, Docker, registry, nginx) without touching a
live platform on the same host.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "panel.settings",
    "HEARTH_INSTANCE": "hearthbench",
    "HEARTH_HOME": "/tmp/hearth-bench",
    "HEARTH_HTTP_LISTEN": "127.0.0.1:18090",
    "HEARTH_REDIS_URL": "redis://127.0.0.1:6379/14",
    "HEARTH_SECRET_KEY": "bench-only",
    "DATABASE_URL": "sqlite:////tmp/hearth-bench/bench.sqlite3",
}


def setup_django() -> None:
    os.environ.update(BENCH_ENV)
    Path(BENCH_ENV["HEARTH_HOME"]).mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # Pages are rendered with the production static storage, which needs its manifest.
    call_command("collectstatic", "--noinput", verbosity=0)


class BenchWorker:
    def __init__(self) -> None:
        self.log = Path(BENCH_ENV["HEARTH_HOME"]) / "worker.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> BenchWorker:
        import redis

        redis.Redis.from_url(BENCH_ENV["HEARTH_REDIS_URL"]).flushdb()
        self.log.write_text("")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "panel",
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
                "--hostname=bench-worker@%h",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env={**os.environ, **BENCH_ENV},
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while b" ready." not in self.log.read_bytes():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"the bench worker did not start; see {self.log}")
            time.sleep(0.2)
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
        # The worker made spare app networks for installs that will not come: remove them.
        from panel.runtime.containers import get_runtime

        runtime = get_runtime()
        filters = {"label": [f"io.hearth.instance={BENCH_ENV['HEARTH_INSTANCE']}"]}
        for network in runtime.client.networks.list(filters=filters):
            with contextlib.suppress(Exception):  # still in use by a service: keep it
                network.remove()


def wait_for_task(task_id: int, timeout: float = 120):
    from panel.core.models import Task

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = Task.objects.get(pk=task_id)
        if not task.is_active:
            return task
        time.sleep(0.01)
    raise SystemExit(f"task {task_id} did not finish within {timeout}s")


def target_line(name: str, measured: float, op: str, goal: float, unit: str = "") -> str:
    ok = {"<=": measured <= goal, "<": measured < goal, ">=": measured >= goal}[op]
    return (
        f"target {name}: {measured:.2f}{unit} (goal {op} {goal:g}{unit}) {'ok' if ok else 'MISSED'}"
    )
