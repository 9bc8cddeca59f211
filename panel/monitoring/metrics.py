"""The round-robin metric store in the database, the sampler beat runs, and chart data."""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

from panel.core.models import AppInstance
from panel.monitoring.models import MetricSlot
from panel.monitoring.rrd import (
    RESOLUTIONS,
    SAMPLE_FIELDS,
    Resolution,
    Sample,
    per_second,
    sample_from_docker_stats,
    sample_from_proc,
    slot_for,
)
from panel.runtime.containers import get_runtime
from panel.runtime.spec import app_resource_names

log = logging.getLogger(__name__)

HOST_SERIES = "host"


def app_series(app_hex: str) -> str:
    return f"app:{app_hex}"


def record_samples(ts: int, samples: dict[str, Sample]) -> None:
    """Write one reading per series into its slot of every resolution, in one statement."""
    rows = [
        MetricSlot(
            series=series,
            step=resolution.step,
            slot=slot_for(ts, resolution),
            ts=ts,
            **{name: getattr(sample, name) for name in SAMPLE_FIELDS},
        )
        for series, sample in samples.items()
        for resolution in RESOLUTIONS
    ]
    MetricSlot.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["series", "step", "slot"],
        update_fields=["ts", *SAMPLE_FIELDS],
    )


def forget_series_except(keep: set[str]) -> int:
    """Drop the rings of apps that are gone, so the store is bounded by the apps installed."""
    deleted, _ = MetricSlot.objects.exclude(series__in=keep).delete()
    return deleted


def host_sample() -> Sample:
    def read(path: str) -> str:
        with open(path) as handle:
            return handle.read()

    disk = os.statvfs("/")
    used = (disk.f_blocks - disk.f_bfree) * disk.f_frsize
    return sample_from_proc(
        read("/proc/stat"),
        read("/proc/meminfo"),
        read("/proc/net/dev"),
        used,
        os.sysconf("SC_CLK_TCK"),
    )


def volume_sizes() -> dict[str, int]:
    usage = get_runtime().disk_usage()
    return {
        volume["Name"]: max(0, int((volume.get("UsageData") or {}).get("Size", 0)))
        for volume in usage.get("Volumes") or []
    }


def sample_metrics(now: int | None = None) -> dict[str, Sample]:
    """Read every app container's counters and the host's, and store them."""
    ts = int(now or time.time())
    runtime = get_runtime()
    apps = list(AppInstance.objects.values_list("id", flat=True))
    sizes = volume_sizes()

    def read(app_id) -> tuple[str, Sample | None]:
        names = app_resource_names(settings.HEARTH_INSTANCE, app_id.hex)
        stats = runtime.container_stats(names.container)
        if stats is None:
            return app_series(app_id.hex), None
        return app_series(app_id.hex), sample_from_docker_stats(stats, sizes.get(names.volume, 0))

    samples: dict[str, Sample] = {HOST_SERIES: host_sample()}
    with ThreadPoolExecutor(max_workers=4) as pool:
        for series, sample in pool.map(read, apps):
            if sample is not None:
                samples[series] = sample
    record_samples(ts, samples)
    forget_series_except({HOST_SERIES, *(app_series(app_id.hex) for app_id in apps)})
    return samples


def chart_data(series: str, resolution: Resolution, now: int | None = None) -> dict:
    """Columns for uPlot: times, CPU % of one core, memory, network rates, disk use."""
    now = int(now or time.time())
    rows = list(
        MetricSlot.objects.filter(
            series=series, step=resolution.step, ts__gt=now - resolution.window
        )
        .order_by("ts")
        .values_list("ts", "cpu_ns", "mem_bytes", "mem_limit", "net_rx", "net_tx", "disk_bytes")
    )
    times = [row[0] for row in rows]
    # A gap of more than two and a half slots is missing data, not a slow interval.
    gap = resolution.step * 2.5
    cpu = per_second(times, [row[1] for row in rows], gap)
    return {
        "resolution": resolution.name,
        "step": resolution.step,
        "times": times,
        "cpu": [None if value is None else round(value / 1e7, 2) for value in cpu],
        "memory": [row[2] for row in rows],
        "memory_limit": rows[-1][3] if rows else 0,
        "rx": _rounded(per_second(times, [row[4] for row in rows], gap)),
        "tx": _rounded(per_second(times, [row[5] for row in rows], gap)),
        "disk": [row[6] for row in rows],
    }


def _rounded(values: list[float | None]) -> list[float | None]:
    return [None if value is None else round(value, 1) for value in values]
