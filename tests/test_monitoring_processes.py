"""The platform's own processes as supervisord runs them: a one-process worker with a thread
pool, and a beat that loads neither Django's apps nor the task modules — and still, through
the real broker, gets the health checks run beside a long install."""

from __future__ import annotations

import configparser
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from panel.core.management.commands.writesupervisorconf import programs
from tests.conftest import ROOT, _database_url, wait_for_task


def supervisor_programs(tmp_path) -> dict[str, dict[str, str]]:
    path = tmp_path / "supervisord.conf"
    call_command("writesupervisorconf", str(path))
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(path.read_text())
    return {
        name.removeprefix("program:"): dict(parser[name])
        for name in parser.sections()
        if name.startswith("program:")
    }


def test_the_worker_is_one_process_with_threads_and_beat_runs_the_light_app(tmp_path):
    config = supervisor_programs(tmp_path)
    worker = shlex.split(config["worker"]["command"])
    assert "--pool=threads" in worker
    concurrency = int(next(a for a in worker if a.startswith("--concurrency=")).split("=")[1])
    # Room for the minute's health check and metrics beside long installs.
    assert concurrency >= 3
    assert 'CELERY_SKIP_CHECKS="1"' in config["worker"]["environment"]
    assert shlex.split(config["beat"]["command"])[1:4] == ["-A", "panel.monitoring.beat", "beat"]
    assert "CELERY_SKIP_CHECKS" not in config["panel"]["environment"]


def _python(code: str) -> str:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "panel.settings_test"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_beat_app_has_the_schedule_and_queue_but_loads_no_apps_or_clients():
    loaded = json.loads(
        _python(
            "import json, sys\n"
            "from panel.monitoring.beat import app\n"
            "app.loader.import_default_modules()\n"
            "print(json.dumps({'schedule': sorted(app.conf.beat_schedule),"
            " 'queue': app.conf.task_default_queue, 'broker': app.conf.broker_url,"
            " 'modules': sorted(sys.modules)}))"
        )
    )
    assert loaded["schedule"] == sorted(settings.CELERY_BEAT_SCHEDULE)
    assert loaded["queue"] == settings.CELERY_TASK_DEFAULT_QUEUE
    assert loaded["broker"] == settings.CELERY_BROKER_URL
    heavy = {"boto3", "docker", "acme", "django.contrib.auth.models", "panel.core.tasks"}
    assert heavy.isdisjoint(loaded["modules"])


class SupervisedWorker:
    """The worker exactly as supervisord starts it, on the test database and queue."""

    def __init__(self, name: str, queue: str) -> None:
        program = next(
            p
            for p in programs(
                Path(sys.executable).parent, ROOT, Path(settings.HEARTH_HOME), worker_name=name
            )
            if p.name == "worker"
        )
        self.log_path = Path(settings.HEARTH_HOME) / f"{name}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            **dict(program.env),
            "DJANGO_SETTINGS_MODULE": "panel.settings_test",
            "DATABASE_URL": _database_url(),
        }
        # Its own queue: a test worker of this session (tests/conftest.py) must not take
        # the tasks meant for this one.
        self.process = subprocess.Popen(
            [*shlex.split(program.command.replace("%%", "%")), f"--queues={queue}"],
            cwd=ROOT,
            env=env,
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while b" ready." not in self.log_path.read_bytes():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"the worker did not start; see {self.log_path}")
            time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_beat_gets_health_checks_run_while_the_worker_is_busy_with_an_install(
    docker_runtime, nginx, publish, domain, make_app
):
    from apps_store.manifest import validate_manifest
    from panel.core.models import AppInstance, Task
    from panel.core.services import cancel_task
    from panel.core.tasks import run_task

    queue = f"{settings.HEARTH_INSTANCE}-supervised"
    worker = SupervisedWorker(queue, queue)
    try:
        # A running app without a container: the health check's verdict is "down".
        probe = make_app("probe", state="running")
        # Never healthy: its install keeps one of the worker's threads for a minute. The rows
        # install_app makes, put on this worker's queue.
        release = publish("unhealthy")
        manifest = validate_manifest(release.manifest)
        long = make_app(
            "long",
            store_app_id=manifest.id,
            title=manifest.title,
            manifest=manifest.data,
            image=release.pinned_image,
            memory_limit=manifest.memory_limit,
            state="pending_install",
        )
        install = Task.objects.create(kind=Task.Kind.INSTALL, app=long, app_label=str(long))
        run_task.apply_async((install.pk,), queue=queue)
        wait_until(lambda: Task.objects.get(pk=install.pk).percent >= 75, 120, "the install's wait")
        assert Task.objects.get(pk=install.pk).worker.startswith(f"{queue}@")

        # What beat does each minute, from beat's own app.
        _python(
            "from panel.monitoring.beat import app\n"
            f"app.send_task('monitoring.check_health', queue={queue!r})"
        )

        wait_until(
            lambda: AppInstance.objects.get(pk=probe.pk).health == "down", 30, "the health check"
        )
        assert Task.objects.get(pk=install.pk).state == Task.State.RUNNING
        cancel_task(install)
        assert wait_for_task(install.pk, timeout=60).state == Task.State.CANCELLED
    finally:
        worker.stop()


def test_the_worker_and_the_panel_load_no_s3_client_or_browser_at_idle():
    """boto3 (~30 MiB a process) loads on the first S3 or Route 53 call, playwright never."""
    loaded = set(
        json.loads(
            _python(
                "import json, sys, django\n"
                "django.setup()\n"
                "from panel.celery import app\n"
                "app.loader.import_default_modules()  # every task module, as the worker\n"
                "from django.urls import get_resolver\n"
                "get_resolver().url_patterns  # every view, as the panel\n"
                "print(json.dumps(sorted(sys.modules)))"
            )
        )
    )
    assert "panel.backups.storages.s3" in loaded and "panel.core.tasks" in loaded
    assert {"boto3", "botocore", "playwright"}.isdisjoint(loaded)
