"""The installed app's life cycle: every state and every legal move between them.

This is the one place transitions are decided; the model and the tasks ask it. No Django
here, so the table is unit-testable on its own.
"""

from __future__ import annotations

from enum import StrEnum


class AppState(StrEnum):
    PENDING_INSTALL = "pending_install"
    INSTALLING = "installing"
    RUNNING = "running"
    PENDING_STOP = "pending_stop"
    STOPPING = "stopping"
    STOPPED = "stopped"
    PENDING_START = "pending_start"
    STARTING = "starting"
    PENDING_RESTART = "pending_restart"
    RESTARTING = "restarting"
    PENDING_UNINSTALL = "pending_uninstall"
    UNINSTALLING = "uninstalling"
    PENDING_UPDATE = "pending_update"
    UPDATING = "updating"
    ERROR = "error"


S = AppState

# The queued ("pending_*") states exist so the dashboard can show that work was accepted
# before a worker picks it up; a worker moves pending_X to X when it claims the task.
TRANSITIONS: dict[AppState, frozenset[AppState]] = {
    S.PENDING_INSTALL: frozenset({S.INSTALLING, S.ERROR}),
    S.INSTALLING: frozenset({S.RUNNING, S.ERROR}),
    S.RUNNING: frozenset(
        {S.PENDING_STOP, S.PENDING_RESTART, S.PENDING_UNINSTALL, S.PENDING_UPDATE, S.ERROR}
    ),
    S.PENDING_STOP: frozenset({S.STOPPING, S.ERROR}),
    S.STOPPING: frozenset({S.STOPPED, S.ERROR}),
    S.STOPPED: frozenset(
        {S.PENDING_START, S.PENDING_RESTART, S.PENDING_UNINSTALL, S.PENDING_UPDATE, S.ERROR}
    ),
    S.PENDING_START: frozenset({S.STARTING, S.ERROR}),
    S.STARTING: frozenset({S.RUNNING, S.ERROR}),
    S.PENDING_RESTART: frozenset({S.RESTARTING, S.ERROR}),
    S.RESTARTING: frozenset({S.RUNNING, S.ERROR}),
    S.PENDING_UNINSTALL: frozenset({S.UNINSTALLING, S.ERROR}),
    S.PENDING_UPDATE: frozenset({S.UPDATING, S.ERROR}),
    # A failed update that was rolled back ends RUNNING on the old version.
    S.UPDATING: frozenset({S.RUNNING, S.ERROR}),
    # Uninstall ends with the row deleted; ERROR lets a failed uninstall be retried.
    S.UNINSTALLING: frozenset({S.ERROR}),
    # From error the owner can retry the install (which repairs whatever is missing),
    # start, restart or uninstall.
    S.ERROR: frozenset(
        {S.PENDING_INSTALL, S.PENDING_START, S.PENDING_RESTART, S.PENDING_UNINSTALL}
    ),
}

# Cancelling a queued task puts the app back where it was: the states each queued one was
# entered from (install from error is a retry; a fresh install's row is deleted instead).
CANCEL_RETURNS: dict[AppState, frozenset[AppState]] = {
    S.PENDING_INSTALL: frozenset({S.ERROR}),
    S.PENDING_STOP: frozenset({S.RUNNING}),
    S.PENDING_START: frozenset({S.STOPPED, S.ERROR}),
    S.PENDING_RESTART: frozenset({S.RUNNING, S.STOPPED, S.ERROR}),
    S.PENDING_UNINSTALL: frozenset({S.RUNNING, S.STOPPED, S.ERROR}),
    S.PENDING_UPDATE: frozenset({S.RUNNING, S.STOPPED}),
}
for _queued, _previous in CANCEL_RETURNS.items():
    TRANSITIONS[_queued] = TRANSITIONS[_queued] | _previous


def cancel_return_state(current: AppState | str, previous: AppState | str | None) -> AppState:
    """Where a cancelled queued action leaves the app: the state it was in before, when
    that is a legal way back, else error (from which the owner can act again)."""
    allowed = CANCEL_RETURNS.get(AppState(current), frozenset())
    if previous and AppState(previous) in allowed:
        return AppState(previous)
    return S.ERROR


# What a queued state becomes when a worker claims it.
CLAIMED: dict[AppState, AppState] = {
    S.PENDING_INSTALL: S.INSTALLING,
    S.PENDING_STOP: S.STOPPING,
    S.PENDING_START: S.STARTING,
    S.PENDING_RESTART: S.RESTARTING,
    S.PENDING_UNINSTALL: S.UNINSTALLING,
    S.PENDING_UPDATE: S.UPDATING,
}

BUSY_STATES = frozenset(CLAIMED) | frozenset(CLAIMED.values())

# Which queued state each user action asks for.
ACTION_STATES: dict[str, AppState] = {
    "install": S.PENDING_INSTALL,
    "start": S.PENDING_START,
    "stop": S.PENDING_STOP,
    "restart": S.PENDING_RESTART,
    "uninstall": S.PENDING_UNINSTALL,
    "update": S.PENDING_UPDATE,
}


class IllegalTransition(Exception):
    def __init__(self, current: AppState | str, target: AppState | str) -> None:
        self.current = AppState(current)
        self.target = AppState(target)
        super().__init__(f"cannot go from {self.current.value} to {self.target.value}")


def can_transition(current: AppState | str, target: AppState | str) -> bool:
    return AppState(target) in TRANSITIONS[AppState(current)]


def check_transition(current: AppState | str, target: AppState | str) -> None:
    if not can_transition(current, target):
        raise IllegalTransition(current, target)


def allowed_actions(current: AppState | str) -> list[str]:
    """The user actions the dashboard should offer for an app in this state (update is
    offered on its own, only when the store has a newer release)."""
    state = AppState(current)
    return [
        action
        for action, target in ACTION_STATES.items()
        if action not in ("install", "update") and target in TRANSITIONS[state]
    ] + (["retry"] if state is S.ERROR else [])
