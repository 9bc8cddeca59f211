from __future__ import annotations

import base64
import binascii
from collections import Counter
from zoneinfo import available_timezones

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps_store.forms import InstallForm, UpdateWindowForm
from apps_store.manifest import ManifestError, validate_manifest
from apps_store.models import AvailableUpdate, Release, StoreApp, StoreSource, UpdateWindowSetting
from apps_store.services import release_problem
from apps_store.sync import sync_stores
from apps_store.updates import confirmation_reason, save_update_window, set_auto_update
from panel.core.access import admin_required, get_app_for_user, signed_in_required
from panel.core.models import AppInstance
from panel.core.services import ActionRejected, install_app

# Icons are shown in <img> only; served alone, an SVG must not run scripts on our origin.
ICON_TYPES = {"image/png", "image/svg+xml", "image/jpeg", "image/webp", "image/gif"}
APPS_PER_PAGE = 60


def _matches(store_app: StoreApp, query: str) -> bool:
    haystack = " ".join([store_app.title, store_app.app_id, store_app.tagline, *store_app.tags])
    return all(word in haystack.lower() for word in query.lower().split())


@require_GET
@admin_required
def store_index(request: HttpRequest) -> HttpResponse:
    """The catalog with search and categories, in one query whatever the number of apps."""
    query = request.GET.get("q", "").strip()
    tag = request.GET.get("tag", "").strip()
    newest = Release.objects.filter(store_app=OuterRef("pk")).order_by("-sort_key")
    store_apps = list(
        StoreApp.objects.annotate(latest_version=Subquery(newest.values("version")[:1]))
        .filter(latest_version__isnull=False)
        .only("app_id", "title", "tagline", "tags", "updated_at")
        .order_by("title")
    )
    categories = Counter(t for store_app in store_apps for t in store_app.tags)
    shown = [
        store_app
        for store_app in store_apps
        if (not tag or tag in store_app.tags) and (not query or _matches(store_app, query))
    ]
    page = Paginator(shown, APPS_PER_PAGE).get_page(request.GET.get("page"))
    # Links built by hand from one reverse(): a {% url %} per link was half the render time.
    prefix = reverse("apps_store:index")
    for store_app in page:
        base = f"{prefix}{store_app.app_id}/"
        store_app.page_url = base
        store_app.install_url = f"{base}install/"
        store_app.icon_url = f"{base}icon?v={int(store_app.updated_at.timestamp())}"
    return render(
        request,
        "apps_store/index.html",
        {
            "store_apps": page,
            "total": len(store_apps),
            "matching": len(shown),
            "categories": sorted(categories.items()),
            "query": query,
            "tag": tag,
            "sources": StoreSource.objects.all(),
            "installed_ids": set(AppInstance.objects.values_list("store_app_id", flat=True)),
        },
    )


@require_GET
@admin_required
def app_page(request: HttpRequest, app_id: str) -> HttpResponse:
    store_app = get_object_or_404(StoreApp, app_id=app_id)
    releases = list(store_app.releases.order_by("-sort_key"))
    if not releases:
        raise Http404("This app has no release.")
    release = releases[0]
    try:
        manifest = validate_manifest(release.manifest)
    except ManifestError as exc:
        manifest, problem = None, f"Its manifest is invalid: {exc}"
    else:
        problem = release_problem(release)
    return render(
        request,
        "apps_store/app.html",
        {
            "store_app": store_app,
            "release": release,
            "releases": releases,
            "manifest": manifest,
            "problem": problem,
            "installed": AppInstance.objects.filter(store_app_id=app_id).select_related(
                "domain", "available_update__release"
            ),
        },
    )


@require_GET
@admin_required
def app_icon(request: HttpRequest, app_id: str) -> HttpResponse:
    icon = get_object_or_404(StoreApp.objects.only("icon"), app_id=app_id).icon
    header, _, payload = icon.partition(",")
    mime = header.removeprefix("data:").removesuffix(";base64")
    if mime not in ICON_TYPES or not header.endswith(";base64"):
        raise Http404("This app has no icon.")
    try:
        body = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise Http404("This app's icon is damaged.") from None
    response = HttpResponse(body, content_type=mime)
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    # The page links icons with ?v=<last change>, so a cached copy is never stale.
    response["Cache-Control"] = "private, max-age=86400"
    return response


@require_POST
@admin_required
def sync(request: HttpRequest) -> HttpResponse:
    reports, errors = sync_stores()
    for report in reports:
        messages.success(request, f"Synced {report}.")
    for error in errors:
        messages.error(request, f"Sync failed, nothing changed: {error}")
    return redirect("apps_store:index")


@require_http_methods(["GET", "POST"])
@admin_required
def install(request: HttpRequest, app_id: str) -> HttpResponse:
    store_app = get_object_or_404(StoreApp, app_id=app_id)
    release = store_app.latest_release
    if release is None:
        return render(
            request,
            "apps_store/install.html",
            {"store_app": store_app, "release": None, "form": None},
            status=404,
        )
    try:
        manifest = validate_manifest(release.manifest)
    except ManifestError as exc:
        return render(
            request,
            "apps_store/install.html",
            {"store_app": store_app, "release": None, "form": None, "problem": str(exc)},
            status=400,
        )
    form = InstallForm(
        request.POST or None,
        initial={"subdomain": manifest.id.split(".")[-1]},
        manifest=manifest.data,
    )
    if request.method == "POST" and form.is_valid():
        try:
            app = install_app(
                release=release,
                subdomain=form.cleaned_data["subdomain"],
                domain=form.cleaned_data["domain"],
                user=request.user,
                host_ports=form.host_ports(),
            )
        except ActionRejected as exc:
            for field, message in exc.errors.items():
                form.add_error(field if field in form.fields else None, message)
        else:
            return redirect("core:app_detail", app_id=app.pk)
    return render(
        request,
        "apps_store/install.html",
        {
            "store_app": store_app,
            "release": release,
            "manifest": manifest,
            "form": form,
        },
        status=400 if form.errors else 200,
    )


# Updates: what the store offers, the update window, and each app's auto-update switch.
def _updates_page(request: HttpRequest, form: UpdateWindowForm, status: int = 200):
    offers = AvailableUpdate.objects.select_related("app__domain", "release").order_by(
        "app__subdomain"
    )
    return render(
        request,
        "apps_store/updates.html",
        {
            "form": form,
            "window": UpdateWindowSetting.current().window(),
            "offers": [
                (offer, confirmation_reason(offer.app.manifest, offer.release.manifest))
                for offer in offers
            ],
            "apps": AppInstance.objects.select_related("domain").order_by("subdomain"),
            "timezones": sorted(available_timezones()),
        },
        status=status,
    )


@require_GET
@admin_required
def updates(request: HttpRequest) -> HttpResponse:
    setting = UpdateWindowSetting.current()
    form = UpdateWindowForm(
        initial={
            "days": setting.days,
            "start_hour": setting.start_hour,
            "end_hour": setting.end_hour,
            "timezone": setting.timezone,
        }
    )
    return _updates_page(request, form)


@require_POST
@admin_required
def update_window(request: HttpRequest) -> HttpResponse:
    form = UpdateWindowForm(request.POST)
    if not form.is_valid():
        return _updates_page(request, form, status=400)
    data = form.cleaned_data
    setting = save_update_window(
        data["days"], data["start_hour"], data["end_hour"], data["timezone"], user=request.user
    )
    messages.success(request, f"Automatic updates now run {setting.window().describe()}.")
    return redirect("apps_store:updates")


@require_POST
@signed_in_required
def auto_update(request: HttpRequest, instance_id) -> HttpResponse:
    """The app page's switch (an installed app, by its id): POST auto_update=on|off."""
    app = get_app_for_user(request, instance_id)
    choice = request.POST.get("auto_update")
    if choice not in ("on", "off"):
        messages.error(request, 'auto_update: send "on" or "off".')
    else:
        set_auto_update(app, choice == "on", user=request.user)
        state = "on" if app.auto_update else "off"
        messages.success(request, f"Automatic updates of {app.title} are {state}.")
    return redirect("core:app_detail", app_id=app.pk)
