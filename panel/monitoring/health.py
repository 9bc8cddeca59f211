"""How a health sweep judges one app from what Docker and its health check say. No Django."""

from __future__ import annotations

from dataclasses import dataclass

HEALTHY = "healthy"
UNHEALTHY = "unhealthy"
DOWN = "down"
OOM = "oom"
RESTARTING = "restarting"
BAD = (UNHEALTHY, DOWN, OOM, RESTARTING)

# Three deaths within the look-back window is a loop, not a one-off crash.
RESTART_LOOP_DEATHS = 3


@dataclass(frozen=True)
class Observation:
    exists: bool
    running: bool
    docker_status: str
    oom_killed: bool  # Docker's flag on the container state (cleared again when it restarts)
    oom_events: int  # `oom` events in the look-back window (kept across restarts)
    deaths: int  # `die` events in the look-back window
    recent_restarts: int  # Docker's restart counter over the last 10 to 20 minutes
    probe_status: int | None  # HTTP status of the health check, None when nothing answered


@dataclass(frozen=True)
class Verdict:
    status: str
    detail: str


def judge_health(seen: Observation, path: str) -> Verdict:
    """The worst thing that is true, in this order: missing, OOM, restart loop, down, failing."""
    if not seen.exists:
        return Verdict(DOWN, "the app's container is missing")
    if seen.oom_killed or seen.oom_events:
        return Verdict(OOM, "the app ran out of memory and was killed; raise its memory limit")
    deaths = max(seen.deaths, seen.recent_restarts)
    if deaths >= RESTART_LOOP_DEATHS:
        return Verdict(RESTARTING, f"the app crashed {deaths} times in a row and keeps restarting")
    if not seen.running:
        return Verdict(DOWN, f"the app's container is {seen.docker_status}")
    if seen.probe_status is None:
        return Verdict(UNHEALTHY, f"{path} does not answer")
    if not 200 <= seen.probe_status < 300:
        return Verdict(UNHEALTHY, f"{path} answered {seen.probe_status}")
    return Verdict(HEALTHY, f"{path} answered {seen.probe_status}")


ALERT_TITLES = {
    DOWN: "{title} is down",
    OOM: "{title} ran out of memory",
    RESTARTING: "{title} keeps restarting",
    UNHEALTHY: "{title} does not answer its health check",
}
