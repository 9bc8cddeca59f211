"""An app's documented commands (the manifest's `commands`), run from its terminal page.

Only commands the manifest documents run this way: the page sends a command's name, never its
text. With JavaScript the command is typed into the open shell (TerminalConsumer); without it,
run_documented_command runs it with `docker exec` and returns the output. Both record it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from panel.core.events import record_event
from panel.core.models import AppInstance, Event
from panel.core.services import ActionRejected
from panel.runtime.containers import get_runtime
from panel.runtime.spec import app_resource_names

# A no-JavaScript run holds a request open: it is stopped after this long.
RUN_TIMEOUT_SECONDS = 60
MAX_OUTPUT_CHARS = 64_000


@dataclass(frozen=True)
class CommandRun:
    name: str
    command: str
    exit_code: int
    output: str


def documented_commands(app: AppInstance) -> list[dict]:
    return [dict(item) for item in (app.manifest or {}).get("commands", [])]


def find_command(app: AppInstance, name: str) -> dict:
    for item in documented_commands(app):
        if item["name"] == name:
            return item
    known = ", ".join(item["name"] for item in documented_commands(app)) or "none"
    raise ActionRejected(
        {"command": f"{app.title} documents no command named {name!r} (it has: {known})."}
    )


def record_command_run(app: AppInstance, user, item: dict, outcome: str = "") -> None:
    record_event(
        "terminal_command",
        app=app,
        actor=user,
        outcome=Event.Outcome.INFO,
        message=f"{item['name']}: {item['command']}" + (f" → {outcome}" if outcome else ""),
    )


def run_documented_command(app: AppInstance, name: str, user=None) -> CommandRun:
    """Run one documented command in the app's container and return what it printed."""
    item = find_command(app, name)
    container = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    try:
        code, output = get_runtime().exec_in_container(
            container, ["timeout", str(RUN_TIMEOUT_SECONDS), "sh", "-c", item["command"]]
        )
    except Exception as exc:  # noqa: BLE001 - a stopped or missing container
        record_command_run(app, user, item, f"not run: {exc}")
        raise ActionRejected(
            {"command": f"cannot run it: {exc}. Start {app.title} first."}
        ) from None
    if code == 124:
        output += f"\n[stopped after {RUN_TIMEOUT_SECONDS} s; run it in the terminal instead]"
    record_command_run(app, user, item, f"exit code {code}")
    if len(output) > MAX_OUTPUT_CHARS:
        output = "[…]\n" + output[-MAX_OUTPUT_CHARS:]
    return CommandRun(name=item["name"], command=item["command"], exit_code=code, output=output)
