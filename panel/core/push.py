"""Fire-and-forget pushes to Channels groups from sync code (tasks, services).

A push must never slow the work it reports on: messages go through a queue to one background
thread that owns an event loop (and so one Redis connection pool). The database row stays
the truth; a lost push only means a page learns of the change at its next poll.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading

from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

_queue: queue.SimpleQueue[tuple[list[str], dict]] = queue.SimpleQueue()
_started_in_pid: int | None = None
_lock = threading.Lock()


def push_to_groups(groups: list[str], message: dict) -> None:
    _ensure_thread()
    _queue.put((groups, message))


def _ensure_thread() -> None:
    global _started_in_pid
    # Celery forks its pool after import: each process needs its own thread.
    if _started_in_pid == os.getpid():
        return
    with _lock:
        if _started_in_pid != os.getpid():
            threading.Thread(target=_run, name="channels-push", daemon=True).start()
            _started_in_pid = os.getpid()


def _run() -> None:
    loop = asyncio.new_event_loop()
    layer = get_channel_layer()
    while True:
        groups, message = _queue.get()
        if layer is None:
            continue
        try:
            loop.run_until_complete(_send(layer, groups, message))
        except Exception:  # noqa: BLE001 - keep the thread alive for the next push
            log.warning("push to %s failed", groups, exc_info=True)


async def _send(layer, groups: list[str], message: dict) -> None:
    for group in groups:
        await layer.group_send(group, message)
