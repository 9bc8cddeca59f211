"""The dashboard in a real browser (Debian's Chromium driven by Playwright) against the panel
served by daphne, with a real worker, Docker and nginx: log in, install the static website,
watch the progress reach 100% without a reload, open the site and see its log line arrive
live, stop it, and see the graph pages draw. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect, sync_playwright

from panel.core.models import AppInstance
from panel.monitoring.metrics import sample_metrics

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page(monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the ORM calls in between
    # are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.errors = errors
        yield page
        browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_install_watch_open_see_log_stop_and_graphs_in_a_browser(
    browser_page, panel_server, worker, nginx, publish, owner, domain
):
    page = browser_page
    publish("staticsite")
    base = panel_server.url

    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", "owner")
    page.fill("input[name=password]", "pw-owner")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Your apps")
    shot(page, "01-dashboard-empty")

    page.goto(f"{base}/store/io.hearth.staticsite/install/")
    page.fill("input[name=subdomain]", "browser")
    page.select_option("select[name=domain]", label=domain.name)
    page.click("button.primary")
    if page.locator(".error").count():
        pytest.fail("install form: " + page.locator("main").inner_text())
    expect(page.locator("h1")).to_have_text("Static Website")
    app = AppInstance.objects.get(subdomain="browser")

    # From here on the page must never load again: a reload would wipe this marker.
    page.evaluate("window.__sameDocument = true")
    progress_fetches = []
    page.on(
        "request",
        lambda request: (
            progress_fetches.append(request.url) if "/progress/" in request.url else None
        ),
    )
    expect(page.locator('#task-progress[value="100"]')).to_be_visible(timeout=120_000)
    expect(page.locator("#app-state")).to_have_text("Running")
    assert page.evaluate("window.__sameDocument") is True
    # Pushed over the websocket, not polled every second: only the catch-up fetch when the
    # socket opened and the one that fetched the finished fragment.
    assert len(progress_fetches) <= 3, progress_fetches
    expect(page.locator("#app-status")).not_to_have_attribute("hx-trigger", "every 1s")
    shot(page, "02-app-installed")

    site = page.context.new_page()
    listen_port = settings.HEARTH_HTTP_LISTEN.rsplit(":", 1)[1]
    site.goto(f"http://browser.localhost:{listen_port}/?hello-from-the-browser-test")
    expect(site.locator("body")).to_contain_text("Welcome to your website")
    site.close()
    line = page.locator("#app-log .line", has_text="GET /?hello-from-the-browser-test")
    expect(line).to_be_visible(timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True

    total = page.locator("#app-log .line").count()
    page.fill("[data-log-filter]", "GET /?hello-from-the-browser-test")
    expect(page.locator("#app-log .line:visible")).to_have_count(1)
    assert total > 1  # the other lines are hidden by the filter, not gone
    shot(page, "03-live-log")

    # Two samples a few seconds apart, as beat takes them, while the app runs.
    sample_metrics(int(time.time()) - 60)
    time.sleep(1)
    sample_metrics()

    page.click("#app-status button:text('Stop')")
    expect(page.locator("#app-state")).to_have_text("Stopped", timeout=60_000)
    shot(page, "04-app-stopped")

    page.goto(f"{base}/apps/{app.pk}/graphs/")
    expect(page.locator("#app-graphs[data-loaded=true]")).to_be_attached()
    expect(page.locator("#app-graphs .uplot canvas")).to_have_count(4)
    shot(page, "05-app-graphs")

    page.goto(f"{base}/system/")
    expect(page.locator("#host-graphs .uplot canvas")).to_have_count(4)
    expect(page.locator("#services")).to_contain_text("dockerd")
    shot(page, "06-system")

    page.goto(f"{base}/")
    expect(page.locator("#app-list")).to_contain_text("browser.localhost")
    shot(page, "07-dashboard")
    page.goto(f"{base}/notifications/")
    shot(page, "08-notifications")

    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{base}/apps/{app.pk}/")
    shot(page, "09-app-phone-width")
    assert page.errors == [], page.errors
    assert os.path.getsize(ARTIFACTS / "05-app-graphs.png") > 0


def test_the_task_page_follows_the_task_live_in_a_browser(
    browser_page, panel_server, owner, domain
):
    from panel.core.models import Task
    from panel.core.operations import TaskProgress, _finish

    page = browser_page
    app = AppInstance.objects.create(
        store_app_id="io.hearth.staticsite",
        title="Site",
        version="1.0.0",
        manifest={},
        image="x",
        subdomain="tasksite",
        domain=domain,
        memory_limit=1,
        state="pending_install",
    )
    task = Task.objects.create(kind="install", app=app, app_label=str(app), state="running")
    progress = TaskProgress(task)
    progress.step(10, "Pulling the image")

    page.goto(f"{panel_server.url}/accounts/login/?next=/tasks/{task.pk}/")
    page.fill("input[name=login]", "owner")
    page.fill("input[name=password]", "pw-owner")
    page.click("button[type=submit]")
    expect(page.locator("#task-live .log")).to_contain_text("Pulling the image")
    page.evaluate("window.__sameDocument = true")
    polls = []
    page.on("request", lambda r: polls.append(r.url) if f"/tasks/{task.pk}/" in r.url else None)
    expect(page.locator("#task-live[data-live=true]")).to_be_attached()
    polls.clear()

    # Pushed from this process through Redis to daphne and on to the browser.
    progress.step(60, "Starting the container")
    expect(page.locator("#task-live .log")).to_contain_text("Starting the container")
    expect(page.locator("#task-live .task-state")).to_have_text("running · 60%")
    task.state = Task.State.RUNNING
    _finish(task, Task.State.SUCCEEDED)
    expect(page.locator("#task-live .task-state")).to_have_text("succeeded · 100%")
    log = page.locator("#task-live .log").inner_text()
    assert log.count("Pulling the image") == 1 and log.count("Starting the container") == 1
    assert page.evaluate("window.__sameDocument") is True
    assert polls == []  # while the socket is open, the 1 s polling stands down
    shot(page, "10-task-page")
    assert page.errors == [], page.errors
