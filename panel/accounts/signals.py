"""Sign-ins, successful or not, go into the event log with the client's address."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from panel.core.events import record_event
from panel.core.models import Event


def _client_address(request) -> str:
    if request is None:
        return "unknown address"
    # nginx in front sets X-Real-IP; the panel itself only listens on loopback.
    return request.META.get("HTTP_X_REAL_IP") or request.META.get("REMOTE_ADDR", "unknown address")


@receiver(user_logged_in)
def record_login(sender, request, user, **kwargs) -> None:
    record_event("login", actor=user, message=f"from {_client_address(request)}")


@receiver(user_login_failed)
def record_failed_login(sender, credentials, request=None, **kwargs) -> None:
    login = credentials.get("username") or credentials.get("email") or credentials.get("login")
    record_event(
        "login_failed",
        outcome=Event.Outcome.FAILED,
        message=f"{login or 'unknown user'} from {_client_address(request)}",
    )
