"""An app's documented commands (manifest `commands`) on its terminal page: typed into the
open shell over the websocket, or run with `docker exec` without JavaScript; only documented
ones, every run in the event log."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse

from apps_store.manifest import ManifestError, validate_manifest
from panel.core.models import Event
from tests.test_monitoring_terminal import read_until, terminal

COMMANDS = [
    {"name": "Count files", "command": "ls /etc | wc -l; echo counted-$((20 + 22))"},
    {"name": "Fail", "command": "echo broken >&2; exit 3", "description": "Always fails."},
]
MINIMAL = {
    "manifestVersion": 2,
    "id": "org.example.cmds",
    "title": "Cmds",
    "version": "1.0.0",
    "healthCheckPath": "/",
    "httpPort": 8000,
}


def test_the_manifest_accepts_documented_commands_and_names_mistakes():
    assert validate_manifest({**MINIMAL, "commands": COMMANDS}).commands == COMMANDS
    with pytest.raises(ManifestError) as missing:
        validate_manifest({**MINIMAL, "commands": [{"name": "No command"}]})
    assert "commands[0]" in str(missing.value) and "command" in str(missing.value)
    with pytest.raises(ManifestError) as unknown:
        validate_manifest({**MINIMAL, "commands": [{"name": "x", "command": "y", "cmd": "z"}]})
    assert "cmd" in str(unknown.value)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_without_javascript_a_command_runs_and_its_output_is_shown(
    app_with_container, owner_client
):
    app, _ = app_with_container("sleep 600", subdomain="cmds", manifest={"commands": COMMANDS})
    url = reverse("monitoring:app_terminal", args=[app.pk])
    page = owner_client.get(url).content.decode()
    assert "Count files" in page and "Always fails." in page

    response = owner_client.post(url, {"command": "Count files"})
    assert response.status_code == 302 and response["Location"] == url
    page = owner_client.get(url).content.decode()
    assert "counted-42" in page and "exit code 0" in page
    # The output is shown once, not on every later visit.
    assert "counted-42" not in owner_client.get(url).content.decode()

    owner_client.post(url, {"command": "Fail"})
    page = owner_client.get(url).content.decode()
    assert "broken" in page and "exit code 3" in page

    # Only documented commands run: a name it does not document is refused, nothing runs.
    response = owner_client.post(url, {"command": "rm -rf /"}, follow=True)
    assert "documents no command named" in response.content.decode()
    messages = list(
        Event.objects.filter(app=app, action="terminal_command").values_list("message", flat=True)
    )
    assert sorted(messages) == [
        "Count files: ls /etc | wc -l; echo counted-$((20 + 22)) → exit code 0",
        "Fail: echo broken >&2; exit 3 → exit code 3",
    ]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
async def test_with_the_shell_open_a_command_is_typed_into_it_and_logged(app_with_container, owner):
    app, _ = await sync_to_async(app_with_container)(
        "sleep 600", subdomain="typed", manifest={"commands": COMMANDS}
    )
    ws = terminal(app, owner)
    connected, _ = await ws.connect()
    assert connected
    await ws.send_to(text_data='{"run": "Count files"}')
    await read_until(ws, b"counted-42")
    await ws.send_to(text_data='{"run": "not documented"}')
    await ws.send_to(text_data="echo still-$((1 + 1))\n")
    output = await read_until(ws, b"still-2")
    assert b"not documented" not in output
    await ws.disconnect()
    messages = await sync_to_async(list)(
        Event.objects.filter(app=app, action="terminal_command").values_list("message", flat=True)
    )
    assert messages == [
        "Count files: ls /etc | wc -l; echo counted-$((20 + 22)) → typed into the terminal"
    ]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_in_a_browser_the_button_types_the_command_into_the_open_shell(
    app_with_container, panel_server, owner, monkeypatch
):
    from playwright.sync_api import expect, sync_playwright

    from tests.test_e2e_browser import ARTIFACTS, CHROMIUM_ARGS

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    app, _ = app_with_container("sleep 600", subdomain="btn", manifest={"commands": COMMANDS})
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        page.set_default_timeout(30_000)
        terminal_url = reverse("monitoring:app_terminal", args=[app.pk])
        page.goto(f"{panel_server.url}/accounts/login/?next={terminal_url}")
        page.fill("input[name=login]", "owner")
        page.fill("input[name=password]", "pw-owner")
        page.click("main button[type=submit]")
        expect(page.locator("#terminal .xterm-rows")).to_be_visible()
        # The shell's prompt: its socket is open.
        page.wait_for_function(
            "document.querySelector('#terminal .xterm-rows').textContent.trim().length > 0"
        )
        page.evaluate("window.__sameDocument = true")
        page.click("form.run-command button:text-is('Count files')")
        expect(page.locator("#terminal .xterm-rows")).to_contain_text("counted-42")
        assert page.evaluate("window.__sameDocument") is True  # typed, not posted
        page.screenshot(path=str(ARTIFACTS / "terminal-command.png"), full_page=True)
        browser.close()
    assert Event.objects.filter(
        app=app, action="terminal_command", message__endswith="typed into the terminal"
    ).exists()
