"""A real app signing people in over LDAP against Hearth's directory: Apache httpd's
mod_authnz_ldap in an app container, configured only from the ldap addon's variables, reaching
the directory through its own network's gateway."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests
from django.conf import settings

from panel.accounts.models import AppAccess
from panel.accounts.services import create_group, set_app_access
from panel.core.models import Event, Task
from panel.core.services import install_app, request_app_action
from tests.conftest import wait_for_task

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def ldap_directory(django_db_setup, django_db_blocker):
    """Hearth's LDAP server on every address of this host (apps reach it via their gateway)."""
    from tests.conftest import ldap_directory_process

    with (
        django_db_blocker.unblock(),
        ldap_directory_process(int(os.environ["HEARTH_LDAP_PORT"])) as port,
    ):
        yield port


def private_page(auth: tuple[str, str] | None) -> requests.Response:
    return requests.get(
        f"http://{settings.HEARTH_HTTP_LISTEN}/private/",
        headers={"Host": "members.localhost"},
        auth=auth,
        timeout=20,
    )


def test_apache_signs_people_in_over_ldap_and_the_access_rule_holds(
    worker, publish, domain, ldap_directory, django_user_model
):
    alice = django_user_model.objects.create_user("alice", "alice@example.com", "alice-pw-1")
    django_user_model.objects.create_user("bob", "bob@example.com", "bob-pw-1")
    app = install_app(release=publish("ldapsite"), subdomain="members", domain=domain)
    task = wait_for_task(app.tasks.get().pk)
    assert task.state == Task.State.SUCCEEDED, task.error

    assert private_page(None).status_code == 401
    assert private_page(("alice", "wrong")).status_code == 401
    page = private_page(("alice", "alice-pw-1"))
    assert page.status_code == 200, page.text
    assert "private page for members" in page.text
    assert Event.objects.filter(action="sso_grant", app=app, message="LDAP bind").exists()

    family = create_group("family", actor=None)
    family.user_set.add(alice)
    set_app_access(app, mode=AppAccess.Mode.RESTRICTED, users=[], groups=[family], actor=None)
    assert private_page(("bob", "bob-pw-1")).status_code == 401
    assert private_page(("alice", "alice-pw-1")).status_code == 200
    wait_for_task(request_app_action(app, "uninstall").pk)
