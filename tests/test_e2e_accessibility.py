"""Accessibility and habits in a real browser (Debian's Chromium, Playwright) against the panel
under daphne: phone-width pages without sideways scrolling, keyboard-only use with a skip link
and a visible focus, every action without JavaScript, times in the reader's time zone, and
the cancel button through HTMX. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from panel.core.models import AppInstance, Event, Task
from panel.core.services import install_app, request_app_action
from tests.conftest import wait_for_task
from tests.test_e2e_browser import ARTIFACTS, CHROMIUM_ARGS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 800}


@pytest.fixture
def browser(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def signed_in(browser, base: str, *, next_path: str = "/", **context_options):
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.fill("input[name=login]", "owner")
    page.fill("input[name=password]", "pw-owner")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than the viewport (0: no sideways scroll)."""
    return page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - window.innerWidth"
    )


def many_apps(domain, count: int = 6) -> list[AppInstance]:
    states = ["running", "stopped", "error", "installing", "running", "pending_start"]
    return [
        AppInstance.objects.create(
            store_app_id=f"org.example.averyverylongapplicationidentifier{n}",
            title=f"An application with a rather long title number {n}",
            version="10.20.30-beta.4",
            manifest={"healthCheckPath": "/", "httpPort": 8000},
            image="127.0.0.1:5000/example/app@sha256:" + "ab" * 32,
            subdomain=f"a-quite-long-subdomain-for-app-{n}",
            domain=domain,
            memory_limit=256 << 20,
            state=states[n % len(states)],
            error="Something went wrong: " + "x" * 120 if n % 6 == 2 else "",
        )
        for n in range(count)
    ]


def test_at_phone_width_the_main_pages_do_not_scroll_sideways(
    browser, panel_server, owner, domain, publish
):
    apps = many_apps(domain)
    Event.objects.create(action="install", app=apps[0], message="y" * 200)
    task = Task.objects.create(
        kind="install", app=apps[3], app_label=str(apps[3]), state="running", log="z" * 300
    )
    publish("staticsite")
    page = signed_in(browser, panel_server.url, viewport=PHONE)
    pages = {
        "dashboard": "/",
        "app": reverse("core:app_detail", args=[apps[2].pk]),
        "store": reverse("apps_store:index"),
        "store-app": reverse("apps_store:app", args=["io.hearth.staticsite"]),
        "install": reverse("apps_store:install", args=["io.hearth.staticsite"]),
        "task": reverse("core:task_detail", args=[task.pk]),
        "events": reverse("core:events"),
        "system": reverse("monitoring:system"),
        "notifications": reverse("monitoring:notifications"),
        "account": reverse("accounts:profile"),
    }
    wide = {}
    for name, path in pages.items():
        page.goto(panel_server.url + path)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(ARTIFACTS / f"a11y-375-{name}.png"), full_page=True)
        if horizontal_overflow(page) > 0:
            wide[name] = horizontal_overflow(page)
    assert wide == {}, f"pages wider than 375 px (by px): {wide}"


def test_keyboard_only_reaches_and_triggers_an_app_action_with_a_visible_focus(
    browser, panel_server, owner, domain
):
    app = AppInstance.objects.create(
        store_app_id="io.hearth.staticsite",
        title="Keyboard",
        version="1.0.0",
        manifest={"healthCheckPath": "/", "httpPort": 8000},
        image="x",
        subdomain="keys",
        domain=domain,
        memory_limit=64 << 20,
        state="running",
    )
    page = signed_in(browser, panel_server.url, viewport={"width": 1000, "height": 800})

    # The first Tab lands on the skip link, which takes the focus past the navigation.
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    def tab_to(predicate: str, limit: int = 40) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(f"(el => {predicate})(document.activeElement)"):
                return
        raise AssertionError(f"Tab never reached an element where {predicate}")

    tab_to("el.textContent.trim() === 'Keyboard'")
    focused = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth]; })()"
    )
    assert focused[0] != "none" and focused[1] != "0px", focused
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Keyboard")

    tab_to("el.tagName === 'BUTTON' && el.textContent.trim() === 'Restart'")
    page.keyboard.press("Enter")
    # (A worker, if one runs in this session, may already have taken the task on.)
    expect(page.locator(".messages")).to_contain_text("Restart of Keyboard queued.")
    assert Task.objects.filter(app=app, kind="restart").exists()
    page.screenshot(path=str(ARTIFACTS / "a11y-keyboard-restart.png"), full_page=True)


def test_without_javascript_an_app_is_stopped_and_started_through_the_forms(
    browser, panel_server, worker, nginx, publish, owner, domain
):
    app = install_app(release=publish("staticsite"), subdomain="nojs", domain=domain)
    assert wait_for_task(app.tasks.get().pk, timeout=180).state == Task.State.SUCCEEDED
    page = signed_in(
        browser,
        panel_server.url,
        next_path=reverse("core:app_detail", args=[app.pk]),
        java_script_enabled=False,
    )
    expect(page.locator("#app-state")).to_have_text("Running")

    def press_and_wait_for(button: str, state: str) -> None:
        page.click(f"#app-status button:text-is('{button}')")
        assert page.url.endswith(reverse("core:app_detail", args=[app.pk]))  # POST, redirect
        deadline = time.monotonic() + 90
        while page.locator("#app-state").inner_text() != state:
            assert time.monotonic() < deadline, page.locator("main").inner_text()
            time.sleep(0.5)
            page.reload()  # what a reader without JavaScript does

    press_and_wait_for("Stop", "Stopped")
    page.screenshot(path=str(ARTIFACTS / "a11y-nojs-stopped.png"), full_page=True)
    press_and_wait_for("Start", "Running")
    wait_for_task(request_app_action(app, "uninstall").pk, timeout=120)


def test_times_are_shown_in_the_browsers_time_zone(browser, panel_server, owner, domain):
    app = many_apps(domain, 1)[0]
    event = Event.objects.create(action="install", app=app, message="zoned")
    Event.objects.filter(pk=event.pk).update(created_at="2026-01-15T12:00:00Z")
    page = signed_in(
        browser,
        panel_server.url,
        next_path=reverse("core:events"),
        timezone_id="Asia/Tokyo",
        java_script_enabled=False,
    )
    # Without JavaScript: the zone is not known yet, times are UTC and say so; the reader
    # can pick a zone with a plain form.
    row = page.locator("tr", has_text="zoned")
    expect(row).to_contain_text("12:00")
    page.goto(panel_server.url + reverse("monitoring:timezone"))
    page.select_option("select[name=timezone]", "Asia/Tokyo")
    page.click("main button[type=submit]")
    page.goto(panel_server.url + reverse("core:events"))
    expect(page.locator("tr", has_text="zoned")).to_contain_text("21:00")

    # With JavaScript the browser's own zone is sent along (a cookie) and used by the server.
    page = signed_in(
        browser,
        panel_server.url,
        next_path=reverse("core:events"),
        timezone_id="America/New_York",
    )
    page.reload()
    expect(page.locator("tr", has_text="zoned")).to_contain_text("07:00")


def test_the_cancel_button_works_through_htmx(browser, panel_server, owner, domain):
    app = many_apps(domain, 1)[0]
    AppInstance.objects.filter(pk=app.pk).update(state="pending_stop")
    # Queued, but never put on the broker: it stays queued until cancelled.
    task = Task.objects.create(
        kind="stop", app=app, app_label=str(app), params={"previous_state": "running"}
    )
    page = signed_in(browser, panel_server.url, next_path=reverse("core:app_detail", args=[app.pk]))
    page.evaluate("window.__sameDocument = true")
    page.click("#cancel-task")
    expect(page.locator("#app-state")).to_have_text("Running")
    expect(page.locator("#cancel-task")).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True  # swapped in place, no reload
    task.refresh_from_db()
    assert task.state == Task.State.CANCELLED
