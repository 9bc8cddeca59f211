from __future__ import annotations

from panel.core.models import AppInstance, Event


def record_event(
    action: str,
    *,
    app: AppInstance | None = None,
    actor=None,
    outcome: str = Event.Outcome.OK,
    message: str = "",
    app_label: str = "",
) -> Event:
    """Add an entry to the event log; the app's label is copied so it outlives the app."""
    return Event.objects.create(
        action=action,
        app=app,
        app_label=app_label or (str(app) if app is not None else ""),
        actor=actor if actor is not None and actor.is_authenticated else None,
        outcome=outcome,
        message=message[:5000],
    )
