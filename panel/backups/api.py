"""The backups part of the JSON API: an app's backups, asking for a backup or a restore.

Same shape and checks as panel.core.api (session sign-in, get_app_for_user for 404/403,
field errors as {"errors": {...}}), and the same service functions as the app page.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_http_methods, require_POST

from panel.backups.models import Backup, BackupTarget
from panel.backups.services import request_backup, request_restore
from panel.core.access import get_app_for_user, signed_in_required
from panel.core.api import task_json
from panel.core.services import ActionRejected


def backup_json(backup: Backup) -> dict:
    return {
        "id": backup.pk,
        "app": str(backup.app_id) if backup.app_id else None,
        "snapshot_id": backup.snapshot_id,
        "target": {"id": backup.target_id, "name": backup.target.name},
        "app_version": backup.app_version,
        "reason": backup.reason,
        "size": backup.size,
        "data_added": backup.data_added,
        "created_at": backup.created_at.isoformat(),
    }


def _body(request: HttpRequest) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except json.JSONDecodeError as exc:
        raise ActionRejected({"body": f"invalid JSON: {exc}"}) from None
    if not isinstance(body, dict):
        raise ActionRejected({"body": "expected a JSON object"})
    return body


@require_http_methods(["GET", "POST"])
@signed_in_required
def app_backups(request: HttpRequest, app_id) -> JsonResponse:
    """GET: the app's backups, newest first. POST {"target": id}: queue a backup (202)."""
    app = get_app_for_user(request, app_id)
    if request.method == "GET":
        backups = app.backups.select_related("target")
        return JsonResponse({"backups": [backup_json(b) for b in backups]})
    try:
        body = _body(request)
    except ActionRejected as exc:
        return JsonResponse({"errors": exc.errors}, status=400)
    target = BackupTarget.objects.filter(pk=_int(body.get("target"))).first()
    if target is None:
        names = ", ".join(f"{t.pk} ({t.name})" for t in BackupTarget.objects.all())
        return JsonResponse(
            {"errors": {"target": f"no such backup target; the targets are: {names or 'none'}"}},
            status=400,
        )
    try:
        task = request_backup(app, target, user=request.user)
    except ActionRejected as exc:
        return JsonResponse({"errors": exc.errors}, status=409)
    return JsonResponse({"task": task_json(task)}, status=202)


@require_POST
@signed_in_required
def app_restore(request: HttpRequest, app_id, backup_id: int) -> JsonResponse:
    """Queue a restore of one of the app's backups into it (202)."""
    app = get_app_for_user(request, app_id)
    backup = Backup.objects.filter(pk=backup_id, app=app).select_related("target").first()
    if backup is None:
        return JsonResponse({"errors": {"backup": "this app has no such backup"}}, status=404)
    try:
        task = request_restore(app, backup, user=request.user)
    except ActionRejected as exc:
        return JsonResponse({"errors": exc.errors}, status=409)
    return JsonResponse({"task": task_json(task)}, status=202)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
