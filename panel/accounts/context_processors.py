from __future__ import annotations

from panel.accounts.roles import Permission
from panel.accounts.services import user_has


def permissions(request) -> dict:
    """What the signed-in person may do, for menus (the views check again on every request)."""
    user = getattr(request, "user", None)
    return {
        "can_manage_platform": user_has(user, Permission.MANAGE_PLATFORM),
        "can_manage_users": user_has(user, Permission.MANAGE_USERS),
    }
