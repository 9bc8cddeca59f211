"""Which scheduler jobs are due in a given minute. No Django: cron matching only (croniter)."""

from __future__ import annotations

from datetime import datetime

from croniter import croniter


def minute_key(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def due_jobs(jobs: dict[str, dict], moment: datetime, already_run: dict[str, str]) -> list[str]:
    """Names of the jobs whose schedule matches `moment`'s minute and that have not run in it.

    `already_run` maps job name to the minute it last ran, so a second beat tick in the same
    minute (beat restarted, two ticks close together) does not run a job twice.
    """
    key = minute_key(moment)
    return [
        name
        for name, job in sorted(jobs.items())
        if already_run.get(name) != key and croniter.match(job["schedule"], moment)
    ]
