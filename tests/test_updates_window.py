"""The update window: which instants it is open at (pure logic, fixed instants)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apps_store.update_window import UpdateWindow, WindowError, make_window

MONDAY, TUESDAY, SATURDAY, SUNDAY = 0, 1, 5, 6


def at(text: str) -> datetime:
    """An instant in UTC; 2026-11-23 is a Monday."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_same_day_window_opens_at_its_start_hour_and_closes_at_its_end_hour():
    window = UpdateWindow(frozenset({MONDAY}), 2, 5)
    assert not window.is_open(at("2026-11-23 01:59:59"))
    assert window.is_open(at("2026-11-23 02:00:00"))
    assert window.is_open(at("2026-11-23 04:59:59"))
    assert not window.is_open(at("2026-11-23 05:00:00"))
    # The same hours on a day that is not chosen.
    assert not window.is_open(at("2026-11-24 03:00:00"))


def test_a_window_across_midnight_belongs_to_the_day_it_opens_on():
    window = UpdateWindow(frozenset({SATURDAY}), 22, 3)
    assert window.is_open(at("2026-11-28 22:00:00"))  # Saturday evening
    assert window.is_open(at("2026-11-29 02:59:00"))  # Sunday night, still Saturday's window
    assert not window.is_open(at("2026-11-29 03:00:00"))
    assert not window.is_open(at("2026-11-29 22:30:00"))  # Sunday evening: not chosen
    assert not window.is_open(at("2026-11-28 02:00:00"))  # Saturday night is Friday's window
    assert not window.is_open(at("2026-11-28 12:00:00"))


def test_a_sunday_night_window_runs_into_monday_morning():
    window = UpdateWindow(frozenset({SUNDAY}), 23, 1)
    assert window.is_open(at("2026-11-29 23:30:00"))
    assert window.is_open(at("2026-11-30 00:30:00"))  # Monday 00:30
    assert not window.is_open(at("2026-11-30 01:00:00"))
    assert not window.is_open(at("2026-11-24 00:30:00"))  # Tuesday 00:30 follows a Monday


def test_equal_start_and_end_hours_mean_the_whole_day():
    window = UpdateWindow(frozenset({TUESDAY}), 4, 4)
    assert window.is_open(at("2026-11-24 00:00:00"))
    assert window.is_open(at("2026-11-24 23:59:59"))
    assert not window.is_open(at("2026-11-25 00:00:00"))


def test_no_day_chosen_means_never():
    window = UpdateWindow(frozenset(), 0, 0)
    assert not any(window.is_open(at(f"2026-11-{day} 12:00:00")) for day in range(23, 30))
    assert window.describe() == "never (no day is chosen)"


def test_hours_are_read_in_the_windows_time_zone():
    # 02:00-05:00 in India (UTC+05:30, no daylight saving) is 20:30-23:30 UTC the day before.
    window = UpdateWindow(frozenset({TUESDAY}), 2, 5, "Asia/Kolkata")
    assert not window.is_open(at("2026-11-23 20:29:00"))
    assert window.is_open(at("2026-11-23 20:30:00"))  # Monday UTC, Tuesday in Kolkata
    assert window.is_open(at("2026-11-23 23:29:00"))
    assert not window.is_open(at("2026-11-23 23:30:00"))


def test_a_daylight_saving_change_moves_the_window_with_the_local_clock():
    window = UpdateWindow(frozenset(range(7)), 3, 4, "Europe/Berlin")
    # Summer (UTC+2): 03:00 in Berlin is 01:00 UTC; winter (UTC+1): it is 02:00 UTC.
    assert window.is_open(at("2026-07-01 01:30:00"))
    assert not window.is_open(at("2026-07-01 02:30:00"))
    assert window.is_open(at("2026-12-01 02:30:00"))
    assert not window.is_open(at("2026-12-01 01:30:00"))
    # 2026-10-25 03:00 CEST becomes 02:00 CET: 02:00 UTC is 03:00 CET, inside.
    assert window.is_open(at("2026-10-25 02:00:00"))


def test_utc_windows_need_no_daylight_saving_arithmetic():
    window = UpdateWindow(frozenset(range(7)), 1, 2, "UTC")
    # The nights Europe and the US change their clocks: nothing moves in UTC.
    for night in ("2026-03-08", "2026-03-29", "2026-10-25", "2026-11-01"):
        assert window.is_open(at(f"{night} 01:00:00"))
        assert not window.is_open(at(f"{night} 02:00:00"))


def test_a_naive_instant_is_refused():
    with pytest.raises(ValueError, match="aware"):
        UpdateWindow(frozenset({MONDAY}), 2, 5).is_open(datetime(2026, 11, 23, 3))


def test_make_window_names_every_bad_field_and_the_fix():
    with pytest.raises(WindowError) as caught:
        make_window([0, 9], 24, -1, "Mars/Olympus")
    errors = caught.value.errors
    assert errors["days"] == "9 is not a day of the week; use 0 (Monday) to 6 (Sunday)."
    assert errors["start_hour"] == "24 is not an hour; use a whole hour from 0 to 23."
    assert errors["end_hour"] == "-1 is not an hour; use a whole hour from 0 to 23."
    assert "'Mars/Olympus' is not a known time zone" in errors["timezone"]


def test_make_window_builds_a_valid_window():
    window = make_window([SUNDAY, MONDAY], 22, 3, "Europe/Paris")
    assert window == UpdateWindow(frozenset({SUNDAY, MONDAY}), 22, 3, "Europe/Paris")
    assert window.describe() == "22:00–03:00 starting on Monday, Sunday (Europe/Paris)"
