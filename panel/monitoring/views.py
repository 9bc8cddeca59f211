from __future__ import annotations

import dataclasses

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from panel.core.access import admin_required, get_app_for_user, signed_in_required
from panel.monitoring import rrd
from panel.monitoring.metrics import HOST_SERIES, app_series, chart_data
from panel.monitoring.models import Notification
from panel.monitoring.notifications import mark_read
from panel.monitoring.system import UnknownService, restart_service, system_overview
from panel.runtime.containers import get_runtime
from panel.runtime.spec import app_resource_names

DEFAULT_DOWNLOAD_LINES = 1000
MAX_DOWNLOAD_LINES = 100_000


def _resolution(request: HttpRequest) -> rrd.Resolution:
    try:
        return rrd.BY_NAME[request.GET.get("range", "6h")]
    except KeyError:
        raise Http404("Unknown range; use 6h, 24h or 7d.") from None


@require_GET
@admin_required
def app_logs(request: HttpRequest, app_id) -> HttpResponse:
    """The log page: the last lines rendered here (no JavaScript needed), then live."""
    app = get_app_for_user(request, app_id)
    container = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    text = get_runtime().container_logs(container, tail=200)
    return render(request, "monitoring/app_logs.html", {"app": app, "text": text})


@require_GET
@admin_required
def app_logs_download(request: HttpRequest, app_id) -> HttpResponse:
    app = get_app_for_user(request, app_id)
    try:
        lines = int(request.GET.get("lines", DEFAULT_DOWNLOAD_LINES))
    except ValueError:
        lines = DEFAULT_DOWNLOAD_LINES
    lines = max(1, min(lines, MAX_DOWNLOAD_LINES))
    container = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).container
    response = HttpResponse(
        get_runtime().timestamped_logs(container, tail=lines), content_type="text/plain"
    )
    response["Content-Disposition"] = f'attachment; filename="{app.subdomain}-last-{lines}.log"'
    return response


@require_GET
@admin_required
def app_metrics(request: HttpRequest, app_id) -> JsonResponse:
    app = get_app_for_user(request, app_id)
    return JsonResponse(chart_data(app_series(app.id.hex), _resolution(request)))


@require_GET
@admin_required
def app_graphs(request: HttpRequest, app_id) -> HttpResponse:
    app = get_app_for_user(request, app_id)
    return render(
        request,
        "monitoring/app_graphs.html",
        {"app": app, "range": _resolution(request).name, "ranges": rrd.BY_NAME},
    )


@require_GET
@admin_required
def host_metrics(request: HttpRequest) -> JsonResponse:
    return JsonResponse(chart_data(HOST_SERIES, _resolution(request)))


@require_http_methods(["GET", "POST"])
@admin_required
def system(request: HttpRequest) -> HttpResponse:
    """The System page; its restart buttons POST here with the service's name."""
    if request.method == "POST":
        try:
            done = restart_service(request.POST.get("restart", ""), actor=request.user)
        except UnknownService:
            raise Http404("No such service") from None
        messages.success(request, done[:1].upper() + done[1:] + ".")
        return redirect("monitoring:system")
    context = system_overview()
    context.update(range=_resolution(request).name, ranges=rrd.BY_NAME)
    return render(request, "monitoring/system.html", context)


@require_POST
@admin_required
def clean_images(request: HttpRequest) -> HttpResponse:
    result = get_runtime().prune_images()
    removed = len(result.get("ImagesDeleted") or [])
    freed = int(result.get("SpaceReclaimed") or 0)
    messages.success(request, f"Removed {removed} unused image layer(s), freed {freed} bytes.")
    return redirect("monitoring:system")


@require_GET
@admin_required
def notifications(request: HttpRequest) -> HttpResponse:
    notes = Notification.objects.filter(user=request.user).select_related("app")[:100]
    return render(request, "monitoring/notifications.html", {"notifications": notes})


@require_POST
@admin_required
def notifications_read(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("id", "")
    mark_read(request.user, int(raw) if raw.isdigit() else None)
    return redirect("monitoring:notifications")


@require_http_methods(["GET", "POST"])
@admin_required
def app_terminal(request: HttpRequest, app_id) -> HttpResponse:
    """The shell (JavaScript), and the documented commands as buttons. Without JavaScript a
    button POSTs here, the command runs with `docker exec` and the page shows its output."""
    from panel.core.services import ActionRejected
    from panel.monitoring.commands import documented_commands, run_documented_command

    app = get_app_for_user(request, app_id)
    # The last run's output travels in the session across the redirect (POST, redirect, GET).
    key = f"terminal-run-{app.pk.hex}"
    if request.method == "POST":
        try:
            run = run_documented_command(app, request.POST.get("command", ""), user=request.user)
        except ActionRejected as exc:
            messages.error(request, exc.errors["command"])
        else:
            request.session[key] = dataclasses.asdict(run)
        return redirect("monitoring:app_terminal", app_id=app.pk)
    context = {
        "app": app,
        "commands": documented_commands(app),
        "run": request.session.pop(key, None),
    }
    return render(request, "monitoring/terminal.html", context)


@require_http_methods(["GET", "POST"])
@signed_in_required
def choose_timezone(request: HttpRequest) -> HttpResponse:
    """Pick the zone times are shown in (a cookie); "browser" goes back to the browser's."""
    from urllib.parse import unquote

    from django.utils.http import url_has_allowed_host_and_scheme

    from panel.monitoring import timezones

    back = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}):
        back = ""
    if request.method == "POST":
        choice = request.POST.get("timezone", "")
        response = redirect(back or "monitoring:timezone")
        if choice == "browser":
            response.delete_cookie(timezones.CHOSEN_COOKIE)
            messages.success(request, "Times follow your browser's time zone.")
        elif timezones.parse_zone(choice) is None:
            messages.error(request, f"{choice!r} is not a time zone; pick one from the list.")
            return redirect("monitoring:timezone")
        else:
            response.set_cookie(
                timezones.CHOSEN_COOKIE,
                choice,
                max_age=timezones.COOKIE_AGE,
                samesite="Lax",
                secure=request.is_secure(),
            )
            messages.success(request, f"Times are shown in {choice}.")
        return response
    chosen = request.COOKIES.get(timezones.CHOSEN_COOKIE, "")
    return render(
        request,
        "monitoring/timezone.html",
        {
            "zones": timezones.available_zones(),
            "chosen": chosen if timezones.parse_zone(chosen) else "",
            "browser_zone": unquote(request.COOKIES.get(timezones.BROWSER_COOKIE, "")),
            "next": back,
        },
    )
