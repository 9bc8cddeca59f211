"""Round-robin time series: a fixed ring of slots per resolution, so storage never grows.

Framework-free slot arithmetic and rate maths; panel.monitoring.metrics keeps the slots in the
database. A sample lands in one slot of every resolution; the slot it lands in is overwritten
when the ring comes round again, which is all the "expiry" there is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Resolution:
    name: str
    step: int  # seconds per slot
    slots: int

    @property
    def window(self) -> int:
        return self.step * self.slots


# The three graphs the pages offer: 6 hours by the minute, a day by 5 minutes, a week by 30.
RESOLUTIONS: tuple[Resolution, ...] = (
    Resolution("6h", 60, 360),
    Resolution("24h", 300, 288),
    Resolution("7d", 1800, 336),
)
BY_NAME = {resolution.name: resolution for resolution in RESOLUTIONS}
SLOTS_PER_SERIES = sum(resolution.slots for resolution in RESOLUTIONS)


@dataclass(frozen=True)
class Sample:
    """One reading. cpu_ns and net_* are cumulative counters; the rest are gauges."""

    cpu_ns: int = 0
    mem_bytes: int = 0
    mem_limit: int = 0
    net_rx: int = 0
    net_tx: int = 0
    disk_bytes: int = 0


SAMPLE_FIELDS = tuple(field.name for field in fields(Sample))


def slot_for(ts: int, resolution: Resolution) -> int:
    return (ts // resolution.step) % resolution.slots


def max_slots(series_count: int) -> int:
    """The most rows a store with this many series can ever hold."""
    return series_count * SLOTS_PER_SERIES


def per_second(times: Sequence[int], counters: Sequence[int], max_gap: float) -> list[float | None]:
    """Rate of a cumulative counter between each point and the one before it.

    None where there is no previous point, where the points are too far apart to speak for
    the interval, or where the counter went down (the container restarted and began at 0).
    """
    rates: list[float | None] = [None]
    for index in range(1, len(times)):
        elapsed = times[index] - times[index - 1]
        delta = counters[index] - counters[index - 1]
        if elapsed <= 0 or elapsed > max_gap or delta < 0:
            rates.append(None)
        else:
            rates.append(delta / elapsed)
    return rates[: len(times)]


def sample_from_docker_stats(stats: dict, disk_bytes: int = 0) -> Sample:
    """A Sample from Docker's stats JSON (cgroup v1 or v2)."""
    memory = stats.get("memory_stats") or {}
    details = memory.get("stats") or {}
    # What `docker stats` shows: usage minus the page cache the kernel can drop at once.
    inactive = details.get("total_inactive_file", details.get("inactive_file", 0))
    networks = (stats.get("networks") or {}).values()
    return Sample(
        cpu_ns=int(((stats.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage", 0)),
        mem_bytes=max(0, int(memory.get("usage", 0)) - int(inactive)),
        mem_limit=int(memory.get("limit", 0)),
        net_rx=sum(int(n.get("rx_bytes", 0)) for n in networks),
        net_tx=sum(int(n.get("tx_bytes", 0)) for n in (stats.get("networks") or {}).values()),
        disk_bytes=disk_bytes,
    )


def sample_from_proc(
    proc_stat: str, meminfo: str, net_dev: str, disk_used: int, clock_ticks: int = 100
) -> Sample:
    """The host's Sample from the text of /proc/stat, /proc/meminfo and /proc/net/dev."""
    cpu = proc_stat.splitlines()[0].split()[1:]
    # user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    busy = sum(int(value) for index, value in enumerate(cpu[:8]) if index not in (3, 4))
    mem = {}
    for line in meminfo.splitlines():
        name, _, rest = line.partition(":")
        if rest.strip():
            mem[name] = int(rest.split()[0]) * 1024
    rx = tx = 0
    for line in net_dev.splitlines()[2:]:
        name, _, counters = line.partition(":")
        name = name.strip()
        if name == "lo" or name.startswith(("veth", "br-", "docker", "hb")):
            continue  # count traffic in and out of the machine once, not per bridge
        values = counters.split()
        rx += int(values[0])
        tx += int(values[8])
    return Sample(
        cpu_ns=busy * 1_000_000_000 // clock_ticks,
        mem_bytes=mem.get("MemTotal", 0) - mem.get("MemAvailable", 0),
        mem_limit=mem.get("MemTotal", 0),
        net_rx=rx,
        net_tx=tx,
        disk_bytes=disk_used,
    )
