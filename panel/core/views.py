from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from panel.accounts.services import manageable_apps, operated_app_ids, usable_apps
from panel.core.access import admin_required, get_app_for_user, is_admin, signed_in_required
from panel.core.models import AppInstance, Event, Task
from panel.core.services import (
    ActionRejected,
    active_task,
    can_cancel,
    cancel_task,
    request_app_action,
)
from panel.core.states import BUSY_STATES, AppState, allowed_actions


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


@require_GET
@signed_in_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Admins and operators get the apps they manage; everyone else the apps they may open."""
    everything = AppInstance.objects.select_related("domain", "available_update")
    if not is_admin(request.user) and not operated_app_ids(request.user):
        apps = usable_apps(request.user, everything.filter(state__in=LAUNCHABLE))
        return render(request, "core/launcher.html", {"apps": apps})
    apps = list(manageable_apps(request.user, everything))
    context = {"apps": apps, "any_busy": any(a.state in BUSY_STATES for a in apps)}
    if is_htmx(request):
        return render(request, "core/partials/_app_list.html", context)
    return render(request, "core/dashboard.html", context)


LAUNCHABLE = [AppState.RUNNING]


def _app_context(app: AppInstance) -> dict:
    task = active_task(app) or app.tasks.first()
    return {
        "app": app,
        "task": task,
        "busy": app.state in BUSY_STATES,
        "actions": allowed_actions(app.state),
        "events": app.events.all()[:20],
        "cancellable": task is not None and can_cancel(task),
    }


@require_GET
@signed_in_required
def app_detail(request: HttpRequest, app_id) -> HttpResponse:
    app = get_app_for_user(request, app_id)
    return render(request, "core/app_detail.html", _app_context(app))


@require_GET
@signed_in_required
def app_progress(request: HttpRequest, app_id) -> HttpResponse:
    """The fragment the app page polls while a task runs; it stops polling when done."""
    if not AppInstance.objects.filter(pk=app_id).exists():
        # Uninstalled while the page watched: send the browser back to the app list.
        response = HttpResponse(status=200)
        response["HX-Redirect"] = "/"
        return response
    app = get_app_for_user(request, app_id)
    return render(request, "core/partials/_progress.html", _app_context(app))


@require_POST
@signed_in_required
def app_action(request: HttpRequest, app_id, action: str) -> HttpResponse:
    app = get_app_for_user(request, app_id)
    try:
        request_app_action(app, action, user=request.user)
    except ActionRejected as exc:
        messages.error(request, str(exc.errors.get("action", exc)))
    else:
        messages.success(request, f"{action.capitalize()} of {app.title} queued.")
    return redirect("core:app_detail", app_id=app.pk)


@require_GET
@signed_in_required
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _task_for_manager(request, task_id)
    return render(request, "core/task_detail.html", {"task": task, "cancellable": can_cancel(task)})


def _task_for_manager(request: HttpRequest, task_id: int) -> Task:
    """The task, if this user may manage its app (admins only for tasks of removed apps)."""
    task = get_object_or_404(Task.objects.select_related("app__domain"), pk=task_id)
    if task.app_id is not None:
        get_app_for_user(request, task.app_id)
    elif not is_admin(request.user):
        raise PermissionDenied("Only admins can see and cancel tasks of removed apps.")
    return task


@require_POST
@signed_in_required
def task_cancel(request: HttpRequest, task_id: int) -> HttpResponse:
    """Cancel from the app page's progress box or the task page (`next` says which)."""
    task = _task_for_manager(request, task_id)
    try:
        task = cancel_task(task, user=request.user)
    except ActionRejected as exc:
        messages.error(request, str(exc.errors.get("task", exc)))
    else:
        if task.state == Task.State.CANCELLED:
            messages.success(request, f"{task.get_kind_display()} cancelled.")
        else:
            messages.success(request, f"{task.get_kind_display()} stops at its next safe point.")
    app = AppInstance.objects.select_related("domain").filter(pk=task.app_id).first()
    from_app_page = request.POST.get("next") == "app"
    if is_htmx(request):
        if app is None and from_app_page:
            response = HttpResponse(status=200)
            response["HX-Redirect"] = "/"  # a cancelled fresh install took its app with it
            return response
        if from_app_page:
            return render(request, "core/partials/_progress.html", _app_context(app))
        task.refresh_from_db()
        return render(
            request, "core/task_detail.html", {"task": task, "cancellable": can_cancel(task)}
        )
    if from_app_page:
        return redirect("core:app_detail", app_id=app.pk) if app else redirect("core:dashboard")
    return redirect("core:task_detail", task_id=task.pk)


@require_GET
@admin_required
def event_log(request: HttpRequest) -> HttpResponse:
    """The event log, newest first, narrowed by what, outcome, who and which app."""
    filters = {
        key: request.GET.get(key, "").strip() for key in ("action", "outcome", "actor", "app")
    }
    events = Event.objects.select_related("actor")
    if filters["action"]:
        events = events.filter(action__startswith=filters["action"])
    if filters["outcome"] in Event.Outcome.values:
        events = events.filter(outcome=filters["outcome"])
    if filters["actor"]:
        events = events.filter(actor__username__iexact=filters["actor"])
    if filters["app"]:
        events = events.filter(app_label__icontains=filters["app"])
    actions = Event.objects.order_by().values_list("action", flat=True).distinct()
    return render(
        request,
        "core/events.html",
        {
            "events": events[:200],
            "filters": filters,
            "actions": sorted(actions),
            "outcomes": Event.Outcome.values,
        },
    )
