from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from panel.core.access import admin_required, get_app_for_user
from panel.core.services import ActionRejected, change_app_location
from panel.domains.forms import (
    AliasesForm,
    CertificateUploadForm,
    CnameTargetForm,
    DomainForm,
    LocationForm,
)
from panel.domains.models import Domain
from panel.domains.providers import ProviderError
from panel.domains.services import (
    DomainRejected,
    add_domain,
    app_records,
    domain_provider,
    remove_domain,
    set_app_aliases,
    set_cname_target,
    upload_certificate,
)
from panel.proxy.nginx import ProxyError
from panel.proxy.sites import refresh_app_site


@require_GET
@admin_required
def domain_list(request: HttpRequest) -> HttpResponse:
    return _render_list(request, DomainForm())


def _render_list(request: HttpRequest, form: DomainForm, status: int = 200) -> HttpResponse:
    domains = Domain.objects.prefetch_related("apps", "certificates")
    return render(request, "domains/index.html", {"domains": domains, "form": form}, status=status)


@require_POST
@admin_required
def domain_add(request: HttpRequest) -> HttpResponse:
    form = DomainForm(request.POST)
    if not form.is_valid():
        return _render_list(request, form, status=400)
    try:
        domain = add_domain(
            name=form.cleaned_data["name"],
            provider=form.cleaned_data["provider"],
            provider_config=form.provider_config(),
            tls_mode=form.cleaned_data["tls_mode"],
            ipv4=form.cleaned_data["ipv4"] or None,
            ipv6=form.cleaned_data["ipv6"] or None,
            dynamic_dns=form.cleaned_data["dynamic_dns"],
            cname_target=form.cleaned_data["cname_target"],
        )
    except DomainRejected as exc:
        form.add_service_errors(exc.errors)
        return _render_list(request, form, status=400)
    messages.success(request, f"Added {domain.name}.")
    return redirect("domains:detail", domain_id=domain.pk)


@require_GET
@admin_required
def domain_detail(request: HttpRequest, domain_id: int) -> HttpResponse:
    domain = get_object_or_404(Domain, pk=domain_id)
    return _render_detail(request, domain, CertificateUploadForm(apps=domain.apps.all()))


def _render_detail(
    request: HttpRequest,
    domain: Domain,
    form: CertificateUploadForm,
    status: int = 200,
    cname_form: CnameTargetForm | None = None,
) -> HttpResponse:
    try:
        provider = domain_provider(domain)
    except ProviderError:
        provider = None
    rows = []
    for app in domain.apps.all():
        for record in app_records(app):
            check = getattr(provider, "check", None)
            rows.append(
                {
                    "app": app,
                    "record": record,
                    "instructions": provider.instructions(record) if provider else None,
                    "status": (check(record) or "ok") if check else None,
                }
            )
    context = {
        "domain": domain,
        "provider": provider,
        "rows": rows,
        "certificates": domain.certificates.select_related("app"),
        "form": form,
        "cname_form": cname_form or CnameTargetForm(initial={"cname_target": domain.cname_target}),
    }
    return render(request, "domains/detail.html", context, status=status)


@require_POST
@admin_required
def domain_remove(request: HttpRequest, domain_id: int) -> HttpResponse:
    domain = get_object_or_404(Domain, pk=domain_id)
    try:
        remove_domain(domain)
    except DomainRejected as exc:
        messages.error(request, exc.errors["domain"])
        return redirect("domains:detail", domain_id=domain.pk)
    messages.success(request, f"Removed {domain.name}.")
    return redirect("domains:index")


@require_POST
@admin_required
def certificate_upload(request: HttpRequest, domain_id: int) -> HttpResponse:
    domain = get_object_or_404(Domain, pk=domain_id)
    apps = list(domain.apps.select_related("domain"))
    form = CertificateUploadForm(request.POST, apps=apps)
    if not form.is_valid():
        return _render_detail(request, domain, form, status=400)
    app = next((a for a in apps if str(a.pk) == form.cleaned_data["app"]), None)
    try:
        certificate = upload_certificate(
            domain=domain,
            app=app,
            fullchain_pem=form.cleaned_data["fullchain"],
            key_pem=form.cleaned_data["key"],
        )
    except DomainRejected as exc:
        form.add_service_errors(exc.errors)
        return _render_detail(request, domain, form, status=400)
    # The apps it covers are served with it from now on.
    try:
        for covered in [app] if app is not None else apps:
            refresh_app_site(covered)
    except ProxyError as exc:
        messages.error(request, f"Stored, but nginx refused it: {exc}")
    else:
        messages.success(request, f"Certificate for {', '.join(certificate.names)} installed.")
    return redirect("domains:detail", domain_id=domain.pk)


@admin_required
def app_location(request: HttpRequest, app_id) -> HttpResponse:
    """Move an app to another subdomain or domain (a task, like install)."""
    app = get_app_for_user(request, app_id)
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405)
    form = LocationForm(
        request.POST or None, initial={"subdomain": app.subdomain, "domain": app.domain}
    )
    if request.method == "POST" and form.is_valid():
        try:
            task = change_app_location(
                app,
                subdomain=form.cleaned_data["subdomain"],
                domain=form.cleaned_data["domain"],
                user=request.user,
                redirect_old=form.cleaned_data["redirect_old"],
                redirect_days=form.cleaned_data["redirect_days"] or None,
            )
        except ActionRejected as exc:
            form.add_service_errors(exc.errors)
        else:
            messages.success(request, f"Moving {app.title}.")
            return redirect("core:task_detail", task_id=task.pk)
    status = 400 if request.method == "POST" else 200
    context = {"app": app, "form": form, "aliases_form": _aliases_form(app)}
    return render(request, "domains/location.html", context, status=status)


def _aliases_form(app, data=None) -> AliasesForm:
    aliases = list(app.aliases.select_related("domain"))
    return AliasesForm(
        data,
        initial={
            "aliases": "\n".join(a.fqdn for a in aliases if not a.redirect),
            "redirects": "\n".join(a.fqdn for a in aliases if a.redirect),
        },
    )


@require_POST
@admin_required
def app_aliases(request: HttpRequest, app_id) -> HttpResponse:
    """Set the app's other names (aliases and redirects); applied by a task."""
    app = get_app_for_user(request, app_id)
    form = _aliases_form(app, request.POST)
    if form.is_valid():
        try:
            task = set_app_aliases(app, form.names(), user=request.user)
        except ActionRejected as exc:
            form.add_service_errors(exc.errors)
        else:
            messages.success(request, f"Updating the names of {app.title}.")
            return redirect("core:task_detail", task_id=task.pk)
    context = {
        "app": app,
        "form": LocationForm(initial={"subdomain": app.subdomain, "domain": app.domain}),
        "aliases_form": form,
    }
    return render(request, "domains/location.html", context, status=400)


def _render_app_settings(
    request: HttpRequest, app, ports_form=None, env_form=None, status: int = 200
) -> HttpResponse:
    from panel.domains.app_settings import env_lines
    from panel.domains.forms import EnvOverridesForm, HostPortsForm

    context = {
        "app": app,
        "ports_form": ports_form or HostPortsForm(app=app),
        "env_form": env_form
        or EnvOverridesForm(initial={"env_overrides": env_lines(app.env_overrides or {})}),
    }
    return render(request, "domains/app_settings.html", context, status=status)


@require_http_methods(["GET", "POST"])
@admin_required
def app_ports(request: HttpRequest, app_id) -> HttpResponse:
    """The app's host ports; a change recreates its container (a task)."""
    from panel.domains.app_settings import change_host_ports
    from panel.domains.forms import HostPortsForm

    app = get_app_for_user(request, app_id)
    if request.method == "GET":
        return _render_app_settings(request, app)
    form = HostPortsForm(request.POST, app=app)
    if form.is_valid():
        try:
            task = change_host_ports(app, form.host_ports(), user=request.user)
        except ActionRejected as exc:
            form.add_service_errors(exc.errors)
        else:
            messages.success(request, f"Moving {app.title} to its new ports.")
            return redirect("core:task_detail", task_id=task.pk)
    return _render_app_settings(request, app, ports_form=form, status=400)


@require_http_methods(["GET", "POST"])
@admin_required
def app_environment(request: HttpRequest, app_id) -> HttpResponse:
    """The app's environment overrides; a change recreates its container (a task)."""
    from panel.domains.app_settings import set_env_overrides
    from panel.domains.forms import EnvOverridesForm

    app = get_app_for_user(request, app_id)
    if request.method == "GET":
        return _render_app_settings(request, app)
    form = EnvOverridesForm(request.POST)
    if form.is_valid():
        try:
            task = set_env_overrides(app, form.cleaned_data["env_overrides"], user=request.user)
        except ActionRejected as exc:
            form.add_service_errors(exc.errors)
        else:
            messages.success(request, f"Restarting {app.title} with its new environment.")
            return redirect("core:task_detail", task_id=task.pk)
    return _render_app_settings(request, app, env_form=form, status=400)


@require_POST
@admin_required
def domain_records(request: HttpRequest, domain_id: int) -> HttpResponse:
    """How the domain's app records point here: A/AAAA, or a CNAME to one host name."""
    domain = get_object_or_404(Domain, pk=domain_id)
    form = CnameTargetForm(request.POST)
    if form.is_valid():
        try:
            set_cname_target(domain, form.cleaned_data["cname_target"], user=request.user)
        except DomainRejected as exc:
            form.add_service_errors(exc.errors)
        else:
            messages.success(request, f"Rewriting the app records of {domain.name}.")
            return redirect("domains:detail", domain_id=domain.pk)
    upload = CertificateUploadForm(apps=domain.apps.all())
    return _render_detail(request, domain, upload, status=400, cname_form=form)
