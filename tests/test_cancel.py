"""Cancelling tasks, on the database only: queued tasks end at once and put the app back
where it was; running ones are marked for the worker; unsafe ones are refused; views and the
API call the same service. (The worker's side is in tests/test_e2e_cancel.py.)"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from panel.core.models import AppInstance, Event, Task
from panel.core.operations import TaskCancelled, TaskProgress
from panel.core.services import (
    ActionRejected,
    can_cancel,
    cancel_task,
    change_app_location,
    request_app_action,
)
from panel.core.states import CANCEL_RETURNS, AppState, can_transition, cancel_return_state

pytestmark = pytest.mark.django_db


def test_every_queued_state_can_go_back_to_where_it_came_from():
    for queued, previous in CANCEL_RETURNS.items():
        for state in previous:
            assert can_transition(queued, state), (queued, state)
    assert cancel_return_state(AppState.PENDING_STOP, "running") == AppState.RUNNING
    # An unknown or illegal previous state never invents a move: the app goes to error.
    assert cancel_return_state(AppState.PENDING_STOP, "stopped") == AppState.ERROR
    assert cancel_return_state(AppState.PENDING_START, None) == AppState.ERROR


@pytest.mark.parametrize(
    ("start_state", "action"),
    [
        ("running", "stop"),
        ("stopped", "start"),
        ("running", "restart"),
        ("stopped", "restart"),
        ("error", "restart"),
        ("stopped", "uninstall"),
        ("error", "retry"),
    ],
)
def test_a_queued_action_cancelled_puts_the_app_back(make_app, owner, start_state, action):
    app = make_app(state=start_state)
    task = request_app_action(app, action, user=owner)
    assert can_cancel(task)

    cancelled = cancel_task(task, user=owner)

    assert cancelled.state == Task.State.CANCELLED
    task.refresh_from_db()
    assert task.state == Task.State.CANCELLED and task.finished_at is not None
    app.refresh_from_db()
    assert app.state == start_state
    event = Event.objects.filter(action="cancelled").get()
    assert event.app == app and event.actor == owner
    # A cancelled task is done: nothing is busy, the next action is accepted.
    assert not can_cancel(task)
    request_app_action(app, "restart" if start_state != "error" else "uninstall", user=owner)


def test_a_queued_fresh_install_cancelled_removes_the_app(owner_client, owner, make_app):
    # What install_app leaves before a worker picks it up: the row and its first task.
    app = make_app("gone", state="pending_install")
    task = Task.objects.create(kind=Task.Kind.INSTALL, app=app, app_label=str(app))

    response = owner_client.post(reverse("core:task_cancel", args=[task.pk]), {"next": "app"})

    assert response.status_code == 302 and response["Location"] == reverse("core:dashboard")
    assert not AppInstance.objects.filter(pk=app.pk).exists()
    task.refresh_from_db()
    assert task.state == Task.State.CANCELLED and task.app_id is None
    assert Event.objects.filter(action="cancelled", app_label__startswith="Site at gone.").exists()
    make_app("gone")  # the location is free again


def test_a_queued_backup_cancelled_leaves_the_app_as_it_was(make_app, owner):
    app = make_app(state="running")
    task = Task.objects.create(kind=Task.Kind.BACKUP, app=app, params={"target": 1})
    cancel_task(task, user=owner)
    task.refresh_from_db()
    app.refresh_from_db()
    assert task.state == Task.State.CANCELLED
    assert app.state == AppState.RUNNING


@pytest.mark.parametrize(
    "kind", [Task.Kind.INSTALL, Task.Kind.BACKUP, Task.Kind.CLONE, Task.Kind.IMPORT]
)
def test_a_running_install_backup_or_clone_is_marked_and_stops_at_its_next_step(
    make_app, owner, kind
):
    app = make_app(state="installing")
    task = Task.objects.create(kind=kind, app=app, state=Task.State.RUNNING)
    progress = TaskProgress(task)
    progress.step(10, "before the cancel")  # no cancel yet: carries on

    cancel_task(task, user=owner)

    task.refresh_from_db()
    assert task.state == Task.State.RUNNING and task.cancel_requested
    assert not can_cancel(task)  # asked once; the page says "Cancelling…" instead
    with pytest.raises(TaskCancelled):
        progress.step(20, "after the cancel")
    task.refresh_from_db()
    assert task.percent == 10
    assert Event.objects.filter(action="cancel_requested", app=app).exists()


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        (Task.Kind.RESTORE, {}),
        # An update is cancellable until its point of no return (the nginx switch).
        (Task.Kind.UPDATE, {"no_return": True}),
        (Task.Kind.UNINSTALL, {}),
    ],
)
def test_running_restores_updates_and_actions_cannot_be_cancelled(make_app, owner, kind, params):
    app = make_app(state="updating")
    task = Task.objects.create(kind=kind, app=app, state=Task.State.RUNNING, params=params)
    assert not can_cancel(task)
    with pytest.raises(ActionRejected) as refused:
        cancel_task(task, user=owner)
    assert "cannot be stopped safely" in refused.value.errors["task"]
    task.refresh_from_db()
    assert not task.cancel_requested
    # Their checkpoints are no-ops even if the flag were set.
    Task.objects.filter(pk=task.pk).update(cancel_requested=True)
    TaskProgress(task).step(50, "still going")


def test_finished_tasks_and_location_moves_are_refused(make_app, owner, domain):
    app = make_app(state="running")
    done = Task.objects.create(kind=Task.Kind.STOP, app=app, state=Task.State.SUCCEEDED)
    with pytest.raises(ActionRejected, match="already succeeded"):
        cancel_task(done, user=owner)
    move = change_app_location(app, subdomain="elsewhere", domain=domain, user=owner)
    assert not can_cancel(move)
    with pytest.raises(ActionRejected, match="cannot be cancelled"):
        cancel_task(move, user=owner)


def test_the_button_shows_only_where_cancel_is_safe(owner_client, make_app, owner):
    app = make_app(state="running")
    task = request_app_action(app, "stop", user=owner)
    page = owner_client.get(reverse("core:app_detail", args=[app.pk])).content.decode()
    assert reverse("core:task_cancel", args=[task.pk]) in page
    assert (
        'id="cancel-task"'
        in owner_client.get(reverse("core:task_detail", args=[task.pk])).content.decode()
    )

    Task.objects.filter(pk=task.pk).update(state=Task.State.RUNNING)
    page = owner_client.get(reverse("core:app_detail", args=[app.pk])).content.decode()
    assert 'id="cancel-task"' not in page  # a running stop is not cancellable


def test_the_form_without_javascript_redirects_to_the_task_page(owner_client, make_app, owner):
    app = make_app(state="running")
    task = request_app_action(app, "stop", user=owner)
    response = owner_client.post(reverse("core:task_cancel", args=[task.pk]), {"next": "task"})
    assert response.status_code == 302
    assert response["Location"] == reverse("core:task_detail", args=[task.pk])
    page = owner_client.get(response["Location"]).content.decode()
    assert "cancelled" in page and 'id="cancel-task"' not in page


def test_htmx_gets_the_fresh_progress_box(owner_client, make_app, owner):
    app = make_app(state="running")
    task = request_app_action(app, "restart", user=owner)
    response = owner_client.post(
        reverse("core:task_cancel", args=[task.pk]), {"next": "app"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="app-status"')
    assert "Running" in body and 'id="cancel-task"' not in body


def test_the_api_cancels_and_reports_conflicts(owner_client, make_app, owner):
    app = make_app(state="running")
    task = request_app_action(app, "stop", user=owner)
    url = reverse("core:api_task_cancel", args=[task.pk])
    response = owner_client.post(url)
    assert response.status_code == 200
    assert json.loads(response.content)["task"]["state"] == "cancelled"
    again = owner_client.post(url)
    assert again.status_code == 409
    assert "already cancelled" in json.loads(again.content)["errors"]["task"]


def test_an_outsider_cannot_cancel(outsider_client, make_app, owner):
    app = make_app(state="running")
    task = request_app_action(app, "stop", user=owner)
    assert outsider_client.post(reverse("core:task_cancel", args=[task.pk])).status_code == 403
    assert outsider_client.post(reverse("core:api_task_cancel", args=[task.pk])).status_code == 403
    task.refresh_from_db()
    assert task.state == Task.State.QUEUED
