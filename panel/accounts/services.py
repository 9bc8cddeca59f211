"""Accounts, roles, groups, app access and invitations. Views and the API call these."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import Group
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from panel.accounts.models import AppAccess, AppPassword, Invitation, Membership
from panel.accounts.roles import Permission, Role, assignable_roles, has_permission
from panel.core.events import record_event


class AccountRejected(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))


def role_of(user) -> Role:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        raise ValueError("only signed-in, active users have a role")
    if user.is_superuser:
        return Role.OWNER
    membership = Membership.objects.filter(user=user).only("role").first()
    return Role(membership.role) if membership else Role.USER


def user_has(user, permission: Permission) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return has_permission(role_of(user), permission)


def operated_app_ids(user) -> set:
    return set(Membership.objects.filter(user=user).values_list("operated_apps", flat=True)) - {
        None
    }


def may_manage_app(user, app) -> bool:
    """Admins manage every app; a per-app operator only the apps assigned to them."""
    if user_has(user, Permission.MANAGE_PLATFORM):
        return True
    return getattr(user, "is_authenticated", False) and app.pk in operated_app_ids(user)


def manageable_apps(user, apps: QuerySet) -> QuerySet:
    if user_has(user, Permission.MANAGE_PLATFORM):
        return apps
    return apps.filter(pk__in=operated_app_ids(user))


def may_use_app(user, app) -> bool:
    """The app's access rule: what every SSO path (OIDC, LDAP, proxy auth) enforces."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    access = AppAccess.objects.filter(app=app).first()
    if access is None or access.mode == AppAccess.Mode.EVERYONE:
        return True
    if access.users.filter(pk=user.pk).exists():
        return True
    return access.groups.filter(pk__in=user.groups.values("pk")).exists()


def usable_apps(user, apps: QuerySet) -> QuerySet:
    if not getattr(user, "is_authenticated", False):
        return apps.none()
    open_or_listed = (
        Q(access__isnull=True)
        | Q(access__mode=AppAccess.Mode.EVERYONE)
        | Q(access__users=user)
        | Q(access__groups__in=user.groups.all())
    )
    return apps.filter(open_or_listed).distinct()


@transaction.atomic
def set_app_access(app, *, mode: str, users=(), groups=(), actor=None) -> AppAccess:
    if mode not in AppAccess.Mode.values:
        raise AccountRejected({"mode": f"choose one of {', '.join(AppAccess.Mode.values)}"})
    access, _ = AppAccess.objects.get_or_create(app=app)
    access.mode = mode
    access.save(update_fields=["mode"])
    access.users.set(users)
    access.groups.set(groups)
    record_event(
        "app_access_changed",
        app=app,
        actor=actor,
        message=f"{mode}: users {', '.join(u.get_username() for u in users) or '-'}; "
        f"groups {', '.join(g.name for g in groups) or '-'}",
    )
    return access


@transaction.atomic
def set_role(user, role: Role | str, *, actor) -> None:
    """Change someone's role; only to roles the actor may hand out, never the last owner."""
    role = Role(role)
    actor_role = role_of(actor)
    if role not in assignable_roles(actor_role) or (
        role_of(user) in (Role.OWNER, Role.ADMIN)
        and not has_permission(actor_role, Permission.MANAGE_ADMINS)
    ):
        raise AccountRejected({"role": f"a {actor_role.value} cannot make someone {role.value}"})
    users = get_user_model()
    if (
        user.is_superuser
        and role != Role.OWNER
        and not users.objects.filter(is_superuser=True).exclude(pk=user.pk).exists()
    ):
        raise AccountRejected({"role": "this is the last owner; make someone else owner first"})
    user.is_superuser = role == Role.OWNER
    user.is_staff = role in (Role.OWNER, Role.ADMIN)
    user.save(update_fields=["is_superuser", "is_staff"])
    Membership.objects.update_or_create(user=user, defaults={"role": role.value})
    record_event("role_changed", actor=actor, message=f"{user.get_username()} is now {role.value}")


def set_operated_apps(user, apps, *, actor) -> None:
    membership, _ = Membership.objects.get_or_create(user=user)
    membership.operated_apps.set(apps)
    record_event(
        "operator_apps_changed",
        actor=actor,
        message=f"{user.get_username()} operates {', '.join(a.fqdn for a in apps) or 'no apps'}",
    )


def create_group(name: str, *, actor) -> Group:
    name = name.strip()
    if not name:
        raise AccountRejected({"name": "give the group a name"})
    if Group.objects.filter(name__iexact=name).exists():
        raise AccountRejected({"name": f"a group called {name} exists already"})
    group = Group.objects.create(name=name)
    record_event("group_created", actor=actor, message=name)
    return group


def set_group_members(group: Group, users, *, actor) -> None:
    group.user_set.set(users)
    record_event(
        "group_members_changed",
        actor=actor,
        message=f"{group.name}: {', '.join(u.get_username() for u in users) or 'nobody'}",
    )


def invite_user(email: str, role: Role | str, *, actor, accept_url: str) -> Invitation:
    role = Role(role)
    if role not in assignable_roles(role_of(actor)):
        raise AccountRejected({"role": f"you cannot invite someone as {role.value}"})
    if get_user_model().objects.filter(email__iexact=email).exists():
        raise AccountRejected({"email": f"{email} already has an account"})
    invitation = Invitation.objects.create(email=email, role=role.value, invited_by=actor)
    link = accept_url.replace("TOKEN", invitation.token)
    send_mail(
        "You are invited to Hearth",
        f"{actor.get_username()} invited you to their Hearth.\n\n"
        f"Create your account here (the link works once, until "
        f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC):\n{link}\n",
        None,
        [email],
    )
    record_event("user_invited", actor=actor, message=f"{email} as {role.value}")
    return invitation


@transaction.atomic
def accept_invitation(token: str, *, username: str, password: str):
    invitation = Invitation.objects.select_for_update().filter(token=token).first()
    if invitation is None or not invitation.usable:
        raise AccountRejected(
            {"token": "this invitation is unknown, used or expired; ask for a new one"}
        )
    users = get_user_model()
    if users.objects.filter(username__iexact=username).exists():
        raise AccountRejected({"username": f"{username} is taken; choose another"})
    role = Role(invitation.role)
    user = users.objects.create_user(
        username=username,
        email=invitation.email,
        password=password,
        is_superuser=role == Role.OWNER,
        is_staff=role in (Role.OWNER, Role.ADMIN),
    )
    Membership.objects.create(user=user, role=role.value)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    record_event("invitation_accepted", actor=user, message=f"{username} <{invitation.email}>")
    return user


def create_app_password(user, name: str, app=None) -> tuple[AppPassword, str]:
    """Make a password for one client; the plain text is returned this once only."""
    name = name.strip()
    if not name:
        raise AccountRejected({"name": "name it after the client, e.g. 'Phone calendar'"})
    secret = "-".join(secrets.token_hex(2) for _ in range(4))
    record = AppPassword.objects.create(
        user=user, app=app, name=name, password_hash=make_password(secret)
    )
    record_event("app_password_created", actor=user, app=app, message=name)
    return record, secret


def check_person_password(user, password: str, app=None) -> bool:
    """The account password, or an app password valid for `app` (any app when unscoped)."""
    if not password:
        return False
    if user.check_password(password):
        return True
    scoped = AppPassword.objects.filter(user=user).filter(Q(app__isnull=True) | Q(app=app))
    for record in scoped:
        if check_password(password, record.password_hash):
            AppPassword.objects.filter(pk=record.pk).update(last_used_at=timezone.now())
            return True
    return False
