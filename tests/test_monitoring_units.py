"""The framework-free parts of monitoring: round-robin slots, rates, parsers, log cursor,
health verdicts. No database, no Docker: milliseconds."""

from __future__ import annotations

from panel.monitoring import health, rrd
from panel.monitoring.logstream import LogCursor, timestamp_ns


def test_every_resolution_is_a_fixed_ring_that_wraps_after_its_window():
    for resolution in rrd.RESOLUTIONS:
        start = 1_700_000_000
        slots = {rrd.slot_for(start + i * resolution.step, resolution) for i in range(5000)}
        assert slots == set(range(resolution.slots))
        assert rrd.slot_for(start, resolution) == rrd.slot_for(
            start + resolution.window, resolution
        )
    assert [r.window for r in rrd.RESOLUTIONS] == [6 * 3600, 24 * 3600, 7 * 24 * 3600]
    assert rrd.max_slots(51) == 51 * (360 + 288 + 336)


def test_rates_come_from_counter_differences_and_skip_gaps_and_resets():
    times = [0, 60, 120, 600, 660, 720]
    counters = [0, 600, 1200, 5000, 100, 700]
    assert rrd.per_second(times, counters, max_gap=150) == [None, 10.0, 10.0, None, None, 10.0]


def test_docker_stats_become_a_sample():
    stats = {
        "cpu_stats": {"cpu_usage": {"total_usage": 123_000_000}},
        "memory_stats": {
            "usage": 50_000_000,
            "limit": 64 << 20,
            "stats": {"total_inactive_file": 10_000_000},
        },
        "networks": {
            "eth0": {"rx_bytes": 1000, "tx_bytes": 2000},
            "eth1": {"rx_bytes": 5, "tx_bytes": 7},
        },
    }
    sample = rrd.sample_from_docker_stats(stats, disk_bytes=4096)
    assert sample == rrd.Sample(123_000_000, 40_000_000, 64 << 20, 1005, 2007, 4096)


def test_host_sample_from_proc_counts_busy_time_and_external_traffic_only():
    proc_stat = "cpu  100 5 50 1000 20 1 2 3 0 0\ncpu0 1 2 3 4\n"
    meminfo = "MemTotal:       2048 kB\nMemFree:         100 kB\nMemAvailable:    512 kB\n"
    net_dev = (
        "Inter-|   Receive\n face |bytes packets\n"
        "    lo: 999 1 0 0 0 0 0 0 999 1 0 0 0 0 0 0\n"
        "  eth0: 300 3 0 0 0 0 0 0 400 4 0 0 0 0 0 0\n"
        "docker0: 77 1 0 0 0 0 0 0 77 1 0 0 0 0 0 0\n"
    )
    sample = rrd.sample_from_proc(proc_stat, meminfo, net_dev, disk_used=10, clock_ticks=100)
    assert sample.cpu_ns == (100 + 5 + 50 + 1 + 2 + 3) * 10_000_000
    assert (sample.mem_bytes, sample.mem_limit) == ((2048 - 512) * 1024, 2048 * 1024)
    assert (sample.net_rx, sample.net_tx, sample.disk_bytes) == (300, 400, 10)


def test_docker_timestamps_keep_nanoseconds():
    assert timestamp_ns("1970-01-01T00:00:01.000000002Z") == 1_000_000_002
    assert timestamp_ns("2026-11-25T23:04:11.5Z") % 1_000_000_000 == 500_000_000
    assert timestamp_ns("garbage") == 0


def test_log_cursor_joins_split_lines_and_drops_what_was_already_seen():
    cursor = LogCursor()
    assert cursor.feed("2026-01-01T00:00:01.000000001Z one\n2026-01-01T00:00:01.0000") == [
        cursor_line("2026-01-01T00:00:01.000000001Z", "one")
    ]
    lines = cursor.feed("00002Z two\n")
    assert [line.text for line in lines] == ["two"]
    resumed = LogCursor(after_ts=cursor.last_ts)
    assert resumed.resume_since == 1767225601
    again = resumed.feed(
        "2026-01-01T00:00:01.000000001Z one\n2026-01-01T00:00:01.000000002Z two\n"
        "2026-01-01T00:00:01.000000003Z three\n"
    )
    assert [line.text for line in again] == ["three"]


def cursor_line(ts, text):
    from panel.monitoring.logstream import LogLine

    return LogLine(ts=ts, ns=timestamp_ns(ts), text=text)


def observation(**changes):
    seen = dict(
        exists=True,
        running=True,
        docker_status="running",
        oom_killed=False,
        oom_events=0,
        deaths=0,
        recent_restarts=0,
        probe_status=200,
    )
    seen.update(changes)
    return health.Observation(**seen)


def test_health_verdicts_name_the_worst_problem():
    judge = health.judge_health
    assert judge(observation(), "/healthz").status == health.HEALTHY
    assert judge(observation(probe_status=502), "/healthz").status == health.UNHEALTHY
    assert judge(observation(probe_status=None), "/healthz").status == health.UNHEALTHY
    assert judge(observation(running=False, docker_status="exited"), "/").status == health.DOWN
    assert judge(observation(exists=False), "/").status == health.DOWN
    assert judge(observation(running=False, oom_events=1), "/").status == health.OOM
    assert judge(observation(oom_killed=True, deaths=5), "/").status == health.OOM
    assert judge(observation(deaths=3, running=False), "/").status == health.RESTARTING
    assert judge(observation(recent_restarts=4), "/").status == health.RESTARTING
    assert judge(observation(deaths=1, running=True), "/").status == health.HEALTHY
