"""App records through a real install: what a manual domain's owner is told, and AAAA."""

from __future__ import annotations

import pytest

from panel.core.models import Task
from panel.core.services import install_app, request_app_action
from panel.domains.models import Domain
from panel.domains.providers.resolve import lookup
from tests.conftest import wait_for_task

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manual_domain_install_tells_the_owner_which_record_to_create(worker, publish, bind):
    domain = Domain.objects.create(
        name="manual.hearth.test",
        provider="manual",
        provider_config={"nameserver": bind.server},
        ipv4="192.0.2.80",
    )
    app = install_app(release=publish("staticsite"), subdomain="notes", domain=domain)
    task = wait_for_task(app.tasks.get().pk)
    assert task.state == Task.State.SUCCEEDED, task.error
    assert "Create the record notes.manual.hearth.test. 300 IN A 192.0.2.80" in task.log
    assert "notes.manual.hearth.test A is not there yet (DNS says: no such record)" in task.log
    assert wait_for_task(request_app_action(app, "uninstall").pk).state == "succeeded"


def test_a_domain_with_an_ipv6_address_gets_aaaa_records_too(worker, publish, bind):
    domain = Domain.objects.create(
        name="six.hearth.test",
        provider="rfc2136",
        provider_config=bind.provider_config(zone=bind.zone),
        ipv4="127.0.0.1",
        ipv6="2001:db8::8",
    )
    app = install_app(release=publish("staticsite"), subdomain="www", domain=domain)
    task = wait_for_task(app.tasks.get().pk)
    assert task.state == Task.State.SUCCEEDED, task.error
    assert lookup("www.six.hearth.test", "AAAA", bind.server) == ["2001:db8::8"]
    assert lookup("www.six.hearth.test", "A", bind.server) == ["127.0.0.1"]
    assert wait_for_task(request_app_action(app, "uninstall").pk).state == "succeeded"
    assert lookup("www.six.hearth.test", "AAAA", bind.server) == []
