from __future__ import annotations

import pytest

from panel.core.states import (
    ACTION_STATES,
    BUSY_STATES,
    CLAIMED,
    TRANSITIONS,
    AppState,
    IllegalTransition,
    allowed_actions,
    can_transition,
    check_transition,
)


def test_every_state_has_a_transition_entry():
    assert set(TRANSITIONS) == set(AppState)


def test_a_running_app_can_be_stopped_restarted_or_uninstalled_but_not_started():
    assert allowed_actions(AppState.RUNNING) == ["stop", "restart", "uninstall"]


def test_a_stopped_app_can_be_started_restarted_or_uninstalled():
    assert allowed_actions(AppState.STOPPED) == ["start", "restart", "uninstall"]


def test_an_app_in_error_offers_retry_start_restart_and_uninstall():
    assert allowed_actions(AppState.ERROR) == ["start", "restart", "uninstall", "retry"]


@pytest.mark.parametrize("state", sorted(BUSY_STATES))
def test_busy_apps_offer_no_actions(state):
    assert allowed_actions(state) == []


def test_every_queued_state_is_claimed_into_a_working_state_that_can_fail():
    for queued, working in CLAIMED.items():
        assert can_transition(queued, working)
        assert can_transition(working, AppState.ERROR)


def test_every_working_state_can_fail_so_no_app_is_ever_stuck():
    for state in AppState:
        if state is not AppState.ERROR:
            assert can_transition(state, AppState.ERROR) or state in (
                AppState.RUNNING,
                AppState.STOPPED,
            ), state


def test_illegal_transition_names_both_states():
    with pytest.raises(IllegalTransition, match="cannot go from stopped to stopping"):
        check_transition(AppState.STOPPED, AppState.STOPPING)


def test_installing_cannot_jump_to_stopped():
    assert not can_transition(AppState.INSTALLING, AppState.STOPPED)


def test_each_user_action_asks_for_a_queued_state():
    assert set(ACTION_STATES.values()) == set(CLAIMED)
