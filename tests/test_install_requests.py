"""Install and action requests: validation, refusals and the rows they leave (or don't)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from panel.core.models import AppInstance, Event, Task
from panel.core.operations import recover_interrupted_tasks
from panel.core.services import ActionRejected, install_app, request_app_action
from panel.core.states import AppState


@pytest.fixture
def release(db, publish):
    # A real signed release whose image is in the registry: install_app verifies both.
    return publish("staticsite")


def nothing_created():
    return not (AppInstance.objects.exists() or Task.objects.exists() or Event.objects.exists())


@pytest.mark.parametrize(
    ("subdomain", "message"),
    [
        ("Bad_Name", "lower-case letters"),
        ("-blog", "not starting or ending with a hyphen"),
        ("a" * 64, "1 to 63"),
        ("", "1 to 63"),
        ("my", "reserved for the Hearth dashboard"),
    ],
)
def test_install_rejects_bad_subdomains_with_a_field_error_and_no_side_effects(
    release, domain, subdomain, message
):
    with pytest.raises(ActionRejected) as caught:
        install_app(release=release, subdomain=subdomain, domain=domain)
    assert message in caught.value.errors["subdomain"]
    assert nothing_created()


def test_install_rejects_a_taken_subdomain(release, domain, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        install_app(release=release, subdomain="blog", domain=domain)
    with pytest.raises(ActionRejected) as caught:
        install_app(release=release, subdomain="blog", domain=domain)
    assert caught.value.errors["subdomain"] == "blog.localhost is already used by another app."
    assert AppInstance.objects.count() == 1


def test_install_rejects_a_release_whose_manifest_is_invalid(release, domain):
    release.manifest = {**release.manifest, "httpPort": "eighty"}
    with pytest.raises(ActionRejected) as caught:
        install_app(release=release, subdomain="blog", domain=domain)
    assert "httpPort" in caught.value.errors["release"]
    assert nothing_created()


def test_install_creates_the_app_the_task_and_an_event_and_enqueues_after_commit(
    release, domain, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        app = install_app(release=release, subdomain="Blog", domain=domain, user=owner)
    assert len(callbacks) == 1
    assert app.state == AppState.PENDING_INSTALL
    assert app.fqdn == "blog.localhost"
    assert app.image == release.pinned_image
    assert "@sha256:" in app.image
    assert app.memory_limit == 67108864
    task = Task.objects.get(app=app)
    assert (task.kind, task.state, task.requested_by) == ("install", "queued", owner)
    assert Event.objects.get(app=app).action == "install_requested"


@pytest.fixture
def running_app(release, domain, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        app = install_app(release=release, subdomain="blog", domain=domain)
    Task.objects.update(state=Task.State.SUCCEEDED)
    AppInstance.objects.filter(pk=app.pk).update(state=AppState.RUNNING)
    app.refresh_from_db()
    return app


def test_a_second_action_while_one_is_queued_is_refused_clearly(
    running_app, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        request_app_action(running_app, "stop")
        with pytest.raises(ActionRejected, match="busy"):
            request_app_action(running_app, "restart")
    assert Task.objects.filter(state="queued").count() == 1


def test_starting_a_running_app_is_refused_with_the_reason(running_app):
    with pytest.raises(ActionRejected, match="cannot start Static Website while it is running"):
        request_app_action(running_app, "start")


def test_unknown_actions_are_refused(running_app):
    with pytest.raises(ActionRejected, match="unknown action"):
        request_app_action(running_app, "explode")


def test_retry_from_error_queues_the_install_again(running_app, django_capture_on_commit_callbacks):
    AppInstance.objects.filter(pk=running_app.pk).update(state=AppState.ERROR, error="boom")
    with django_capture_on_commit_callbacks(execute=False):
        task = request_app_action(running_app, "retry")
    running_app.refresh_from_db()
    assert task.kind == "install"
    assert running_app.state == AppState.PENDING_INSTALL
    assert running_app.error == ""


def test_tasks_left_running_by_a_dead_worker_fail_and_their_app_can_be_retried(running_app):
    AppInstance.objects.filter(pk=running_app.pk).update(state=AppState.RESTARTING)
    task = Task.objects.create(
        kind="restart", app=running_app, state=Task.State.RUNNING, worker="w1@host"
    )
    other = Task.objects.create(kind="restart", state=Task.State.RUNNING, worker="w2@host")
    assert recover_interrupted_tasks("w1@host") == 1
    task.refresh_from_db()
    other.refresh_from_db()
    running_app.refresh_from_db()
    assert task.state == Task.State.FAILED and "worker stopped" in task.error
    assert other.state == Task.State.RUNNING  # another worker's task is not ours to fail
    assert running_app.state == AppState.ERROR
    assert "retry" in running_app.error


# Views -------------------------------------------------------------------------------------
def test_install_form_shows_a_field_error_for_a_taken_subdomain(owner_client, running_app, domain):
    response = owner_client.post(
        reverse("apps_store:install", args=["io.hearth.staticsite"]),
        {"subdomain": "blog", "domain": domain.pk},
    )
    assert response.status_code == 400
    assert "blog.localhost is already used by another app." in response.content.decode()
    assert AppInstance.objects.count() == 1


def test_install_form_redirects_to_the_app_page(
    owner_client, release, domain, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        response = owner_client.post(
            reverse("apps_store:install", args=["io.hearth.staticsite"]),
            {"subdomain": "site", "domain": domain.pk},
        )
    app = AppInstance.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("core:app_detail", args=[app.pk])


def test_store_page_lists_the_release(owner_client, release):
    response = owner_client.get(reverse("apps_store:index"))
    assert "Static Website" in response.content.decode()


def test_outsiders_cannot_see_or_change_apps(outsider_client, running_app):
    home = outsider_client.get(reverse("core:dashboard")).content.decode()
    assert reverse("core:app_detail", args=[running_app.pk]) not in home  # a launcher only
    assert "Install an app" not in home
    for url in [
        reverse("core:app_detail", args=[running_app.pk]),
        reverse("apps_store:index"),
        reverse("core:api_apps"),
    ]:
        assert outsider_client.get(url).status_code == 403, url
    response = outsider_client.post(reverse("core:app_action", args=[running_app.pk, "stop"]))
    assert response.status_code == 403
    assert not Task.objects.filter(kind="stop").exists()


def test_anonymous_visitors_are_sent_to_log_in(client, running_app):
    response = client.get(reverse("core:app_detail", args=[running_app.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_actions_refuse_get(owner_client, running_app):
    response = owner_client.get(reverse("core:app_action", args=[running_app.pk, "stop"]))
    assert response.status_code == 405


def test_action_view_queues_the_task_and_shows_the_refusal_when_busy(
    owner_client, running_app, django_capture_on_commit_callbacks
):
    url = reverse("core:app_action", args=[running_app.pk, "stop"])
    with django_capture_on_commit_callbacks(execute=False):
        owner_client.post(url)
        response = owner_client.post(url, follow=True)
    assert Task.objects.filter(kind="stop", state="queued").count() == 1
    assert "busy" in response.content.decode()


def test_api_install_returns_field_errors_as_json(owner_client, release, domain):
    response = owner_client.post(
        reverse("core:api_apps"),
        {"store_app_id": "io.hearth.staticsite", "subdomain": "my", "domain": "localhost"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "reserved" in response.json()["errors"]["subdomain"]


def test_api_install_refuses_an_unknown_store_app(owner_client, domain):
    response = owner_client.post(
        reverse("core:api_apps"),
        {"store_app_id": "com.example.nope", "subdomain": "x"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "store_app_id" in response.json()["errors"]


def test_progress_fragment_redirects_home_once_the_app_is_gone(owner_client, running_app):
    url = reverse("core:app_progress", args=[running_app.pk])
    running_app.delete()
    response = owner_client.get(url, HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == "/"


def test_the_app_list_costs_the_same_queries_for_three_apps_or_thirty(owner_client, domain):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def make(count: int) -> None:
        for index in range(AppInstance.objects.count(), count):
            AppInstance.objects.create(
                store_app_id="x.y",
                title=f"App {index}",
                version="1.0.0",
                manifest={},
                image="x",
                subdomain=f"app{index}",
                domain=domain,
                memory_limit=1,
                state="running",
            )

    owner_client.get(reverse("core:dashboard"))  # the first request also sets up the session
    counts = []
    for count in (3, 30):
        make(count)
        with CaptureQueriesContext(connection) as queries:
            assert owner_client.get(reverse("core:dashboard")).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
