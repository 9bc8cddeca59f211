"""When scheduled backups and checks are due, and what a retention policy may say (no DB)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from panel.backups.schedule import RetentionPolicy, cron_problem, due_slot, retention_problems


def at(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


DAILY_AT_3 = "0 3 * * *"


def test_a_daily_schedule_is_due_at_its_minute_and_names_that_minute():
    assert due_slot(DAILY_AT_3, at(26, 3, 0, 12), last_slot=at(25, 3, 0)) == at(26, 3, 0)


def test_nothing_is_due_before_the_minute_comes():
    assert due_slot(DAILY_AT_3, at(26, 2, 59, 59), last_slot=at(25, 3, 0)) is None


def test_a_second_tick_in_the_same_minute_finds_nothing_due():
    slot = due_slot(DAILY_AT_3, at(26, 3, 0, 1), last_slot=at(25, 3, 0))
    assert slot is not None
    assert due_slot(DAILY_AT_3, at(26, 3, 0, 59), last_slot=slot) is None
    assert due_slot(DAILY_AT_3, at(26, 3, 1, 0), last_slot=slot) is None


def test_a_missed_run_is_caught_up_once_and_only_the_latest_of_several():
    # The server was off from the 22nd to the 26th at 10:00: four 03:00 runs were missed.
    slot = due_slot(DAILY_AT_3, at(26, 10, 0), last_slot=at(21, 3, 0))
    assert slot == at(26, 3, 0)
    assert due_slot(DAILY_AT_3, at(26, 10, 1), last_slot=slot) is None
    assert due_slot(DAILY_AT_3, at(27, 3, 0), last_slot=slot) == at(27, 3, 0)


def test_a_target_made_after_todays_run_time_waits_for_tomorrow():
    created = at(26, 14, 30, 45)
    assert due_slot(DAILY_AT_3, at(26, 14, 31), last_slot=created) is None
    assert due_slot(DAILY_AT_3, at(27, 3, 0), last_slot=created) == at(27, 3, 0)


def test_a_weekly_check_is_due_on_its_weekday_only():
    sunday_at_5 = "0 5 * * 0"
    # 2026-11-29 is a Sunday.
    assert due_slot(sunday_at_5, at(28, 5, 0), last_slot=at(22, 5, 0)) is None
    assert due_slot(sunday_at_5, at(29, 5, 0), last_slot=at(22, 5, 0)) == at(29, 5, 0)


@pytest.mark.parametrize("expression", ["0 3 * * *", "*/15 * * * *", "30 2 * * 1-5"])
def test_cron_schedules_are_accepted(expression):
    assert cron_problem(expression) == ""


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("", "Give a cron schedule"),
        ("daily", "five fields"),
        ("0 3 * *", "five fields"),
        ("61 3 * * *", "not a valid cron schedule"),
        ("0 25 * * *", "not a valid cron schedule"),
    ],
)
def test_bad_cron_schedules_say_what_is_expected(expression, words):
    assert words in cron_problem(expression)


def test_a_retention_policy_of_counts_or_a_duration_is_accepted():
    assert retention_problems(7, 4, 6, "") == {}
    assert retention_problems(0, 0, 0, "30d") == {}
    assert retention_problems(0, 0, 0, "1y6m") == {}


def test_a_retention_policy_that_keeps_nothing_is_refused():
    assert "Keep something" in retention_problems(0, 0, 0, "")["keep_daily"]


def test_a_bad_duration_and_negative_counts_name_their_fields():
    errors = retention_problems(-1, 4, 6, "30 days")
    assert set(errors) == {"keep_daily", "keep_within"}
    assert "30d" in errors["keep_within"]


def test_a_policy_describes_itself_for_the_targets_page():
    assert RetentionPolicy(7, 4, 0, "30d").describe() == (
        "keep 7 daily, 4 weekly, everything within 30d"
    )
