"""Resource graphs: the round-robin store stays bounded for a month of 50 apps, the beat
sampler reads real containers and the host, and the pages serve the charts."""

from __future__ import annotations

import time

import pytest
from django.db import connection, transaction

from panel.monitoring import rrd
from panel.monitoring.metrics import HOST_SERIES, app_series, record_samples, sample_metrics
from panel.monitoring.models import MetricSlot

pytestmark = pytest.mark.django_db(transaction=True)


def table_bytes() -> int:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA page_count")
        pages = cursor.fetchone()[0]
        cursor.execute("PRAGMA freelist_count")
        free = cursor.fetchone()[0]
        cursor.execute("PRAGMA page_size")
        return (pages - free) * cursor.fetchone()[0]


def test_a_month_of_samples_for_50_apps_stays_under_a_fixed_size():
    series = [app_series(f"{n:032x}") for n in range(50)] + [HOST_SERIES]
    before = table_bytes()
    start = 1_780_000_000
    # Every 31 minutes for 30 days (a month of 1-minute samples would take minutes to write
    # here): 31 shares no factor with the rings' lengths, so every slot of every resolution
    # is written, and overwritten again as the rings come round.
    step = 31 * 60
    ticks = range(start, start + 30 * 24 * 3600, step)
    sizes = []
    for index, ts in enumerate(ticks):
        sample = rrd.Sample(cpu_ns=index * 10**9, mem_bytes=index, mem_limit=1 << 30)
        with transaction.atomic():
            record_samples(ts, dict.fromkeys(series, sample))
        if index and index % 300 == 0:
            sizes.append(MetricSlot.objects.count())
    rows = MetricSlot.objects.count()
    assert rows == rrd.max_slots(len(series)) == 51 * 984
    assert sizes[-1] == rows  # full after the first week, and no bigger after four
    grown = table_bytes() - before
    assert grown < 12 * 1024 * 1024, f"{grown} bytes for {rows} slots"


@pytest.mark.e2e
def test_the_sampler_reads_a_running_app_and_the_host_and_the_charts_show_them(
    app_with_container, owner_client, outsider
):
    busy = "while true; do i=$((i+1)); done"
    app, _ = app_with_container(busy, subdomain="busy")
    now = int(time.time())
    first = sample_metrics(now - 60)
    time.sleep(1.5)
    second = sample_metrics(now)
    series = app_series(app.id.hex)
    assert second[series].cpu_ns > first[series].cpu_ns > 0
    assert 0 < second[series].mem_bytes < second[series].mem_limit == 64 << 20
    assert second[HOST_SERIES].mem_limit > second[HOST_SERIES].mem_bytes > 0

    data = owner_client.get(f"/apps/{app.id}/metrics.json?range=6h").json()
    assert len(data["times"]) == 2
    assert data["cpu"][0] is None and data["cpu"][1] > 0  # a busy loop shows as CPU
    assert data["memory_limit"] == 64 << 20
    host = owner_client.get("/system/metrics.json?range=24h").json()
    assert host["step"] == 300 and len(host["times"]) >= 1
    assert owner_client.get("/system/metrics.json?range=1y").status_code == 404

    graphs = owner_client.get(f"/apps/{app.id}/graphs/").content.decode()
    assert "vendor/uplot/uPlot.iife.min.js" in graphs and "data-metrics-url" in graphs

    owner_client.force_login(outsider)
    assert owner_client.get(f"/apps/{app.id}/metrics.json").status_code == 403
    assert owner_client.get("/system/").status_code == 403


@pytest.mark.e2e
def test_system_page_lists_disk_per_app_images_and_services(
    app_with_container, owner_client, nginx, docker_runtime
):
    from django.conf import settings

    app, _ = app_with_container("sleep 600", subdomain="diskuser")
    volume = docker_runtime.client.volumes.create(
        f"{settings.HEARTH_INSTANCE}-svc-testdata",
        labels={"io.hearth.instance": settings.HEARTH_INSTANCE, "io.hearth.role": "service"},
    )
    try:
        page = owner_client.get("/system/").content.decode()
    finally:
        volume.remove(force=True)
    assert "Diskuser" in page
    assert f"<td>{settings.HEARTH_INSTANCE}-svc-testdata</td>" in page  # addon data
    for service in ("dockerd", "redis", "nginx", "registry"):
        assert f"<td>{service}</td>" in page
    assert "status-down" not in page
    assert "hearth/base" in page  # the images table
    response = owner_client.post("/system/images/clean/")
    assert response.status_code == 302
    assert owner_client.get("/system/images/clean/").status_code == 405


@pytest.mark.e2e
def test_admins_restart_nginx_and_addon_services_from_the_system_page(
    owner_client, nginx, docker_runtime, base_image
):
    from django.conf import settings

    from panel.core.models import Event

    response = owner_client.post("/system/", {"restart": "nginx"})
    assert response.status_code == 302
    assert nginx.is_running()

    service = docker_runtime.client.containers.run(
        base_image,
        # Ends on TERM at once, as a real service would (a bare sleep would wait 20 s).
        ["sh", "-c", "trap 'exit 0' TERM; while sleep 1; do :; done"],
        name=f"{settings.HEARTH_INSTANCE}-svc-restartme",
        labels={"io.hearth.instance": settings.HEARTH_INSTANCE, "io.hearth.role": "service"},
        detach=True,
    )
    try:
        started = service.attrs["State"]["StartedAt"]
        page = owner_client.get("/system/").content.decode()
        assert f'name="restart" value="{service.name}"' in page
        assert owner_client.post("/system/", {"restart": service.name}).status_code == 302
        service.reload()
        assert service.attrs["State"]["StartedAt"] != started
        assert service.status == "running"
    finally:
        service.remove(force=True)
    assert owner_client.post("/system/", {"restart": "dockerd"}).status_code == 404
    assert sorted(
        Event.objects.filter(action="service_restart").values_list("message", flat=True)
    ) == [
        f"{service.name} restarted",
        "nginx started or reloaded",
    ]
