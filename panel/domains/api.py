"""JSON API for an app's host ports and environment overrides: the same services as the
app page. A change answers 202 with the task that recreates the container."""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_http_methods

from panel.core.access import admin_required, get_app_for_user
from panel.core.api import task_json
from panel.core.services import ActionRejected
from panel.domains.app_settings import change_host_ports, set_env_overrides


def _body(request: HttpRequest) -> tuple[dict | None, JsonResponse | None]:
    try:
        body = json.loads(request.body or b"{}")
    except json.JSONDecodeError as exc:
        return None, JsonResponse({"errors": {"body": f"invalid JSON: {exc}"}}, status=400)
    if not isinstance(body, dict):
        return None, JsonResponse({"errors": {"body": "expected a JSON object"}}, status=400)
    return body, None


def _change(request: HttpRequest, app, field: str, service) -> JsonResponse:
    body, problem = _body(request)
    if problem is not None:
        return problem
    try:
        task = service(app, body.get(field, {}), user=request.user)
    except ActionRejected as exc:
        busy = any("busy" in m or m.startswith("cannot ") for m in exc.errors.values())
        return JsonResponse({"errors": exc.errors}, status=409 if busy else 400)
    return JsonResponse({"task": task_json(task)}, status=202)


@require_http_methods(["GET", "PUT", "POST"])
@admin_required
def app_environment(request: HttpRequest, app_id) -> JsonResponse:
    """GET the overrides; PUT (or POST) {"env_overrides": {NAME: value}} replaces them."""
    app = get_app_for_user(request, app_id)
    if request.method == "GET":
        return JsonResponse({"env_overrides": app.env_overrides or {}})
    return _change(request, app, "env_overrides", set_env_overrides)


@require_http_methods(["GET", "PUT", "POST"])
@admin_required
def app_ports(request: HttpRequest, app_id) -> JsonResponse:
    """GET the host ports; PUT (or POST) {"host_ports": {VARIABLE: port}} changes them."""
    app = get_app_for_user(request, app_id)
    if request.method == "GET":
        return JsonResponse({"host_ports": app.host_ports or {}})
    return _change(request, app, "host_ports", change_host_ports)
