"""Hearth's LDAP directory: the pure directory logic, and the real server answering real LDAP
clients (OpenLDAP's ldapsearch from Debian, and the ldap3 library) over TCP."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
from ldap3 import Connection, Server
from ldap3.core.exceptions import LDAPBindError

from addons.ldap import directory
from addons.ldap.directory import Entry, matches, search, username_from_dn

ROOT = Path(__file__).resolve().parent.parent


# The directory logic --------------------------------------------------------------------------
ALICE = directory.user_entry("alice", "alice@example.com", "Alice Liddell", ["family"])
BOB = directory.user_entry("bob", "", "", [])
FAMILY = directory.group_entry("family", ["alice"])


def test_user_dns_parse_back_to_usernames_case_insensitively():
    assert username_from_dn("uid=alice,ou=users,dc=hearth") == "alice"
    assert username_from_dn("UID=Alice, OU=Users, DC=Hearth") == "alice"
    assert username_from_dn("uid=alice,ou=groups,dc=hearth") is None
    assert username_from_dn("uid=a,b,ou=users,dc=hearth") is None


def test_filters_match_like_ldap():
    assert matches(ALICE, ("eq", "uid", "ALICE"))
    assert matches(ALICE, ("and", [("present", "mail"), ("substring", "mail", "ali", [], ".com")]))
    assert not matches(BOB, ("present", "mail"))
    assert matches(BOB, ("not", ("present", "mail")))
    assert matches(ALICE, ("eq", "memberOf", "cn=family,ou=groups,dc=hearth"))
    assert matches(FAMILY, ("eq", "member", "UID=alice,OU=users,DC=hearth"))
    assert not matches(ALICE, ("unsupported", "extensibleMatch"))


def test_a_star_inside_a_value_is_a_character_not_a_wildcard():
    # What an injection attempt looks like once the client escaped it: equality with "*".
    assert not matches(ALICE, ("eq", "uid", "*"))
    assert not matches(ALICE, ("eq", "uid", "alice)(uid=*"))


def test_search_scopes():
    entries = [*directory.container_entries(), ALICE, BOB, FAMILY]
    base = search(entries, directory.USERS_DN, directory.SCOPE_BASE, ("present", "objectclass"))
    assert [e.dn for e in base] == [directory.USERS_DN]
    one = search(entries, directory.USERS_DN, directory.SCOPE_ONE, ("present", "objectclass"))
    assert {e.dn for e in one} == {ALICE.dn, BOB.dn}
    sub = search(entries, directory.BASE_DN, directory.SCOPE_SUBTREE, ("eq", "cn", "family"))
    assert [e.dn for e in sub] == [FAMILY.dn]
    assert len(search(entries, "", directory.SCOPE_SUBTREE, ("present", "uid"), 1)) == 1


def test_only_asked_attributes_are_returned():
    chosen = directory.select_attributes(ALICE, ["mail", "uid"], types_only=False)
    assert chosen == {"uid": ["alice"], "mail": ["alice@example.com"]}
    assert directory.select_attributes(Entry("x", {"a": ["1"]}), [], True) == {"a": []}


# The server, with real clients ----------------------------------------------------------------
@pytest.fixture
def ldap_server(transactional_db):
    from tests.conftest import ldap_directory_process

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with ldap_directory_process(port, host="127.0.0.1"):
        yield port


@pytest.fixture
def ldap_app(transactional_db, domain, django_user_model):
    from addons.models import AddonInstance
    from panel.accounts.services import create_group
    from panel.core.models import AppInstance

    app = AppInstance.objects.create(
        store_app_id="org.example.wiki",
        title="Wiki",
        version="1.0.0",
        manifest={},
        image="x",
        subdomain="wiki",
        domain=domain,
        memory_limit=1,
        state="running",
    )
    AddonInstance.objects.create(
        app=app, addon="ldap", state="ready", credentials={"bind_password": "app-secret"}
    )
    alice = django_user_model.objects.create_user(
        "alice", "alice@example.com", "alice-pw", first_name="Alice", last_name="Liddell"
    )
    django_user_model.objects.create_user("bob", "bob@example.com", "bob-pw")
    create_group("family", actor=None).user_set.add(alice)
    return app


def ldapsearch(port: int, bind_dn: str, password: str, *args: str):
    return subprocess.run(
        [
            "ldapsearch",
            "-x",
            "-LLL",
            "-H",
            f"ldap://127.0.0.1:{port}",
            "-D",
            bind_dn,
            "-w",
            password,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )


def test_ldapsearch_as_the_app_lists_users_and_groups(ldap_server, ldap_app):
    app_dn = directory.app_bind_dn(ldap_app.id.hex)
    found = ldapsearch(
        ldap_server,
        app_dn,
        "app-secret",
        "-b",
        directory.USERS_DN,
        "(uid=alice)",
        "mail",
        "memberOf",
        "cn",
    )
    assert found.returncode == 0, found.stderr
    assert "dn: uid=alice,ou=users,dc=hearth" in found.stdout
    assert "mail: alice@example.com" in found.stdout
    assert "memberOf: cn=family,ou=groups,dc=hearth" in found.stdout
    assert "cn: Alice Liddell" in found.stdout
    groups = ldapsearch(
        ldap_server,
        app_dn,
        "app-secret",
        "-b",
        directory.GROUPS_DN,
        "(member=uid=alice,ou=users,dc=hearth)",
        "cn",
    )
    assert "cn: family" in groups.stdout


def test_a_wrong_app_password_and_anonymous_searches_are_refused(ldap_server, ldap_app):
    app_dn = directory.app_bind_dn(ldap_app.id.hex)
    wrong = ldapsearch(ldap_server, app_dn, "nope", "-b", directory.USERS_DN)
    assert wrong.returncode == 49  # invalidCredentials
    anonymous = subprocess.run(
        [
            "ldapsearch",
            "-x",
            "-LLL",
            "-H",
            f"ldap://127.0.0.1:{ldap_server}",
            "-b",
            directory.USERS_DN,
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert anonymous.returncode == 50  # insufficientAccessRights
    assert "alice" not in anonymous.stdout


def test_injection_attempts_are_answered_correctly(ldap_server, ldap_app):
    app_dn = directory.app_bind_dn(ldap_app.id.hex)
    # An escaped "*" is a literal: no user is called "*".
    literal = ldapsearch(
        ldap_server, app_dn, "app-secret", "-b", directory.USERS_DN, r"(uid=\2a)", "uid"
    )
    assert literal.returncode == 0 and "dn:" not in literal.stdout
    nested = ldapsearch(
        ldap_server,
        app_dn,
        "app-secret",
        "-b",
        directory.USERS_DN,
        "(&(uid=alice)(|(uid=*)(mail=*)))",
        "uid",
    )
    assert nested.stdout.count("dn:") == 1
    # The server survives garbage and still answers the next client.
    with socket.create_connection(("127.0.0.1", ldap_server)) as raw:
        raw.sendall(b"\x30\x84\xff\xff\xff\xffgarbage")
        raw.settimeout(5)
        assert raw.recv(100) == b""
    again = ldapsearch(ldap_server, app_dn, "app-secret", "-b", directory.USERS_DN, "(uid=bob)")
    assert "uid=bob" in again.stdout


def test_writes_are_refused_as_read_only(ldap_server, ldap_app):
    modify = subprocess.run(
        [
            "ldapmodify",
            "-x",
            "-H",
            f"ldap://127.0.0.1:{ldap_server}",
            "-D",
            directory.app_bind_dn(ldap_app.id.hex),
            "-w",
            "app-secret",
        ],
        input="dn: uid=alice,ou=users,dc=hearth\nchangetype: modify\nreplace: mail\n"
        "mail: evil@example.com\n",
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert modify.returncode == 53  # unwillingToPerform


def test_people_bind_with_their_password_and_the_access_rule_applies(ldap_server, ldap_app):
    from panel.accounts.models import AppAccess
    from panel.accounts.services import set_app_access
    from panel.core.models import Event

    server = Server(f"ldap://127.0.0.1:{ldap_server}")
    connection = Connection(
        server, directory.app_bind_dn(ldap_app.id.hex), "app-secret", auto_bind=True
    )
    assert connection.rebind(directory.user_dn("alice"), "alice-pw")
    assert not connection.rebind(directory.user_dn("alice"), "wrong")
    connection.unbind()

    from django.contrib.auth.models import Group

    set_app_access(
        ldap_app,
        mode=AppAccess.Mode.RESTRICTED,
        users=[],
        groups=[Group.objects.get(name="family")],
        actor=None,
    )
    connection = Connection(
        server, directory.app_bind_dn(ldap_app.id.hex), "app-secret", auto_bind=True
    )
    assert connection.rebind(directory.user_dn("alice"), "alice-pw")
    connection = Connection(
        server, directory.app_bind_dn(ldap_app.id.hex), "app-secret", auto_bind=True
    )
    assert not connection.rebind(directory.user_dn("bob"), "bob-pw")
    assert Event.objects.filter(action="sso_refused", message__contains="access rule").exists()
    assert Event.objects.filter(action="sso_grant", message="LDAP bind").exists()


def test_a_person_cannot_bind_without_an_app_behind_the_connection(ldap_server, ldap_app):
    with pytest.raises(LDAPBindError):
        Connection(
            Server(f"ldap://127.0.0.1:{ldap_server}"),
            directory.user_dn("alice"),
            "alice-pw",
            auto_bind=True,
        )


def test_an_app_password_works_for_an_ldap_bind(ldap_server, ldap_app, django_user_model):
    from panel.accounts.services import create_app_password

    alice = django_user_model.objects.get(username="alice")
    _, secret = create_app_password(alice, "Mail client", ldap_app)
    connection = Connection(
        Server(f"ldap://127.0.0.1:{ldap_server}"),
        directory.app_bind_dn(ldap_app.id.hex),
        "app-secret",
        auto_bind=True,
    )
    assert connection.rebind(directory.user_dn("alice"), secret)
