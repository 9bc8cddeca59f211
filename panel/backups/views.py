from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from panel.backups.forms import BackupTargetForm
from panel.backups.models import Backup, BackupTarget
from panel.backups.restic import ResticError
from panel.backups.services import create_target, delete_backup, request_backup, request_restore
from panel.core.access import admin_required, get_app_for_user, signed_in_required
from panel.core.services import ActionRejected, active_task


def _render_targets(request: HttpRequest, form: BackupTargetForm, **extra) -> HttpResponse:
    context = {"targets": BackupTarget.objects.all(), "form": form, **extra}
    return render(request, "backups/targets.html", context, status=400 if form.errors else 200)


@require_GET
@admin_required
def targets(request: HttpRequest) -> HttpResponse:
    return _render_targets(request, BackupTargetForm())


@require_POST
@admin_required
def target_add(request: HttpRequest) -> HttpResponse:
    form = BackupTargetForm(request.POST)
    if form.is_valid():
        try:
            target = create_target(**form.cleaned_data)
        except ActionRejected as exc:
            for field, message in exc.errors.items():
                form.add_error(field if field in form.fields else None, message)
        else:
            # Rendered, not redirected: the key is shown on this one page and kept nowhere
            # the browser could show it again.
            return _render_targets(
                request,
                BackupTargetForm(),
                created=target,
                recovery_key=None if form.cleaned_data["password"] else target.password,
            )
    return _render_targets(request, form)


@require_POST
@signed_in_required
def app_backup(request: HttpRequest, app_id) -> HttpResponse:
    app = get_app_for_user(request, app_id)
    target = BackupTarget.objects.filter(pk=request.POST.get("target") or 0).first()
    if target is None:
        messages.error(request, "Choose a backup target.")
        return redirect("core:app_detail", app_id=app.pk)
    try:
        with transaction.atomic():
            request_backup(app, target, user=request.user)
    except ActionRejected as exc:
        messages.error(request, str(exc.errors.get("action", exc)))
    else:
        messages.success(request, f"Backup of {app.title} to {target.name} queued.")
    return redirect("core:app_detail", app_id=app.pk)


@require_POST
@signed_in_required
def app_restore(request: HttpRequest, app_id) -> HttpResponse:
    app = get_app_for_user(request, app_id)
    backup = Backup.objects.filter(pk=request.POST.get("backup") or 0, app=app).first()
    if backup is None:
        messages.error(request, "Choose one of this app's backups.")
        return redirect("core:app_detail", app_id=app.pk)
    try:
        request_restore(app, backup, user=request.user)
    except ActionRejected as exc:
        messages.error(request, " ".join(exc.errors.values()))
    else:
        messages.success(
            request, f"Restore of {app.title} to {backup.created_at:%Y-%m-%d %H:%M} queued."
        )
    return redirect("core:app_detail", app_id=app.pk)


@require_POST
@signed_in_required
def app_backup_delete(request: HttpRequest, app_id) -> HttpResponse:
    app = get_app_for_user(request, app_id)
    backup = Backup.objects.filter(pk=request.POST.get("backup") or 0, app=app).first()
    if backup is None:
        messages.error(request, "Choose one of this app's backups.")
    elif active_task(app) is not None:
        # A running restore may be reading this very snapshot.
        messages.error(request, f"{app.title} is busy; delete backups when it is done.")
    else:
        label = f"{backup.created_at:%Y-%m-%d %H:%M}"
        try:
            delete_backup(backup)
        except ResticError as exc:
            messages.error(request, f"Could not delete the backup of {label}: {exc}")
        else:
            messages.success(request, f"Backup of {label} deleted.")
    return redirect("core:app_detail", app_id=app.pk)
