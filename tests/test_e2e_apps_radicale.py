"""Radicale installed through install_app and the real worker, used as CalDAV through nginx."""

from __future__ import annotations

import pytest

from panel.core.models import Task
from tests.fixtures_store import (
    AppClient,
    app_container,
    install_and_wait,
    recreate_container,
    run_action,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EVENT = (
    "BEGIN:VCALENDAR\r\n"
    "VERSION:2.0\r\n"
    "PRODID:-//Hearth//e2e//EN\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:hearth-e2e-event-1\r\n"
    "DTSTAMP:20261125T120000Z\r\n"
    "DTSTART:20261201T090000Z\r\n"
    "DTEND:20261201T100000Z\r\n"
    "SUMMARY:Hearth planning\r\n"
    "END:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)


def test_radicale_stores_an_event_put_over_caldav_and_serves_it_back_after_restart(
    worker, publish_bundled, domain, docker_runtime
):
    app, task = install_and_wait(publish_bundled("radicale"), "dav", domain)
    assert task.state == Task.State.SUCCEEDED, task.error

    container_name = app_container(docker_runtime, app)
    _, password = docker_runtime.exec_in_container(
        container_name, ["cat", "/app/data/.initial-admin-password"]
    )
    dav = AppClient(app.fqdn)
    dav.session.auth = ("admin", password.strip())

    assert dav.request("MKCALENDAR", "/admin/work/").status_code == 201
    put = dav.request(
        "PUT",
        "/admin/work/planning.ics",
        data=EVENT.encode(),
        headers={"Content-Type": "text/calendar; charset=utf-8"},
    )
    assert put.status_code == 201
    listing = dav.request("PROPFIND", "/admin/work/", headers={"Depth": "1"})
    assert listing.status_code == 207
    assert "planning.ics" in listing.text

    def event_summary() -> str:
        response = dav.get("/admin/work/planning.ics")
        assert response.status_code == 200
        return response.text

    assert "SUMMARY:Hearth planning" in event_summary()
    assert "UID:hearth-e2e-event-1" in event_summary()

    stranger = AppClient(app.fqdn)
    stranger.session.auth = ("admin", "not-the-password")
    assert stranger.get("/admin/work/planning.ics").status_code == 401

    assert run_action(app, "restart").state == Task.State.SUCCEEDED
    assert "SUMMARY:Hearth planning" in event_summary()
    assert recreate_container(app).state == Task.State.SUCCEEDED
    assert "SUMMARY:Hearth planning" in event_summary()

    assert run_action(app, "uninstall").state == Task.State.SUCCEEDED
    assert docker_runtime.app_resources(app.id.hex).empty
