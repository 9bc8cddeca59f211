"""Who may see and manage what: the one place views, the API and websockets ask.

Roles and their permissions are decided in panel.accounts.roles; these decorators and
lookups apply them, so a view cannot forget its check (tests/test_url_permissions.py walks
every URL as every role).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from panel.accounts.roles import Permission
from panel.accounts.services import may_manage_app, user_has
from panel.core.models import AppInstance


def is_admin(user) -> bool:
    return user_has(user, Permission.MANAGE_PLATFORM)


def permission_required(permission: Permission | None) -> Callable:
    """Signed in (anonymous visitors are sent to log in) and, if given, holding `permission`."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if permission is not None and not user_has(request.user, permission):
                raise PermissionDenied("Your role does not allow this.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


admin_required = permission_required(Permission.MANAGE_PLATFORM)
user_manager_required = permission_required(Permission.MANAGE_USERS)
# For views whose object lookup does the check (get_app_for_user) or that every signed-in
# person may see (their own profile, the app launcher).
signed_in_required = permission_required(None)


def get_app_for_user(request, app_id) -> AppInstance:
    """The app, or 404 when it does not exist, or 403 when this user may not manage it."""
    try:
        app = get_object_or_404(AppInstance.objects.select_related("domain"), pk=app_id)
    except (ValueError, TypeError):
        raise Http404("No such app") from None
    if not may_manage_app(request.user, app):
        raise PermissionDenied("You may not manage this app.")
    return app


def may_watch_app(user, app_id) -> bool:
    """For websockets: may this user receive pushes about the app?"""
    app = AppInstance.objects.filter(pk=app_id).first()
    return app is not None and may_manage_app(user, app)
