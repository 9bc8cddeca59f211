from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from addons.models import AddonInstance
from addons.reference import addon_references
from addons.registry import get_addon
from panel.core.access import admin_required
from panel.runtime.services import health_status


@require_GET
@admin_required
def addon_list(request: HttpRequest) -> HttpResponse:
    """Every addon: what it gives an app, its variables and options, its service's health."""
    in_use = dict(
        AddonInstance.objects.values("addon").annotate(n=Count("id")).values_list("addon", "n")
    )
    rows = []
    for ref in addon_references():
        services = [
            (name, health_status(name)) for name in get_addon(ref.name).service_containers()
        ]
        rows.append({"ref": ref, "apps": in_use.get(ref.name, 0), "services": services})
    return render(request, "addons/index.html", {"rows": rows})
