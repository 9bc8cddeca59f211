from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from panel.accounts.forms import (
    AcceptInvitationForm,
    AppAccessForm,
    AppPasswordForm,
    GroupForm,
    GroupMembersForm,
    InviteForm,
    RoleForm,
)
from panel.accounts.models import AppAccess, AppPassword, Invitation, SecurityPolicy
from panel.accounts.roles import Permission, assignable_roles
from panel.accounts.services import (
    AccountRejected,
    accept_invitation,
    create_app_password,
    create_group,
    invite_user,
    role_of,
    set_app_access,
    set_group_members,
    set_role,
    user_has,
)
from panel.core.access import (
    get_app_for_user,
    permission_required,
    signed_in_required,
    user_manager_required,
)


def _add_errors(form, exc: AccountRejected) -> None:
    for field, message in exc.errors.items():
        form.add_error(field if field in form.fields else None, message)


@require_GET
@signed_in_required
def profile(request: HttpRequest) -> HttpResponse:
    return _profile(request, AppPasswordForm(user=request.user))


def _profile(request: HttpRequest, form, new_password: str = "", status: int = 200):
    return render(
        request,
        "accounts/profile.html",
        {
            "role": role_of(request.user),
            "app_passwords": AppPassword.objects.filter(user=request.user).select_related("app"),
            "form": form,
            "new_password": new_password,
        },
        status=status,
    )


@require_POST
@signed_in_required
def app_password_create(request: HttpRequest) -> HttpResponse:
    form = AppPasswordForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            _, secret = create_app_password(
                request.user, form.cleaned_data["name"], form.cleaned_data["app"]
            )
        except AccountRejected as exc:
            _add_errors(form, exc)
        else:
            # Shown in this response only; it is stored hashed.
            return _profile(request, AppPasswordForm(user=request.user), new_password=secret)
    return _profile(request, form, status=400)


@require_POST
@signed_in_required
def app_password_delete(request: HttpRequest, password_id: int) -> HttpResponse:
    record = get_object_or_404(AppPassword, pk=password_id, user=request.user)
    record.delete()
    messages.success(request, f"App password {record.name} removed.")
    return redirect("accounts:profile")


@require_http_methods(["GET", "POST"])
@user_manager_required
def people(request: HttpRequest) -> HttpResponse:
    roles = assignable_roles(role_of(request.user))
    form = InviteForm(request.POST or None, roles=roles)
    if request.method == "POST" and form.is_valid():
        accept_url = request.build_absolute_uri(reverse("accounts:accept", args=["TOKEN"]))
        try:
            invite_user(
                form.cleaned_data["email"],
                form.cleaned_data["role"],
                actor=request.user,
                accept_url=accept_url,
            )
        except AccountRejected as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("accounts:people")
    users = get_user_model().objects.select_related("membership").order_by("username")
    return render(
        request,
        "accounts/people.html",
        {
            "users": [(u, role_of(u) if u.is_active else None) for u in users],
            "form": form,
            "invitations": Invitation.objects.filter(accepted_at__isnull=True)[:50],
            "roles": roles,
            "policy": SecurityPolicy.current(),
            "may_set_policy": user_has(request.user, Permission.MANAGE_ADMINS),
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["POST"])
@user_manager_required
def change_role(request: HttpRequest, user_id: int) -> HttpResponse:
    person = get_object_or_404(get_user_model(), pk=user_id)
    form = RoleForm(request.POST, roles=assignable_roles(role_of(request.user)))
    if not form.is_valid():
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
        return redirect("accounts:people")
    try:
        set_role(person, form.cleaned_data["role"], actor=request.user)
    except AccountRejected as exc:
        messages.error(request, str(exc.errors.get("role", exc)))
    else:
        messages.success(request, f"{person.get_username()} is now {form.cleaned_data['role']}.")
    return redirect("accounts:people")


@require_http_methods(["POST"])
@permission_required(Permission.MANAGE_ADMINS)
def security_policy(request: HttpRequest) -> HttpResponse:
    policy = SecurityPolicy.current()
    policy.require_mfa = request.POST.get("require_mfa") == "on"
    policy.save(update_fields=["require_mfa"])
    from panel.core.events import record_event

    record_event(
        "security_policy_changed",
        actor=request.user,
        message=f"second factor {'required' if policy.require_mfa else 'optional'}",
    )
    messages.success(request, "Security policy saved.")
    return redirect("accounts:people")


@require_http_methods(["GET", "POST"])
@user_manager_required
def groups(request: HttpRequest) -> HttpResponse:
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            create_group(form.cleaned_data["name"], actor=request.user)
        except AccountRejected as exc:
            _add_errors(form, exc)
        else:
            return redirect("accounts:groups")
    return render(
        request,
        "accounts/groups.html",
        {
            "groups": Group.objects.prefetch_related("user_set").order_by("name"),
            "form": form,
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@user_manager_required
def group_members(request: HttpRequest, group_id: int) -> HttpResponse:
    group = get_object_or_404(Group, pk=group_id)
    form = GroupMembersForm(request.POST or None, initial={"members": group.user_set.all()})
    if request.method == "POST" and form.is_valid():
        set_group_members(group, form.cleaned_data["members"], actor=request.user)
        messages.success(request, f"Members of {group.name} saved.")
        return redirect("accounts:groups")
    return render(request, "accounts/group_members.html", {"group": group, "form": form})


@require_http_methods(["GET", "POST"])
@signed_in_required
def app_access(request: HttpRequest, app_id) -> HttpResponse:
    app = get_app_for_user(request, app_id)
    access = AppAccess.objects.filter(app=app).first()
    initial = {
        "mode": access.mode if access else AppAccess.Mode.EVERYONE,
        "users": access.users.all() if access else [],
        "groups": access.groups.all() if access else [],
    }
    form = AppAccessForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        set_app_access(
            app,
            mode=form.cleaned_data["mode"],
            users=form.cleaned_data["users"],
            groups=form.cleaned_data["groups"],
            actor=request.user,
        )
        messages.success(request, f"Who may use {app.title} is saved.")
        return redirect("core:app_detail", app_id=app.pk)
    return render(request, "accounts/app_access.html", {"app": app, "form": form})


@require_http_methods(["GET", "POST"])
def accept(request: HttpRequest, token: str) -> HttpResponse:
    """Public: the invitation link. The token is the only credential, used once."""
    invitation = Invitation.objects.filter(token=token).first()
    if invitation is None or not invitation.usable:
        return render(request, "accounts/accept.html", {"invitation": None}, status=404)
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            accept_invitation(
                token,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except AccountRejected as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Your account is ready. Log in.")
            return redirect("account_login")
    return render(
        request,
        "accounts/accept.html",
        {"invitation": invitation, "form": form},
        status=400 if form.errors else 200,
    )
