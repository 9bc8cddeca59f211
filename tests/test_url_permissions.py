"""Every URL of Hearth, walked as every role: a view without its check fails here.

AUDIENCE says who each named URL is for. A new URL must be added to it (the test fails until
it is), and then each persona is checked against it: those outside the audience must be
refused (sent to log in, or 403) for every method the view accepts; those inside must get in
(checked with GET where the view takes GET: POST views change things, so for them only the
refusals are checked).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from panel.accounts.models import Invitation
from panel.accounts.roles import Role
from panel.accounts.services import set_operated_apps, set_role
from panel.backups.models import BackupTarget
from panel.core.models import AppInstance, Task

PUBLIC, SIGNED_IN, APP_MANAGER, USER_MANAGER, ADMIN, OWNER = (
    "public",
    "signed_in",
    "app_manager",
    "user_manager",
    "admin",
    "owner",
)
# Who is in each audience.
MEMBERS = {
    PUBLIC: {"anonymous", "user", "operator", "user_manager", "admin", "owner"},
    SIGNED_IN: {"user", "operator", "user_manager", "admin", "owner"},
    APP_MANAGER: {"operator", "admin", "owner"},
    USER_MANAGER: {"user_manager", "admin", "owner"},
    ADMIN: {"admin", "owner"},
    OWNER: {"owner"},
}

AUDIENCE = {
    # The store serves its signed index to other Hearths.
    "store_api:index": PUBLIC,
    "store_api:key": PUBLIC,
    "accounts:accept": PUBLIC,
    # The login wall: nginx and browsers on the app's own host; each view checks its input.
    "proxyauth:check": PUBLIC,
    "proxyauth:login": PUBLIC,
    "proxyauth:callback": PUBLIC,
    "proxyauth:logout": PUBLIC,
    "proxyauth:authorize": SIGNED_IN,
    "core:dashboard": SIGNED_IN,
    "monitoring:timezone": SIGNED_IN,
    "accounts:profile": SIGNED_IN,
    "accounts:app_password_create": SIGNED_IN,
    "accounts:app_password_delete": SIGNED_IN,
    "core:app_detail": APP_MANAGER,
    "core:app_progress": APP_MANAGER,
    "core:app_action": APP_MANAGER,
    "core:task_detail": APP_MANAGER,
    "core:api_app": APP_MANAGER,
    "core:api_app_action": APP_MANAGER,
    "core:api_task": APP_MANAGER,
    "core:task_cancel": APP_MANAGER,
    "core:api_task_cancel": APP_MANAGER,
    "accounts:app_access": APP_MANAGER,
    "accounts:people": USER_MANAGER,
    "accounts:change_role": USER_MANAGER,
    "accounts:groups": USER_MANAGER,
    "accounts:group_members": USER_MANAGER,
    "accounts:security_policy": OWNER,
    "core:events": ADMIN,
    "core:api_apps": ADMIN,
    "apps_store:index": ADMIN,
    "apps_store:app": ADMIN,
    "apps_store:icon": ADMIN,
    "apps_store:install": ADMIN,
    "apps_store:sync": ADMIN,
    "addons:index": ADMIN,
    "apps_store:updates": ADMIN,
    "apps_store:update_window": ADMIN,
    "apps_store:auto_update": APP_MANAGER,
    "monitoring:app_logs": ADMIN,
    "monitoring:app_logs_download": ADMIN,
    "monitoring:app_graphs": ADMIN,
    "monitoring:app_metrics": ADMIN,
    "monitoring:app_terminal": ADMIN,
    "monitoring:system": ADMIN,
    "monitoring:host_metrics": ADMIN,
    "monitoring:clean_images": ADMIN,
    "monitoring:notifications": ADMIN,
    "monitoring:notifications_read": ADMIN,
    "domains:index": ADMIN,
    "domains:add": ADMIN,
    "domains:detail": ADMIN,
    "domains:remove": ADMIN,
    "domains:certificate": ADMIN,
    "domains:records": ADMIN,
    "domains:app_location": ADMIN,
    "domains:app_aliases": ADMIN,
    "domains:app_ports": ADMIN,
    "domains:app_environment": ADMIN,
    "domains_api:app_environment": ADMIN,
    "domains_api:app_ports": ADMIN,
    "backups:targets": ADMIN,
    "backups:target_add": ADMIN,
    "backups:app_backup": APP_MANAGER,
    "backups:app_restore": APP_MANAGER,
    "backups:app_backup_delete": APP_MANAGER,
    "backups:app_automatic_backups": APP_MANAGER,
    "backups:target_edit": ADMIN,
    "backups:target_remove": ADMIN,
    "backups:target_check": ADMIN,
    "backups_api:app_backups": APP_MANAGER,
    "backups_api:app_restore": APP_MANAGER,
    # Cloning and importing make new apps, which only admins install.
    "backups:app_clone": ADMIN,
    "backups:import": ADMIN,
    "backups:import_start": ADMIN,
    "core:api_app_clone": ADMIN,
    "backups_api:import_snapshots": ADMIN,
    "backups_api:import_app": ADMIN,
}

# Third-party views with their own checks: allauth's sign-in pages, its OpenID Connect
# provider's protocol endpoints (OAuth client and token checks; the access rule is tested in
# test_oidc.py), Django's admin site.
THIRD_PARTY_PREFIXES = ("accounts/", "django-admin/", ".well-known/", "identity/")


def our_url_names() -> list[tuple[str, list[str]]]:
    found = []

    def walk(patterns, prefix: str, namespace: str | None) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                if route.startswith(THIRD_PARTY_PREFIXES):
                    continue
                walk(pattern.url_patterns, route, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                full = f"{namespace}:{pattern.name}" if namespace else pattern.name
                found.append((full, list(pattern.pattern.converters)))

    walk(get_resolver().url_patterns, "", None)
    return found


def test_every_url_has_a_declared_audience():
    missing = sorted({name for name, _ in our_url_names()} - set(AUDIENCE))
    assert not missing, f"add these URLs to AUDIENCE with who may use them: {missing}"


@pytest.fixture
def world(db, django_user_model, domain):
    from apps_store.models import StoreApp

    people = {}
    for name in ("user", "operator", "user_manager", "admin", "owner"):
        people[name] = django_user_model.objects.create_user(name, f"{name}@example.com", "pw")
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    for name, role in (
        ("user_manager", Role.USER_MANAGER),
        ("admin", Role.ADMIN),
        ("owner", Role.OWNER),
    ):
        set_role(people[name], role, actor=root)
    app = AppInstance.objects.create(
        store_app_id="io.hearth.staticsite",
        title="Site",
        version="1.0.0",
        manifest={"httpPort": 8000, "healthCheckPath": "/"},
        image="x",
        subdomain="site",
        domain=domain,
        memory_limit=1,
        state="running",
    )
    set_operated_apps(people["operator"], [app], actor=root)
    StoreApp.objects.create(app_id="io.hearth.staticsite", title="Site")
    samples = {
        "app_id": {"apps_store": "io.hearth.staticsite", "default": app.pk},
        "task_id": Task.objects.create(kind="install", app=app).pk,
        "user_id": people["user"].pk,
        "group_id": Group.objects.create(name="family").pk,
        "token": Invitation.objects.create(email="new@example.com", role="user").token,
        "action": "stop",
        "domain_id": domain.pk,
        "instance_id": app.pk,
        "password_id": 1,
        "backup_id": _sample_backup(app).pk,
        "target_id": BackupTarget.objects.get(name="disk").pk,
    }
    return people, samples


def _sample_backup(app):
    from panel.backups.models import Backup, BackupTarget

    target = BackupTarget.objects.create(name="disk", kind="filesystem", path="/x", password="k")
    return Backup.objects.create(
        app=app, app_label=str(app), app_uid=app.id.hex, target=target, snapshot_id="abcd1234"
    )


def url_for(name: str, converters: list[str], samples: dict) -> str:
    kwargs = {}
    for key in converters:
        if key not in samples:
            pytest.fail(f"{name}: add a sample value for the URL parameter {key!r}")
        value = samples[key]
        if isinstance(value, dict):
            value = value.get(name.split(":")[0], value["default"])
        kwargs[key] = value
    return reverse(name, kwargs=kwargs)


def refused(response) -> bool:
    if response.status_code == 403:
        return True
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    "persona", ["anonymous", "user", "operator", "user_manager", "admin", "owner"]
)
def test_each_persona_gets_exactly_the_urls_meant_for_them(client, world, persona):
    people, samples = world
    if persona != "anonymous":
        client.force_login(people[persona])
    problems = []
    for name, converters in our_url_names():
        if name not in AUDIENCE:
            continue  # reported by test_every_url_has_a_declared_audience
        url = url_for(name, converters, samples)
        admitted = persona in MEMBERS[AUDIENCE[name]]
        methods = {"GET": client.get(url)}
        if not admitted:
            methods["POST"] = client.post(url)
        accepted = {m: r for m, r in methods.items() if r.status_code != 405}
        if not accepted and not admitted:
            problems.append(f"{name}: neither GET nor POST reached the view")
        for method, response in accepted.items():
            if admitted and refused(response):
                problems.append(f"{name}: {persona} was refused on {method}")
            if not admitted and not refused(response):
                problems.append(
                    f"{name}: {persona} got {response.status_code} on {method}, expected refusal"
                )
    assert not problems, "\n".join(problems)
