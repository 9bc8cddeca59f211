"""Accounts: roles, groups, app access rules, invitations, login events and limits, 2FA policy."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from panel.accounts.models import AppAccess, Invitation, SecurityPolicy
from panel.accounts.roles import Permission, Role, assignable_roles, has_permission
from panel.accounts.services import (
    AccountRejected,
    accept_invitation,
    create_group,
    invite_user,
    may_manage_app,
    may_use_app,
    role_of,
    set_app_access,
    set_operated_apps,
    set_role,
    usable_apps,
)
from panel.core.models import AppInstance, Event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    # allauth counts attempts in the cache, which outlives a test's database.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def app(make_app):
    return make_app("site")


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "pw-alice-1")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", "pw-bob-12345")


def test_role_matrix_owner_holds_everything_and_users_nothing():
    assert all(has_permission(Role.OWNER, p) for p in Permission)
    assert not any(has_permission(Role.USER, p) for p in Permission)
    assert has_permission(Role.USER_MANAGER, Permission.MANAGE_USERS)
    assert not has_permission(Role.USER_MANAGER, Permission.MANAGE_PLATFORM)


def test_nobody_hands_out_more_than_they_hold():
    assert Role.OWNER not in assignable_roles(Role.ADMIN)
    assert Role.ADMIN not in assignable_roles(Role.USER_MANAGER)
    assert assignable_roles(Role.USER) == []


def test_superusers_are_owners_and_new_people_are_users(owner, alice):
    assert role_of(owner) == Role.OWNER
    assert role_of(alice) == Role.USER


def test_a_user_manager_cannot_make_an_admin(owner, alice, bob):
    set_role(alice, Role.USER_MANAGER, actor=owner)
    with pytest.raises(AccountRejected, match="cannot make someone admin"):
        set_role(bob, Role.ADMIN, actor=alice)
    assert role_of(bob) == Role.USER


def test_the_last_owner_cannot_be_demoted(owner):
    with pytest.raises(AccountRejected, match="last owner"):
        set_role(owner, Role.USER, actor=owner)
    assert role_of(owner) == Role.OWNER


def test_role_changes_are_in_the_event_log(owner, alice):
    set_role(alice, Role.ADMIN, actor=owner)
    event = Event.objects.get(action="role_changed")
    assert event.actor == owner and "alice is now admin" in event.message


def test_an_operator_manages_only_the_apps_assigned(owner, alice, app, make_app):
    other = make_app("other", store_app_id="x.y", title="Other", state="pending_install")
    set_operated_apps(alice, [app], actor=owner)
    assert may_manage_app(alice, app)
    assert not may_manage_app(alice, other)
    assert may_manage_app(owner, other)


def test_access_rule_everyone_by_default_then_only_listed_users_and_groups(owner, alice, bob, app):
    assert may_use_app(alice, app) and may_use_app(bob, app)
    family = create_group("family", actor=owner)
    family.user_set.add(bob)
    set_app_access(app, mode=AppAccess.Mode.RESTRICTED, users=[], groups=[family], actor=owner)
    assert may_use_app(bob, app)
    assert not may_use_app(alice, app)
    assert list(usable_apps(alice, AppInstance.objects.all())) == []
    assert list(usable_apps(bob, AppInstance.objects.all())) == [app]
    set_app_access(app, mode=AppAccess.Mode.RESTRICTED, users=[alice], groups=[], actor=owner)
    assert may_use_app(alice, app) and not may_use_app(bob, app)
    assert Event.objects.filter(action="app_access_changed", app=app).count() == 2


def test_inactive_users_may_use_nothing(alice, app):
    alice.is_active = False
    alice.save()
    assert not may_use_app(alice, app)


def test_group_names_are_unique_ignoring_case(owner):
    create_group("Family", actor=owner)
    with pytest.raises(AccountRejected, match="exists already"):
        create_group("family", actor=owner)
    assert Group.objects.count() == 1


def test_an_invitation_is_mailed_and_creates_the_account_once(owner):
    invitation = invite_user(
        "carol@example.com",
        Role.USER,
        actor=owner,
        accept_url="http://my.localhost/invitations/TOKEN/",
    )
    assert mail.outbox[0].to == ["carol@example.com"]
    assert f"/invitations/{invitation.token}/" in mail.outbox[0].body
    user = accept_invitation(invitation.token, username="carol", password="a-long-passphrase")
    assert user.email == "carol@example.com" and role_of(user) == Role.USER
    assert check_password("a-long-passphrase", user.password)
    with pytest.raises(AccountRejected, match="unknown, used or expired"):
        accept_invitation(invitation.token, username="carol2", password="a-long-passphrase")


def test_an_expired_invitation_is_refused(owner):
    invitation = Invitation.objects.create(
        email="late@example.com", role="user", expires_at=timezone.now() - timedelta(minutes=1)
    )
    with pytest.raises(AccountRejected, match="expired"):
        accept_invitation(invitation.token, username="late", password="a-long-passphrase")


def test_invitation_page_creates_the_account_and_rejects_a_weak_password(client, owner):
    invitation = Invitation.objects.create(email="dan@example.com", role="user")
    url = reverse("accounts:accept", args=[invitation.token])
    weak = client.post(url, {"username": "dan", "password": "password12"})
    assert weak.status_code == 400
    assert "too common" in weak.content.decode()
    good = client.post(url, {"username": "dan", "password": "correct horse battery"})
    assert good.status_code == 302
    assert client.login(username="dan", password="correct horse battery")


def test_logins_and_failed_logins_are_recorded_with_the_address(client, alice):
    client.post(
        reverse("account_login"), {"login": "alice", "password": "wrong"}, REMOTE_ADDR="203.0.113.9"
    )
    client.post(
        reverse("account_login"),
        {"login": "alice@example.com", "password": "pw-alice-1"},
        REMOTE_ADDR="203.0.113.9",
    )
    failed = Event.objects.get(action="login_failed")
    assert failed.outcome == "failed" and "203.0.113.9" in failed.message
    ok = Event.objects.get(action="login")
    assert ok.actor == alice and "203.0.113.9" in ok.message


def test_many_wrong_passwords_are_slowed_down_but_password_reset_still_works(client, alice):
    login = reverse("account_login")
    for attempt in range(12):
        client.post(login, {"login": "alice", "password": f"wrong{attempt}"})
    # Even the right password is refused while the account is being attacked...
    locked = client.post(login, {"login": "alice", "password": "pw-alice-1"})
    assert locked.status_code != 302
    assert "Too many failed login attempts" in locked.content.decode()
    # ...but recovery by email is not locked.
    reset = client.post(reverse("account_reset_password"), {"email": "alice@example.com"})
    assert reset.status_code == 302
    assert mail.outbox and "alice" in mail.outbox[-1].body


def test_mandatory_second_factor_sends_people_without_one_to_set_it_up(client, owner):
    client.post(reverse("account_login"), {"login": "owner", "password": "pw-owner"})
    assert client.get(reverse("core:dashboard")).status_code == 200
    SecurityPolicy.objects.update_or_create(pk=1, defaults={"require_mfa": True})
    response = client.get(reverse("core:dashboard"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    # The set-up pages stay reachable (allauth may first ask for the password again).
    setup = client.get(reverse("mfa_activate_totp"))
    assert setup.status_code == 200 or setup["Location"].startswith("/accounts/reauthenticate/")
    assert client.get(setup.get("Location", reverse("mfa_activate_totp"))).status_code == 200


def test_only_the_owner_can_switch_the_second_factor_policy(client, owner, alice):
    set_role(alice, Role.ADMIN, actor=owner)
    client.force_login(alice)
    assert (
        client.post(reverse("accounts:security_policy"), {"require_mfa": "on"}).status_code == 403
    )
    assert not SecurityPolicy.current().require_mfa
    client.force_login(owner)
    client.post(reverse("accounts:security_policy"), {"require_mfa": "on"})
    assert SecurityPolicy.current().require_mfa


def test_production_settings_hash_passwords_with_argon2():
    from importlib import import_module

    hashers = import_module("panel.settings").PASSWORD_HASHERS
    assert hashers[0].endswith("Argon2PasswordHasher")
    hasher = Argon2PasswordHasher()
    encoded = hasher.encode("s3cret", hasher.salt())
    assert encoded.startswith("argon2$") and hasher.verify("s3cret", encoded)


def test_sessions_are_listed_in_the_profile_and_can_be_ended(client, alice):
    client.post(reverse("account_login"), {"login": "alice", "password": "pw-alice-1"})
    page = client.get(reverse("usersessions_list"))
    assert page.status_code == 200
    assert re.search(r"(?i)session", page.content.decode())
    profile = client.get(reverse("accounts:profile")).content.decode()
    assert reverse("usersessions_list") in profile and reverse("mfa_index") in profile


def test_role_page_refuses_a_user_manager_promoting_to_admin(client, owner, alice, bob):
    set_role(alice, Role.USER_MANAGER, actor=owner)
    client.force_login(alice)
    response = client.post(
        reverse("accounts:change_role", args=[bob.pk]), {"role": "admin"}, follow=True
    )
    assert role_of(bob) == Role.USER
    assert "Select a valid choice" in response.content.decode()


def test_an_app_password_is_shown_once_stored_hashed_and_scoped(client, alice, app, make_app):
    from panel.accounts.models import AppPassword
    from panel.accounts.services import check_person_password

    client.force_login(alice)
    page = client.post(
        reverse("accounts:app_password_create"), {"name": "Phone calendar", "app": app.pk}
    ).content.decode()
    secret = re.search(r'id="new-app-password">([^<]+)<', page).group(1)
    record = AppPassword.objects.get(user=alice)
    assert secret not in record.password_hash
    assert check_person_password(alice, secret, app)
    other = make_app("other", store_app_id="x.y", title="Other", state="pending_install")
    assert not check_person_password(alice, secret, other)  # scoped to the one app
    assert secret not in client.get(reverse("accounts:profile")).content.decode()
    client.post(reverse("accounts:app_password_delete", args=[record.pk]))
    assert not check_person_password(alice, secret, app)


def test_nobody_removes_someone_elses_app_password(client, alice, bob, app):
    from panel.accounts.models import AppPassword
    from panel.accounts.services import create_app_password

    record, _ = create_app_password(alice, "Mail", app)
    client.force_login(bob)
    response = client.post(reverse("accounts:app_password_delete", args=[record.pk]))
    assert response.status_code == 404
    assert AppPassword.objects.filter(pk=record.pk).exists()


def test_admins_filter_the_event_log_by_what_outcome_who_and_app(client, owner, alice, app):
    from panel.core.events import record_event

    record_event("login", actor=alice, message="from 198.51.100.1")
    record_event("login_failed", outcome=Event.Outcome.FAILED, message="mallory from 203.0.113.7")
    record_event("sso_grant", app=app, actor=alice, message="LDAP bind")
    client.force_login(owner)
    url = reverse("core:events")
    failed = client.get(url, {"outcome": "failed"}).content.decode()
    assert "mallory" in failed and "198.51.100.1" not in failed
    by_alice = client.get(url, {"actor": "alice", "action": "login"}).content.decode()
    assert "198.51.100.1" in by_alice and "LDAP bind" not in by_alice
    by_app = client.get(url, {"app": "site.localhost"}).content.decode()
    assert "LDAP bind" in by_app and "mallory" not in by_app


def test_a_second_factor_is_asked_after_the_password_and_a_wrong_code_is_refused(client, alice):
    from allauth.mfa.totp.internal.auth import (
        TOTP,
        format_hotp_value,
        generate_totp_secret,
        hotp_value,
        yield_hotp_counters_from_time,
    )

    secret = generate_totp_secret()
    TOTP.activate(alice, secret)
    response = client.post(reverse("account_login"), {"login": "alice", "password": "pw-alice-1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session  # the password alone is not enough

    refused = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert refused.status_code == 200 and "_auth_user_id" not in client.session
    code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    client.post(reverse("mfa_authenticate"), {"code": code})
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_forms_refuse_a_post_without_its_csrf_token(owner, make_app):
    from django.test import Client

    app = make_app("site")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    for url in [
        reverse("core:app_action", args=[app.pk, "stop"]),
        reverse("accounts:people"),
        reverse("accounts:security_policy"),
    ]:
        assert browser.post(url, {"email": "x@example.com"}).status_code == 403, url


def test_login_never_redirects_to_another_site(client, alice):
    response = client.post(
        reverse("account_login") + "?next=https://evil.example/steal",
        {"login": "alice", "password": "pw-alice-1", "next": "https://evil.example/steal"},
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
