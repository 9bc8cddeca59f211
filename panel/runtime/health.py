"""Poll an app's health check path until it answers 2xx."""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable


def probe(address: str, port: int, path: str, timeout: float = 3.0) -> int | None:
    """One GET; the HTTP status, or None when nothing answered."""
    connection = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"User-Agent": "hearth-health"})
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def wait_until_healthy(
    address: str,
    port: int,
    path: str,
    timeout: float,
    interval: float = 0.025,
    is_alive: Callable[[], bool] | None = None,
) -> tuple[bool, str]:
    """Poll until 2xx or `timeout` seconds; `is_alive` lets a dead container end the wait early.

    A short interval: an app is usually up within a few hundred milliseconds of its start,
    and each probe is one local connection.
    """
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        status = probe(address, port, path)
        if status is not None and 200 <= status < 300:
            return True, f"{path} answered {status}"
        if status is not None:
            last = f"{path} answered {status}"
        if is_alive is not None and not is_alive():
            return False, f"the container exited before {path} answered ({last})"
        time.sleep(interval)
    return False, f"{path} did not answer 2xx within {timeout:.0f}s ({last})"
