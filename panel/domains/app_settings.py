"""Owner's settings of an installed app that only a new container applies: its host ports and
its environment overrides. Each change is validated, saved and followed by a restart task
that recreates the container from the new spec — in one transaction, so a refused change
(or an app that is busy) leaves nothing saved.
"""

from __future__ import annotations

import re

from django.db import transaction

from panel.core.events import record_event
from panel.core.models import AppInstance, Task
from panel.domains.ports import check_host_ports, declared_ports

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# Hearth's own variables: every addon variable and the platform's are set under both.
RESERVED_PREFIXES = ("HEARTH_", "CLOUDRON_")
RESERVED_NAMES = {"HEARTH", "CLOUDRON"}
MAX_VARIABLES = 100
MAX_NAME_LENGTH = 128
MAX_VALUE_LENGTH = 4096
MAX_TOTAL_SIZE = 64 * 1024


def check_env_overrides(app: AppInstance, overrides: object) -> tuple[dict[str, str], list[str]]:
    """The overrides to store and what is wrong with them (each problem names the variable)."""
    if not isinstance(overrides, dict):
        return {}, ['Expected variables as an object, such as {"LOG_LEVEL": "debug"}.']
    problems: list[str] = []
    ports = {port.name for port in declared_ports(app.manifest)}
    clean: dict[str, str] = {}
    if len(overrides) > MAX_VARIABLES:
        problems.append(f"At most {MAX_VARIABLES} variables; there are {len(overrides)}.")
    for name, value in overrides.items():
        name = str(name)
        if not ENV_NAME.match(name) or len(name) > MAX_NAME_LENGTH:
            problems.append(
                f"{name or '(empty name)'}: a name is upper-case letters, digits and "
                f"underscores, not starting with a digit, at most {MAX_NAME_LENGTH} characters."
            )
        elif name in RESERVED_NAMES or name.startswith(RESERVED_PREFIXES):
            problems.append(
                f"{name}: names starting with HEARTH_ or CLOUDRON_ are Hearth's own (addon "
                "credentials, the app's origin); choose another name."
            )
        elif name in ports:
            problems.append(f"{name}: Hearth sets it to the app's host port; change the port.")
        elif not isinstance(value, str | int | float) or isinstance(value, bool):
            problems.append(f"{name}: the value must be text.")
        elif "\x00" in str(value):
            problems.append(f"{name}: the value contains a NUL character.")
        elif len(str(value)) > MAX_VALUE_LENGTH:
            problems.append(f"{name}: the value is longer than {MAX_VALUE_LENGTH} characters.")
        else:
            clean[name] = str(value)
    total = sum(len(k) + len(v) + 2 for k, v in clean.items())
    if total > MAX_TOTAL_SIZE:
        problems.append(f"All variables together are {total} bytes; at most {MAX_TOTAL_SIZE}.")
    return clean, problems


def parse_env_lines(text: str) -> tuple[dict[str, str], list[str]]:
    """NAME=value lines (blank lines and # comments skipped) as the dashboard's form has them."""
    values: dict[str, str] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, equals, value = line.partition("=")
        name = name.strip()
        if not equals:
            problems.append(f"Line {number}: write NAME=value.")
        elif name in values:
            problems.append(f"Line {number}: {name} is set twice.")
        else:
            values[name] = value
    return values, problems


def env_lines(overrides: dict[str, str]) -> str:
    return "\n".join(f"{name}={value}" for name, value in sorted(overrides.items()))


def _queue_recreate(app: AppInstance, user, field: str, event: str, message: str) -> Task:
    from panel.core.services import ActionRejected, _queue

    try:
        task = _queue(app, Task.Kind.RESTART, "restart", user, params={"recreate": True})
    except ActionRejected as exc:
        raise ActionRejected({field: exc.errors.get("action", str(exc))}) from None
    record_event(event, app=app, actor=user, message=message)
    return task


def set_env_overrides(app: AppInstance, overrides: object, user=None) -> Task:
    """Replace the app's environment overrides and recreate its container with them."""
    from panel.core.services import ActionRejected

    clean, problems = check_env_overrides(app, overrides)
    if problems:
        raise ActionRejected({"env_overrides": " ".join(problems)})
    with transaction.atomic():
        app = AppInstance.objects.select_for_update().get(pk=app.pk)
        app.env_overrides = clean
        app.save(update_fields=["env_overrides", "updated_at"])
        names = ", ".join(sorted(clean)) or "none"
        return _queue_recreate(
            app, user, "env_overrides", "env_changed", f"environment overrides: {names}"
        )


def change_host_ports(app: AppInstance, requested: object, user=None) -> Task:
    """Give the app other host ports (checked like at install) and recreate its container."""
    from panel.core.services import ActionRejected

    if not isinstance(requested, dict):
        raise ActionRejected({"host_ports": 'Expected an object such as {"SSH_PORT": 2222}.'})
    if not declared_ports(app.manifest):
        raise ActionRejected({"host_ports": f"{app.title} declares no TCP or UDP ports."})
    with transaction.atomic():
        app = AppInstance.objects.select_for_update().select_related("domain").get(pk=app.pk)
        # Ports left out keep their current value, not the manifest's default.
        chosen, errors = check_host_ports(
            app.manifest, {**(app.host_ports or {}), **requested}, app=app
        )
        if errors:
            raise ActionRejected(errors)
        app.host_ports = chosen
        # update_fields names host_ports: the firewall follows (panel.domains.signals).
        app.save(update_fields=["host_ports", "updated_at"])
        shown = ", ".join(f"{name}={port}" for name, port in sorted(chosen.items()))
        return _queue_recreate(app, user, "host_ports", "ports_changed", shown)
