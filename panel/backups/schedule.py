"""When scheduled backups and integrity checks are due, and what a retention policy keeps.

No Django here: cron matching (croniter) and plain checks, unit-tested in milliseconds. The
beat task in panel.backups.scheduled applies them to the targets every minute.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter

DEFAULT_BACKUP_SCHEDULE = "0 3 * * *"  # every day at 03:00
DEFAULT_CHECK_SCHEDULE = "0 5 * * 0"  # every Sunday at 05:00, after that night's backups
# restic's --keep-within: a duration of years, months, days and hours, e.g. 30d or 1y6m.
KEEP_WITHIN_PATTERN = re.compile(r"^(?:\d+[ymdh])+$")


def cron_problem(expression: str) -> str:
    """Empty when `expression` is a five-field cron schedule, else what is wrong with it."""
    expression = (expression or "").strip()
    if not expression:
        return "Give a cron schedule, e.g. 0 3 * * * for every day at 03:00."
    if len(expression.split()) != 5:
        return (
            f"{expression!r} is not a cron schedule: use five fields (minute hour day month "
            "weekday), e.g. 0 3 * * * for every day at 03:00."
        )
    if not croniter.is_valid(expression):
        return (
            f"{expression!r} is not a valid cron schedule; e.g. 0 3 * * * is every day at "
            "03:00, 0 5 * * 0 every Sunday at 05:00."
        )
    return ""


def due_slot(schedule: str, now: datetime, last_slot: datetime) -> datetime | None:
    """The scheduled minute to run now, or None when nothing is due.

    That is the latest minute the schedule names at or before `now` (seconds ignored), if it
    comes after `last_slot`, the minute of the previous run (or, never run, when the target
    was made). The caller stores the slot it ran, so a second tick in the same minute finds
    nothing due, and after missed runs (the server was off at 03:00) only the latest one is
    caught up, once.
    """
    minute = now.replace(second=0, microsecond=0)
    # croniter's get_prev is strictly before its start: start a minute later to include now.
    latest = croniter(schedule, minute + timedelta(minutes=1)).get_prev(datetime)
    if latest <= last_slot.replace(second=0, microsecond=0):
        return None
    return latest


@dataclass(frozen=True)
class RetentionPolicy:
    """What `restic forget` keeps of each app's snapshots on a target; 0 / "" = rule off."""

    keep_daily: int = 0
    keep_weekly: int = 0
    keep_monthly: int = 0
    keep_within: str = ""

    @property
    def empty(self) -> bool:
        return not (self.keep_daily or self.keep_weekly or self.keep_monthly or self.keep_within)

    def describe(self) -> str:
        parts = [
            f"{count} {unit}"
            for count, unit in (
                (self.keep_daily, "daily"),
                (self.keep_weekly, "weekly"),
                (self.keep_monthly, "monthly"),
            )
            if count
        ]
        if self.keep_within:
            parts.append(f"everything within {self.keep_within}")
        return "keep " + ", ".join(parts) if parts else "keep everything"


def retention_problems(
    keep_daily: object, keep_weekly: object, keep_monthly: object, keep_within: str
) -> dict[str, str]:
    """Field errors of a retention policy; empty when it is one restic can apply."""
    errors = {}
    for field, value in (
        ("keep_daily", keep_daily),
        ("keep_weekly", keep_weekly),
        ("keep_monthly", keep_monthly),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10000:
            errors[field] = "Give a whole number of backups to keep, from 0 (rule off) to 10000."
    within = (keep_within or "").strip()
    if within and not KEEP_WITHIN_PATTERN.match(within):
        errors["keep_within"] = (
            f"{within!r} is not a duration: use a number and y, m, d or h, e.g. 30d (30 days) "
            "or 1y6m; leave empty to turn the rule off."
        )
    if not errors and not (keep_daily or keep_weekly or keep_monthly or within):
        errors["keep_daily"] = (
            "Keep something: set at least one of daily, weekly, monthly or keep-within."
        )
    return errors
