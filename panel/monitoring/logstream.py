"""Docker log lines with their timestamps, and the cursor that makes a resumed stream exact.

Framework-free: the websocket consumer feeds it chunks from Docker and sends what comes out.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class LogLine:
    ts: str  # Docker's own RFC 3339 timestamp, with nanoseconds: the resume token
    ns: int
    text: str


def timestamp_ns(ts: str) -> int:
    """`2026-11-25T23:04:11.123456789Z` as integer nanoseconds since the epoch (0 if unparsable).

    Integers, not floats: a float cannot hold nanoseconds at today's epoch, and two lines
    written in the same microsecond must still compare as different.
    """
    try:
        whole, _, fraction = ts.rstrip("Z").partition(".")
        seconds = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
        return seconds * 1_000_000_000 + int((fraction or "0")[:9].ljust(9, "0"))
    except ValueError:
        return 0


def parse_log_line(line: str) -> LogLine:
    ts, _, text = line.partition(" ")
    return LogLine(ts=ts, ns=timestamp_ns(ts), text=text)


class LogCursor:
    """Splits Docker's chunks into lines and drops every line at or before the last one seen.

    A stream opened again `since` the second of the last line seen repeats that second's
    earlier lines; the cursor is what removes them.
    """

    def __init__(self, after_ts: str = "") -> None:
        self.last_ts = after_ts
        self.last_ns = timestamp_ns(after_ts) if after_ts else 0
        self._partial = ""

    @property
    def resume_since(self) -> int | None:
        """Whole seconds for Docker's `since` (inclusive, so nothing after the cursor is lost)."""
        return self.last_ns // 1_000_000_000 if self.last_ns else None

    def feed(self, chunk: str) -> list[LogLine]:
        lines = (self._partial + chunk).split("\n")
        self._partial = lines.pop()
        fresh = []
        for raw in lines:
            if not raw:
                continue
            line = parse_log_line(raw.rstrip("\r"))
            if line.ns and line.ns <= self.last_ns:
                continue
            if line.ns:
                self.last_ns, self.last_ts = line.ns, line.ts
            fresh.append(line)
        return fresh

    def reset_partial(self) -> None:
        # A stream that ended mid-line will not send the rest; the next one starts clean.
        self._partial = ""
