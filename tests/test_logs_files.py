"""The files of a manifest's logPaths: streamed beside stdout/stderr with an exact resume by
byte offset, and rotated before they fill the app's disk."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import quote

import pytest
from asgiref.sync import sync_to_async

from panel.monitoring.services import rotate_app_log_files
from tests.test_logs import socket_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WRITER = "i=0; while true; do i=$((i+1)); echo f$i >> /tmp/app.log; sleep 0.05; done"


async def file_lines(ws, until, timeout: float = 15.0) -> tuple[list[str], int]:
    texts: list[str] = []
    offset = -1
    deadline = time.monotonic() + timeout
    while not until(texts):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"gave up after {texts[-3:]}"
        message = await ws.receive_json_from(timeout=remaining)
        if message.get("file") == "/tmp/app.log":
            texts += [line["text"] for line in message["lines"]]
            offset = message["offset"]
    return texts, offset


async def test_log_files_stream_and_resume_from_their_offset_without_loss_or_repeats(
    app_with_container, owner
):
    app, _ = await sync_to_async(app_with_container)(
        WRITER, subdomain="filelog", manifest={"logPaths": ["/tmp/app.log"]}
    )
    first = socket_for(f"/ws/apps/{app.id}/logs/", owner)
    assert (await first.connect())[0]
    seen, offset = await file_lines(first, lambda texts: len(texts) >= 20)
    await first.disconnect()

    await asyncio.sleep(1.5)  # the app keeps writing while nobody listens
    offsets = quote(json.dumps({"/tmp/app.log": offset}))
    second = socket_for(f"/ws/apps/{app.id}/logs/?offsets={offsets}", owner)
    assert (await second.connect())[0]
    more, _ = await file_lines(second, lambda texts: len(texts) >= 40)
    await second.disconnect()

    numbers = [int(text[1:]) for text in seen + more]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), numbers


def test_big_log_files_in_the_container_are_rotated(app_with_container):
    fill = (
        "head -c 3000000 /dev/zero | tr '\\0' x > /tmp/big.log; echo small > /tmp/ok.log; sleep 600"
    )
    app, container = app_with_container(
        fill, subdomain="bigfile", manifest={"logPaths": ["/tmp/big.log", "/tmp/ok.log"]}
    )
    deadline = time.monotonic() + 20
    while container.exec_run(["test", "-s", "/tmp/ok.log"]).exit_code != 0:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert rotate_app_log_files(max_bytes=1_000_000) == {app.id.hex: "/tmp/big.log"}
    sizes = container.exec_run(["stat", "-c", "%n %s", "/tmp/big.log", "/tmp/big.log.1"])
    assert sizes.output.decode().split() == ["/tmp/big.log", "0", "/tmp/big.log.1", "3000000"]
    assert container.exec_run(["cat", "/tmp/ok.log"]).output == b"small\n"
