"""The pages the live parts hang on: they work as plain HTML first (polling while busy, no
polling when done) and carry what the websockets and charts need."""

from __future__ import annotations

import pytest

from panel.core.models import AppInstance, Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(domain):
    return AppInstance.objects.create(
        store_app_id="io.hearth.staticsite",
        title="Site",
        version="1.0.0",
        manifest={"healthCheckPath": "/healthz", "httpPort": 8000},
        image="x",
        subdomain="site",
        domain=domain,
        memory_limit=64 << 20,
        state="running",
        health="oom",
    )


def test_app_page_carries_the_live_log_the_graphs_and_the_health(app, owner_client):
    page = owner_client.get(f"/apps/{app.pk}/").content.decode()
    assert f'data-ws="/ws/apps/{app.pk}/logs/"' in page
    assert f'action="/apps/{app.pk}/logs/download/"' in page
    assert f'data-metrics-url="/apps/{app.pk}/metrics.json"' in page
    assert 'id="app-health">oom</span>' in page
    assert f'data-ws="/ws/apps/{app.pk}/"' in page  # progress pushes
    assert 'href="?range=7d"' in page  # graph ranges work as links without JavaScript


def test_task_page_polls_while_the_task_runs_and_stops_when_it_is_done(app, owner_client):
    task = Task.objects.create(kind="install", app=app, state="running", percent=40, log="a\n")
    page = owner_client.get(f"/tasks/{task.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' in page and 'hx-select="#task-live"' in page
    assert f'data-ws="/ws/tasks/{task.pk}/"' in page and 'data-offset="2"' in page
    assert 'value="40"' in page
    Task.objects.filter(pk=task.pk).update(state="succeeded", percent=100)
    page = owner_client.get(f"/tasks/{task.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' not in page
    assert 'value="100"' in page


def test_top_bar_links_the_system_page_and_the_notification_centre(owner_client):
    page = owner_client.get("/").content.decode()
    assert 'href="/system/"' in page
    assert 'id="notification-link"' in page and 'href="/notifications/"' in page
