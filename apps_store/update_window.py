"""When automatic updates may run: days of the week and an hour range in a time zone.

No Django here: the window logic is tested in milliseconds against fixed instants.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class WindowError(ValueError):
    """The window's settings make no sense; `errors` maps each field to what to fix."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class UpdateWindow:
    """Updates may start on `days` (0 = Monday) from `start_hour` until `end_hour` (local
    time in `timezone`). An end at or before the start runs across midnight, and the hours
    after midnight belong to the day the window opened on; start == end is the whole day."""

    days: frozenset[int]
    start_hour: int
    end_hour: int
    timezone: str = "UTC"

    def is_open(self, moment: datetime) -> bool:
        if moment.tzinfo is None:
            raise ValueError("the moment must carry a time zone (an aware datetime)")
        local = moment.astimezone(ZoneInfo(self.timezone))
        day, hour = local.weekday(), local.hour
        if self.start_hour == self.end_hour:
            return day in self.days
        if self.start_hour < self.end_hour:
            return day in self.days and self.start_hour <= hour < self.end_hour
        if hour >= self.start_hour:
            return day in self.days
        # Past midnight: open if the window opened yesterday.
        return hour < self.end_hour and (day - 1) % 7 in self.days

    def describe(self) -> str:
        if not self.days:
            return "never (no day is chosen)"
        days = ", ".join(DAY_NAMES[d] for d in sorted(self.days))
        if self.start_hour == self.end_hour:
            return f"all day on {days} ({self.timezone})"
        return (
            f"{self.start_hour:02d}:00–{self.end_hour:02d}:00 starting on {days} ({self.timezone})"
        )


def make_window(days: Iterable[int], start_hour: int, end_hour: int, timezone: str) -> UpdateWindow:
    """Check every field and build the window, or raise WindowError naming each bad field."""
    errors: dict[str, str] = {}
    chosen = set()
    for day in days:
        if not isinstance(day, int) or not 0 <= day <= 6:
            errors["days"] = f"{day!r} is not a day of the week; use 0 (Monday) to 6 (Sunday)."
            break
        chosen.add(day)
    for field, hour in (("start_hour", start_hour), ("end_hour", end_hour)):
        if not isinstance(hour, int) or isinstance(hour, bool) or not 0 <= hour <= 23:
            errors[field] = f"{hour!r} is not an hour; use a whole hour from 0 to 23."
    if timezone not in available_timezones():
        errors["timezone"] = (
            f"{timezone!r} is not a known time zone; use a name such as UTC or Europe/Paris."
        )
    else:
        try:
            ZoneInfo(timezone)
        except ZoneInfoNotFoundError:
            errors["timezone"] = f"{timezone!r} cannot be loaded on this server."
    if errors:
        raise WindowError(errors)
    return UpdateWindow(frozenset(chosen), start_hour, end_hour, timezone)
