from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from panel.backups.forms import BackupTargetEditForm, BackupTargetForm
from panel.backups.models import Backup, BackupTarget
from panel.backups.restic import ResticError
from panel.backups.services import (
    create_target,
    delete_backup,
    remove_target,
    request_backup,
    request_restore,
    set_automatic_backups,
    update_target,
)
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


# Clone and import ---------------------------------------------------------------------------
def _field_errors(form, exc: ActionRejected) -> None:
    for field, message in exc.errors.items():
        form.add_error(field if field in form.fields else None, message)


@require_http_methods(["GET", "POST"])
@admin_required
def app_clone(request: HttpRequest, app_id, backup_id: int) -> HttpResponse:
    """A snapshot of the app into a new app: choose the location, then the worker makes it."""
    from panel.backups.clone import request_clone
    from panel.backups.forms import CloneForm

    app = get_app_for_user(request, app_id)
    backup = get_object_or_404(Backup.objects.select_related("target"), pk=backup_id, app=app)
    form = CloneForm(request.POST or None, initial={"domain": app.domain_id}, manifest=app.manifest)
    if request.method == "POST" and form.is_valid():
        try:
            clone = request_clone(
                backup,
                subdomain=form.cleaned_data["subdomain"],
                domain=form.cleaned_data["domain"],
                host_ports=form.host_ports(),
                user=request.user,
            )
        except ActionRejected as exc:
            _field_errors(form, exc)
        else:
            messages.success(request, f"Cloning {app.title} to {clone.fqdn}.")
            return redirect("core:app_detail", app_id=clone.pk)
    return render(
        request,
        "backups/clone.html",
        {"app": app, "backup": backup, "form": form},
        status=400 if form.errors else 200,
    )


def _render_import_choice(
    request: HttpRequest, form, target, snapshots=None, status: int = 200
) -> HttpResponse:
    from panel.backups.importing import app_snapshots

    return render(
        request,
        "backups/import_choose.html",
        {
            "form": form,
            "target": target,
            "snapshots": app_snapshots(target) if snapshots is None else snapshots,
        },
        status=status,
    )


def _import_initial(source: dict, snapshots) -> dict:
    """The newest snapshot, going back where it was when this Hearth has that domain."""
    from panel.domains.models import Domain

    initial = {**source, "domain": Domain.objects.order_by("name").first()}
    if snapshots:
        newest = snapshots[0]
        subdomain, _, domain_name = newest.location.partition(".")
        initial["snapshot"] = newest.snapshot_id
        domain = Domain.objects.filter(name=domain_name).first()
        if domain is not None:
            initial.update(subdomain=subdomain, domain=domain)
    return initial


@require_http_methods(["GET", "POST"])
@admin_required
def import_app(request: HttpRequest) -> HttpResponse:
    """Step 1: where the backups are and the recovery key; step 2 lists what is there."""
    from panel.backups.forms import ImportForm, ImportSourceForm
    from panel.backups.importing import app_snapshots, open_source

    form = ImportSourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            target = open_source(**form.source())
        except ActionRejected as exc:
            _field_errors(form, exc)
        else:
            snapshots = app_snapshots(target)
            choice = ImportForm(initial=_import_initial(form.source(), snapshots))
            return _render_import_choice(request, choice, target, snapshots)
    return render(
        request, "backups/import.html", {"form": form}, status=400 if form.errors else 200
    )


@require_POST
@admin_required
def import_start(request: HttpRequest) -> HttpResponse:
    """Step 3: the chosen snapshot becomes an app at the chosen location."""
    from panel.backups.forms import ImportForm, ImportSourceForm
    from panel.backups.importing import open_source, request_import

    form = ImportForm(request.POST)
    source_form = ImportSourceForm(request.POST)
    if not source_form.is_valid():
        return render(request, "backups/import.html", {"form": source_form}, status=400)
    if form.is_valid():
        try:
            app = request_import(
                **form.source(),
                snapshot_id=form.cleaned_data["snapshot"],
                subdomain=form.cleaned_data["subdomain"],
                domain=form.cleaned_data["domain"],
                user=request.user,
            )
        except ActionRejected as exc:
            _field_errors(form, exc)
        else:
            messages.success(request, f"Importing {app.title} to {app.fqdn}.")
            return redirect("core:app_detail", app_id=app.pk)
    try:
        target = open_source(**source_form.source())
    except ActionRejected as exc:
        _field_errors(source_form, exc)
        return render(request, "backups/import.html", {"form": source_form}, status=400)
    return _render_import_choice(request, form, target, status=400)


# Target management and the automatic-backups switch ---------------------------------------
@require_http_methods(["GET", "POST"])
@admin_required
def target_edit(request: HttpRequest, target_id: int) -> HttpResponse:
    target = get_object_or_404(BackupTarget, pk=target_id)
    initial = {field: getattr(target, field) for field in BackupTargetEditForm.base_fields}
    initial["secret_key"] = initial["password"] = ""
    form = BackupTargetEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            update_target(target, user=request.user, **form.cleaned_data)
        except ActionRejected as exc:
            _field_errors(form, exc)
        else:
            messages.success(request, f"Backup target {form.cleaned_data['name']} saved.")
            return redirect("backups:targets")
    context = {"target": target, "form": form, "backups": target.backups.count()}
    return render(request, "backups/target_edit.html", context, status=400 if form.errors else 200)


@require_POST
@admin_required
def target_remove(request: HttpRequest, target_id: int) -> HttpResponse:
    target = get_object_or_404(BackupTarget, pk=target_id)
    name = target.name
    try:
        count = remove_target(
            target, user=request.user, confirmed=bool(request.POST.get("confirm"))
        )
    except ActionRejected as exc:
        messages.error(request, " ".join(exc.errors.values()))
        return redirect("backups:target_edit", target_id=target_id)
    messages.success(
        request,
        f"Backup target {name} removed from Hearth ({count} backup(s) forgotten). Its "
        "repository and the data in it were left where they are.",
    )
    return redirect("backups:targets")


@require_POST
@admin_required
def target_check(request: HttpRequest, target_id: int) -> HttpResponse:
    from panel.backups.scheduled import request_check

    target = get_object_or_404(BackupTarget, pk=target_id)
    request_check(target, user=request.user)
    messages.success(
        request,
        f"Integrity check of {target.name} queued; its result shows on the targets page and "
        "a failure is notified.",
    )
    return redirect("backups:targets")


@require_POST
@signed_in_required
def app_automatic_backups(request: HttpRequest, app_id) -> HttpResponse:
    app = get_app_for_user(request, app_id)
    enabled = request.POST.get("enabled") == "on"
    set_automatic_backups(app, enabled, user=request.user)
    if enabled:
        messages.success(request, f"{app.title} is included in scheduled backups.")
    else:
        messages.success(request, f"{app.title} is left out of scheduled backups.")
    return redirect(f"{reverse('core:app_detail', args=[app.pk])}#backups")
