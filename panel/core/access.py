"""Who may see and manage what. Every view that touches an app goes through here."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from panel.core.models import AppInstance


def is_admin(user) -> bool:
    return bool(user.is_authenticated and (user.is_staff or user.is_superuser))


def admin_required(view):
    """Signed in and an admin; others are sent to log in (anonymous) or refused (403)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_admin(request.user):
            raise PermissionDenied("Only Hearth admins can manage apps.")
        return view(request, *args, **kwargs)

    return wrapper


def get_app_for_user(request, app_id) -> AppInstance:
    """The app, or 404 when it does not exist, or 403 when this user may not manage it."""
    try:
        app = get_object_or_404(AppInstance.objects.select_related("domain"), pk=app_id)
    except (ValueError, TypeError):
        raise Http404("No such app") from None
    if not is_admin(request.user):
        raise PermissionDenied("You may not manage this app.")
    return app
