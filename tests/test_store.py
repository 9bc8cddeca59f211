"""The App Store: catalog pages, the signed index over HTTP, syncing from stores, updates."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.test import override_settings
from django.urls import reverse

from apps_store.models import AvailableUpdate, Release, StoreApp, StoreSource
from apps_store.services import release_problem, release_sort_key, sign_release
from apps_store.signing import load_or_create_private_key, public_key_text, sign_document
from apps_store.sync import StoreSyncError, build_store_index, sync_store, sync_stores
from apps_store.updates import check_for_updates
from panel.core.models import AppInstance
from panel.core.states import AppState

ICON = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4="


def make_release(app_id="io.example.notes", version="1.0.0", *, title="Notes", tags=("notes",)):
    store_app, _ = StoreApp.objects.get_or_create(
        app_id=app_id,
        defaults={
            "title": title,
            "tagline": f"{title} for everyone",
            "description": f"A longer text about {title}.",
            "tags": list(tags),
            "icon": ICON,
        },
    )
    manifest = {
        "manifestVersion": 2,
        "id": app_id,
        "title": title,
        "version": version,
        "healthCheckPath": "/",
        "httpPort": 8000,
        "memoryLimit": 134217728,
        "addons": {"localstorage": {}, "sendmail": {}},
        "changelog": f"Changes of {version}.",
    }
    release = Release(
        store_app=store_app,
        version=version,
        sort_key=release_sort_key(version),
        manifest=manifest,
        image=f"127.0.0.1:5000/hearth/apps/{app_id}:{version}",
        image_digest="sha256:" + version.replace(".", "")[:1] * 64,
        changelog=f"Changes of {version}.",
    )
    sign_release(release)
    release.save()
    return release


def catalog_snapshot() -> list:
    return sorted(
        Release.objects.values_list(
            "store_app__app_id", "version", "signature", "manifest", "store_app__title"
        ),
        key=lambda row: (row[0], row[1]),
    )


class StaticStore:
    """A store served as plain files over real HTTP, as any static web host could serve it."""

    def __init__(self, index: dict | bytes) -> None:
        self.body = index if isinstance(index, bytes) else json.dumps(index).encode()
        body = lambda: self.body  # noqa: E731 - the handler reads the current body

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                if self.path != "/api/v1/store/index.json":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body())

            def log_message(self, *args):
                pass  # the test's HTTP server would print every request into the test output

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def static_store():
    stores = []

    def serve(index):
        stores.append(StaticStore(index))
        return stores[-1]

    yield serve
    for store in stores:
        store.close()


# Catalog pages ---------------------------------------------------------------------------
def test_store_index_searches_by_name_and_filters_by_category(owner_client, db):
    make_release()
    make_release("org.example.calendar", title="Calendar", tags=("calendar", "sync"))
    make_release("org.example.contacts", title="Contacts", tags=("contacts", "sync"))
    page = owner_client.get(reverse("apps_store:index")).content.decode()
    assert all(title in page for title in ("Notes", "Calendar", "Contacts"))
    assert "sync (2)" in page and "notes (1)" in page

    found = owner_client.get(reverse("apps_store:index"), {"q": "calend"}).content.decode()
    assert "Calendar" in found and "Contacts" not in found and "Notes for everyone" not in found
    by_tag = owner_client.get(reverse("apps_store:index"), {"tag": "sync"}).content.decode()
    assert "Calendar" in by_tag and "Contacts" in by_tag and "Notes for everyone" not in by_tag
    none = owner_client.get(reverse("apps_store:index"), {"q": "spreadsheet"}).content.decode()
    assert "No app matches" in none


def test_store_index_query_count_does_not_grow_with_the_number_of_apps(
    owner_client, db, django_assert_max_num_queries
):
    make_release("io.example.a0", title="A0")
    owner_client.get(reverse("apps_store:index"))  # session and user queries warm up the same
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        owner_client.get(reverse("apps_store:index"))
    for number in range(1, 30):
        make_release(f"io.example.a{number}", title=f"A{number}", version="1.0.0")
        make_release(f"io.example.a{number}", title=f"A{number}", version="1.1.0")
    with django_assert_max_num_queries(len(few)):
        page = owner_client.get(reverse("apps_store:index")).content.decode()
    assert page.count('class="card store-app"') == 30
    assert "Version 1.1.0" in page


def test_app_page_shows_icon_tagline_description_version_changelog_and_addons(owner_client, db):
    make_release(version="1.0.0")
    make_release(version="1.1.0")
    page = owner_client.get(reverse("apps_store:app", args=["io.example.notes"])).content.decode()
    assert reverse("apps_store:icon", args=["io.example.notes"]) in page
    assert "Notes for everyone" in page and "A longer text about Notes." in page
    assert "1.1.0" in page and "Changes of 1.1.0." in page and "Changes of 1.0.0." in page
    assert "localstorage, sendmail" in page
    assert "128.0\xa0MB" in page
    icon = owner_client.get(reverse("apps_store:icon", args=["io.example.notes"]))
    assert icon["Content-Type"] == "image/svg+xml"
    assert "sandbox" in icon["Content-Security-Policy"]
    assert icon.content.startswith(b"<svg")


def test_app_page_says_why_a_release_cannot_be_installed(owner_client, db):
    release = make_release()
    Release.objects.filter(pk=release.pk).update(manifest={**release.manifest, "httpPort": 9})
    page = owner_client.get(reverse("apps_store:app", args=["io.example.notes"])).content.decode()
    assert "cannot be trusted" in page and "changed after it was signed" in page
    assert reverse("apps_store:install", args=["io.example.notes"]) not in page


def test_install_form_shows_the_addons_and_memory_limit(owner_client, db, domain):
    make_release()
    page = owner_client.get(reverse("apps_store:install", args=["io.example.notes"]))
    text = page.content.decode()
    assert "localstorage, sendmail" in text and "128.0\xa0MB" in text


def test_install_of_a_tampered_release_is_refused_in_the_form_and_creates_nothing(
    owner_client, db, domain
):
    release = make_release()
    Release.objects.filter(pk=release.pk).update(image_digest="sha256:" + "f" * 64)
    response = owner_client.post(
        reverse("apps_store:install", args=["io.example.notes"]),
        {"subdomain": "notes", "domain": domain.pk},
    )
    assert response.status_code == 400
    assert "changed after it was signed" in response.content.decode()
    assert not AppInstance.objects.exists()


@pytest.mark.parametrize("name", ["index", "sync"])
def test_store_pages_refuse_outsiders(outsider_client, db, name):
    method = outsider_client.post if name == "sync" else outsider_client.get
    assert method(reverse(f"apps_store:{name}")).status_code == 403


def test_sync_refuses_get(owner_client, db):
    assert owner_client.get(reverse("apps_store:sync")).status_code == 405


# The index over HTTP ---------------------------------------------------------------------
def test_index_lists_signed_releases_only_and_is_signed(client, db):
    make_release()
    StoreApp.objects.create(app_id="io.example.unsigned", title="Unsigned")
    Release.objects.create(
        store_app=StoreApp.objects.get(app_id="io.example.unsigned"),
        version="1.0.0",
        sort_key=release_sort_key("1.0.0"),
        manifest={},
        image="x:1",
        image_digest="sha256:" + "0" * 64,
    )
    index = client.get("/api/v1/store/index.json").json()
    assert [app["id"] for app in index["apps"]] == ["io.example.notes"]
    assert index["signature"] and index["publicKey"]
    assert client.get("/api/v1/store/key").json()["publicKey"] == index["publicKey"]


def test_sync_from_another_hearth_over_http_verifies_everything(live_server, transactional_db):
    make_release(version="1.0.0")
    make_release(version="1.1.0")
    before = catalog_snapshot()
    report = sync_store(live_server.url)
    assert (report.apps, report.releases, report.new_releases) == (1, 2, 0)
    assert catalog_snapshot() == before
    source = StoreSource.objects.get(url=live_server.url)
    assert source.last_synced_at and not source.last_error and source.release_count == 2


def test_sync_brings_a_stores_apps_into_an_empty_catalog_installable(
    live_server, transactional_db, static_store
):
    make_release(version="1.0.0")
    make_release("org.example.calendar", version="2.0.0", title="Calendar")
    served = requests.get(live_server.url + "/api/v1/store/index.json", timeout=10).content
    expected = catalog_snapshot()
    StoreApp.objects.all().delete()

    store = static_store(served)
    report = sync_store(store.url)
    assert (report.apps, report.releases, report.new_releases) == (2, 2, 2)
    assert catalog_snapshot() == expected
    assert StoreApp.objects.get(app_id="org.example.calendar").source == store.url
    for release in Release.objects.select_related("store_app"):
        # The signature survived the trip: only the (fake) image is missing.
        assert "missing from the registry" in release_problem(release)


def test_a_release_changed_after_signing_makes_the_whole_sync_fail_and_change_nothing(
    live_server, transactional_db
):
    make_release("org.example.calendar", version="2.0.0", title="Calendar")
    sync_store(live_server.url)  # the store's key is now pinned for this URL
    tampered = make_release(version="1.0.0")
    Release.objects.filter(pk=tampered.pk).update(image="evil.example/notes:1.0.0")
    before = catalog_snapshot()
    with pytest.raises(StoreSyncError) as caught:
        sync_store(live_server.url)
    assert "release io.example.notes@1.0.0" in str(caught.value)
    assert "changed after it was signed" in str(caught.value)
    assert catalog_snapshot() == before
    assert "changed after it was signed" in StoreSource.objects.get(url=live_server.url).last_error


def test_an_index_whose_texts_were_changed_after_signing_is_refused(db, static_store):
    make_release()
    index = build_store_index()
    StoreApp.objects.all().delete()
    index["apps"][0]["title"] = "Totally Legit Bank"
    with pytest.raises(StoreSyncError, match="index of .* cannot be trusted"):
        sync_store(static_store(index).url)
    assert not StoreApp.objects.exists()


def test_a_store_signed_by_an_unknown_key_is_refused_until_its_key_is_trusted(
    db, static_store, tmp_path
):
    make_release()
    index = build_store_index()
    StoreApp.objects.all().delete()
    other = load_or_create_private_key(tmp_path / "other-store")
    index["publicKey"] = public_key_text(other)
    unsigned = {key: value for key, value in index.items() if key != "signature"}
    index["signature"] = sign_document(other, unsigned)
    store = static_store(index)
    with pytest.raises(StoreSyncError, match="does not trust"):
        sync_store(store.url)
    assert not StoreApp.objects.exists()
    with override_settings(HEARTH_STORE_TRUSTED_KEYS=[public_key_text(other)]):
        assert sync_store(store.url).new_releases == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<html>hello</html>", "not a Hearth store index"),
        (b'{"format": "something-else"}', "did not serve a valid store index"),
    ],
)
def test_a_store_serving_something_else_is_refused(db, static_store, body, expected):
    make_release()
    before = catalog_snapshot()
    with pytest.raises(StoreSyncError, match=expected):
        sync_store(static_store(body).url)
    assert catalog_snapshot() == before


def test_a_store_that_does_not_answer_gives_a_clear_error_and_changes_nothing(db):
    make_release()
    before = catalog_snapshot()
    reports, errors = sync_stores(["http://127.0.0.1:9"])
    assert reports == []
    assert errors == [
        "the store at http://127.0.0.1:9 did not answer: [Errno 111] Connection refused"
    ]
    assert catalog_snapshot() == before


def test_the_sync_button_reports_failures_in_the_page(owner_client, db):
    with override_settings(HEARTH_STORE_URLS=["http://127.0.0.1:9"]):
        response = owner_client.post(reverse("apps_store:sync"), follow=True)
    page = response.content.decode()
    assert "Sync failed, nothing changed" in page and "did not answer" in page


# Updates ---------------------------------------------------------------------------------
def test_installed_apps_show_update_available_once_a_newer_release_is_synced(
    owner_client, db, domain
):
    release = make_release(version="1.0.0")
    app = AppInstance.objects.create(
        store_app_id="io.example.notes",
        title="Notes",
        version="1.0.0",
        manifest=release.manifest,
        image="x",
        subdomain="notes",
        domain=domain,
        memory_limit=release.manifest["memoryLimit"],
        state=AppState.RUNNING,
    )
    assert check_for_updates() == []
    assert "update available" not in owner_client.get(reverse("core:dashboard")).content.decode()

    make_release(version="1.1.0-beta.1")
    assert check_for_updates() == []  # pre-releases are not offered as updates
    make_release(version="1.1.0")
    [update] = check_for_updates()
    assert update.version == "1.1.0"
    assert "update available" in owner_client.get(reverse("core:dashboard")).content.decode()
    detail = owner_client.get(reverse("core:app_detail", args=[app.pk])).content.decode()
    assert "update available: 1.1.0" in detail

    store = owner_client.get(reverse("apps_store:index")).content.decode()
    assert "<strong>installed</strong>" in store
    page = owner_client.get(reverse("apps_store:app", args=["io.example.notes"])).content.decode()
    assert "notes.localhost</a>: version 1.0.0 — update available: 1.1.0" in page

    AppInstance.objects.filter(pk=app.pk).update(version="1.1.0")
    assert check_for_updates() == []
    assert not AvailableUpdate.objects.exists()


def test_the_beat_schedule_syncs_stores_every_few_hours():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["store-sync"]
    assert entry["task"] == "apps_store.sync_stores"
    assert 3600 <= entry["schedule"] <= 12 * 3600
    from panel.celery import app

    app.loader.import_default_modules()
    assert "apps_store.sync_stores" in app.tasks


def test_a_large_catalog_is_shown_in_pages_that_keep_the_search(owner_client, db):
    from apps_store.views import APPS_PER_PAGE

    for number in range(APPS_PER_PAGE + 5):
        make_release(f"io.example.b{number:03d}", title=f"B{number:03d}", tags=("many",))
    first = owner_client.get(reverse("apps_store:index"), {"tag": "many"}).content.decode()
    assert first.count('class="card store-app"') == APPS_PER_PAGE
    assert "Page 1 of 2" in first and "page=2&amp;tag=many" in first
    second = owner_client.get(reverse("apps_store:index"), {"tag": "many", "page": 2})
    assert second.content.decode().count('class="card store-app"') == 5


def test_install_page_of_a_release_with_an_invalid_manifest_says_so(owner_client, db):
    release = make_release()
    Release.objects.filter(pk=release.pk).update(manifest={**release.manifest, "httpPort": "x"})
    response = owner_client.get(reverse("apps_store:install", args=["io.example.notes"]))
    assert response.status_code == 400
    assert "its manifest is invalid" in response.content.decode()
    assert "httpPort" in response.content.decode()


def test_a_store_serving_an_oversized_or_non_image_icon_is_refused(db, static_store):
    make_release()
    index = build_store_index()
    StoreApp.objects.all().delete()
    for icon in ("data:text/html;base64,PHNjcmlwdD4=", "data:image/png;base64," + "A" * 300_000):
        index["apps"][0]["icon"] = icon
        with pytest.raises(StoreSyncError, match="at apps/0/icon"):
            sync_store(static_store(index).url)
    assert not StoreApp.objects.exists()
