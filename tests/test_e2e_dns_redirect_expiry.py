"""An old location kept as a redirect for the days the owner chose: it redirects until then,
and the hourly expiry removes it with its DNS record, its certificate name and nginx name."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from panel.core.models import Event, Task
from panel.core.services import install_app
from panel.domains.models import AppAlias, Certificate
from panel.domains.providers.resolve import lookup
from panel.domains.services import add_domain, expire_redirects
from tests.conftest import fetch, wait_for_task
from tests.fixtures_domains import fetch_tls

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_redirect_kept_for_7_days_goes_with_its_record_certificate_name_and_site(
    worker, publish, bind, pebble, nginx, owner_client, tmp_path, settings
):
    root = tmp_path / "root.pem"
    root.write_text(pebble.root_pem())
    domain = add_domain(
        name=bind.zone,
        provider="rfc2136",
        provider_config=bind.provider_config(),
        tls_mode="acme-http",
        ipv4="127.0.0.1",
    )
    app = install_app(release=publish("staticsite"), subdomain="oldplace", domain=domain)
    assert wait_for_task(app.tasks.get().pk, timeout=150).state == Task.State.SUCCEEDED

    page = owner_client.get(reverse("domains:app_location", args=[app.pk])).content.decode()
    assert "for 7 days" in page and "forever" in page
    moved = owner_client.post(
        reverse("domains:app_location", args=[app.pk]),
        {"subdomain": "newplace", "domain": domain.pk, "redirect_old": "on", "redirect_days": 7},
    )
    assert moved.status_code == 302
    task = wait_for_task(Task.objects.get(kind="change_location").pk, timeout=150)
    assert task.state == Task.State.SUCCEEDED, task.error + task.log
    alias = AppAlias.objects.get(app=app)
    assert alias.redirect and alias.fqdn == f"oldplace.{bind.zone}"
    week = alias.expires_at - timezone.now()
    assert datetime.timedelta(days=6, hours=23) < week <= datetime.timedelta(days=7)
    page = owner_client.get(reverse("domains:app_location", args=[app.pk])).content.decode()
    assert f"oldplace.{bind.zone} redirects here until" in page

    port = settings.HEARTH_HTTPS_LISTEN.rsplit(":", 1)[-1]
    status, headers, _, _ = fetch_tls(f"oldplace.{bind.zone}", str(root), "/x")
    assert (status, headers["location"]) == (301, f"https://newplace.{bind.zone}:{port}/x")

    # Six days on: still there.
    assert expire_redirects(now=timezone.now() + datetime.timedelta(days=6)) == {
        "expired": 0,
        "postponed": 0,
    }
    assert AppAlias.objects.filter(app=app).exists()

    # Eight days on: gone, with its record, its certificate name and its nginx name.
    assert expire_redirects(now=timezone.now() + datetime.timedelta(days=8)) == {
        "expired": 1,
        "postponed": 0,
    }
    task = wait_for_task(Task.objects.filter(kind="change_location").latest("pk").pk, 150)
    assert task.state == Task.State.SUCCEEDED, task.error + task.log
    assert not AppAlias.objects.filter(app=app).exists()
    assert lookup(f"oldplace.{bind.zone}", "A", bind.server) == []
    assert lookup(f"newplace.{bind.zone}", "A", bind.server) == ["127.0.0.1"]
    assert Certificate.objects.get(app=app).names == [f"newplace.{bind.zone}"]
    assert fetch(f"oldplace.{bind.zone}").status_code == 404
    status, _, body, _ = fetch_tls(f"newplace.{bind.zone}", str(root))
    assert status == 200 and "Welcome to your website" in body
    assert Event.objects.filter(action="redirect_expired", app=app).exists()
