"""Who may do what: the roles, and the permissions each role holds. No Django here.

Every view and API endpoint asks `has_permission(role, PERMISSION)` through
panel.core.access; the matrix below is the only place it is decided.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    USER_MANAGER = "user_manager"
    USER = "user"


class Permission(StrEnum):
    # The admin dashboard: apps, App Store, addons, domains, system, event log.
    MANAGE_PLATFORM = "manage_platform"
    # Accounts, groups, invitations.
    MANAGE_USERS = "manage_users"
    # Make someone an owner or admin, or change an owner.
    MANAGE_ADMINS = "manage_admins"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.ADMIN: frozenset({Permission.MANAGE_PLATFORM, Permission.MANAGE_USERS}),
    Role.USER_MANAGER: frozenset({Permission.MANAGE_USERS}),
    Role.USER: frozenset(),
}

ROLE_LABELS: dict[Role, str] = {
    Role.OWNER: "Owner",
    Role.ADMIN: "Admin",
    Role.USER_MANAGER: "User manager",
    Role.USER: "User",
}


def has_permission(role: Role | str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[Role(role)]


def assignable_roles(by: Role | str) -> list[Role]:
    """Roles a user of role `by` may give: nobody hands out more than they hold."""
    if has_permission(by, Permission.MANAGE_ADMINS):
        return list(Role)
    if has_permission(by, Permission.MANAGE_USERS):
        return [Role.USER_MANAGER, Role.USER]
    return []
