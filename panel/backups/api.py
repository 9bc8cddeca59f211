"""The backups part of the JSON API: an app's backups, asking for a backup or a restore,
and importing an app from a backup target with its recovery key (admins only).

Same shape and checks as panel.core.api (session sign-in, get_app_for_user for 404/403,
field errors as {"errors": {...}}), and the same service functions as the app page.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_http_methods, require_POST

from panel.backups.importing import app_snapshots, open_source, request_import
from panel.backups.models import Backup, BackupTarget
from panel.backups.services import TARGET_FIELDS, request_backup, request_restore
from panel.core.access import admin_required, get_app_for_user, signed_in_required
from panel.core.api import app_json, task_json
from panel.core.services import ActionRejected
from panel.domains.models import Domain


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


def _source(body: dict) -> dict[str, str]:
    """Where the backups are and the key, as the import page's fields name them."""
    return {name: str(body.get(name) or "") for name in ("kind", "recovery_key", *TARGET_FIELDS)}


@require_POST
@admin_required
def import_snapshots(request: HttpRequest) -> JsonResponse:
    """POST {kind, recovery_key, path | endpoint, region, bucket, prefix, access_key,
    secret_key}: the app snapshots found there, newest first. Nothing is saved."""
    try:
        target = open_source(**_source(_body(request)))
        snapshots = app_snapshots(target)
    except ActionRejected as exc:
        return JsonResponse({"errors": exc.errors}, status=400)
    return JsonResponse({"snapshots": [asdict(snapshot) for snapshot in snapshots]})


@require_POST
@admin_required
def import_app(request: HttpRequest) -> JsonResponse:
    """POST the source as above plus {snapshot_id, subdomain, domain}: the app is created
    from the snapshot and its IMPORT task queued (202)."""
    try:
        body = _body(request)
    except ActionRejected as exc:
        return JsonResponse({"errors": exc.errors}, status=400)
    domain = Domain.objects.filter(name=str(body.get("domain") or "")).first()
    if domain is None:
        names = ", ".join(Domain.objects.values_list("name", flat=True))
        return JsonResponse(
            {"errors": {"domain": f"no such domain; the domains are: {names or 'none'}"}},
            status=400,
        )
    try:
        app = request_import(
            **_source(body),
            snapshot_id=str(body.get("snapshot_id") or ""),
            subdomain=str(body.get("subdomain") or ""),
            domain=domain,
            user=request.user,
        )
    except ActionRejected as exc:
        return JsonResponse({"errors": exc.errors}, status=400)
    return JsonResponse({"app": app_json(app), "task": task_json(app.tasks.first())}, status=202)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
