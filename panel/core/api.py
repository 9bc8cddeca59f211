"""The JSON API: the same service functions as the dashboard, in machine-readable form."""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_http_methods, require_POST

from apps_store.models import Release
from panel.core.access import admin_required, get_app_for_user, is_admin, signed_in_required
from panel.core.models import AppInstance, Task
from panel.core.services import ActionRejected, cancel_task, install_app, request_app_action
from panel.domains.models import Domain


def app_json(app: AppInstance) -> dict:
    return {
        "id": str(app.id),
        "store_app_id": app.store_app_id,
        "title": app.title,
        "version": app.version,
        "location": app.fqdn,
        "url": app.url,
        "state": app.state,
        "error": app.error,
        "memory_limit": app.memory_limit,
        "host_ports": app.host_ports,
        "created_at": app.created_at.isoformat(),
    }


def task_json(task: Task) -> dict:
    return {
        "id": task.pk,
        "kind": task.kind,
        "app": str(task.app_id) if task.app_id else None,
        "state": task.state,
        "percent": task.percent,
        "message": task.message,
        "error": task.error,
        "cancel_requested": task.cancel_requested,
    }


def _errors(errors: dict[str, str], status: int = 400) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=status)


@require_http_methods(["GET", "POST"])
@admin_required
def apps_collection(request: HttpRequest) -> JsonResponse:
    if request.method == "GET":
        apps = AppInstance.objects.select_related("domain")
        return JsonResponse({"apps": [app_json(a) for a in apps]})
    try:
        body = json.loads(request.body or b"{}")
    except json.JSONDecodeError as exc:
        return _errors({"body": f"invalid JSON: {exc}"})
    if not isinstance(body, dict):
        return _errors({"body": "expected a JSON object"})
    releases = Release.objects.filter(store_app__app_id=body.get("store_app_id", ""))
    if body.get("version"):
        releases = releases.filter(version=body["version"])
    release = releases.order_by("-sort_key").first()
    if release is None:
        return _errors({"store_app_id": "no such app (or version) in the store"})
    domain = Domain.objects.filter(name=body.get("domain", "")).first()
    host_ports = body.get("host_ports") or {}
    if not isinstance(host_ports, dict):
        return _errors({"host_ports": 'expected an object such as {"SSH_PORT": 2222}'})
    try:
        app = install_app(
            release=release,
            subdomain=str(body.get("subdomain", "")),
            domain=domain,
            user=request.user,
            host_ports=host_ports,
        )
    except ActionRejected as exc:
        return _errors(exc.errors)
    return JsonResponse({"app": app_json(app), "task": task_json(app.tasks.first())}, status=202)


@require_http_methods(["GET"])
@signed_in_required
def app_resource(request: HttpRequest, app_id) -> JsonResponse:
    return JsonResponse({"app": app_json(get_app_for_user(request, app_id))})


@require_POST
@signed_in_required
def app_action(request: HttpRequest, app_id, action: str) -> JsonResponse:
    app = get_app_for_user(request, app_id)
    try:
        task = request_app_action(app, action, user=request.user)
    except ActionRejected as exc:
        return _errors(exc.errors, status=409)
    return JsonResponse({"task": task_json(task)}, status=202)


@require_http_methods(["GET"])
@signed_in_required
def task_resource(request: HttpRequest, task_id: int) -> JsonResponse:
    task = get_object_or_404(Task, pk=task_id)
    if task.app_id:
        get_app_for_user(request, task.app_id)
    elif not is_admin(request.user):
        raise PermissionDenied("Only admins can see tasks of removed apps.")
    return JsonResponse({"task": task_json(task)})


@require_POST
@signed_in_required
def task_cancel(request: HttpRequest, task_id: int) -> JsonResponse:
    """Cancel a task: 200 with the task `cancelled` when it was queued, 202 with
    `cancel_requested` when a running one will stop at its next safe point, 409 if it cannot."""
    task = get_object_or_404(Task, pk=task_id)
    if task.app_id:
        get_app_for_user(request, task.app_id)
    elif not is_admin(request.user):
        raise PermissionDenied("Only admins can act on tasks of removed apps.")
    try:
        task = cancel_task(task, user=request.user)
    except ActionRejected as exc:
        return _errors(exc.errors, status=409)
    status = 200 if task.state == Task.State.CANCELLED else 202
    return JsonResponse({"task": task_json(task)}, status=status)


@require_POST
@admin_required
def app_clone(request: HttpRequest, app_id) -> JsonResponse:
    """Clone one of the app's backups into a new app: {"backup", "subdomain", "domain"}."""
    from panel.backups.clone import request_clone
    from panel.backups.models import Backup

    app = get_app_for_user(request, app_id)
    try:
        body = json.loads(request.body or b"{}")
    except json.JSONDecodeError as exc:
        return _errors({"body": f"invalid JSON: {exc}"})
    if not isinstance(body, dict):
        return _errors({"body": "expected a JSON object"})
    backup_id = body.get("backup")
    backup = (
        Backup.objects.filter(app=app, pk=backup_id).first() if isinstance(backup_id, int) else None
    )
    if backup is None:
        return _errors({"backup": f"no backup with this id of {app.title}"})
    domain = Domain.objects.filter(name=body.get("domain", "")).first()
    try:
        clone = request_clone(
            backup, subdomain=str(body.get("subdomain", "")), domain=domain, user=request.user
        )
    except ActionRejected as exc:
        return _errors(exc.errors)
    return JsonResponse(
        {"app": app_json(clone), "task": task_json(clone.tasks.first())}, status=202
    )
