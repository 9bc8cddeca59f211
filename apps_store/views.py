from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from apps_store.forms import InstallForm
from apps_store.manifest import validate_manifest
from apps_store.models import StoreApp
from panel.core.access import admin_required
from panel.core.services import ActionRejected, install_app


@require_GET
@admin_required
def store_index(request: HttpRequest) -> HttpResponse:
    store_apps = StoreApp.objects.prefetch_related("releases")
    entries = []
    for store_app in store_apps:
        releases = sorted(store_app.releases.all(), key=lambda r: r.sort_key, reverse=True)
        if releases:
            entries.append({"app": store_app, "release": releases[0]})
    return render(request, "apps_store/index.html", {"entries": entries})


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
    manifest = validate_manifest(release.manifest)
    form = InstallForm(request.POST or None, initial={"subdomain": manifest.id.split(".")[-1]})
    if request.method == "POST" and form.is_valid():
        try:
            app = install_app(
                release=release,
                subdomain=form.cleaned_data["subdomain"],
                domain=form.cleaned_data["domain"],
                user=request.user,
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
