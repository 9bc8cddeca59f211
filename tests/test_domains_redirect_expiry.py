"""Redirect expiry decisions: when a redirect ends, 'forever' never does, an app that is not
running keeps its redirect until a later run, and other names keep their end dates."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from panel.domains.forms import LocationForm
from panel.domains.models import AppAlias
from panel.domains.services import expire_redirects, redirect_expiry, set_app_aliases

pytestmark = pytest.mark.django_db


def test_a_redirect_ends_after_the_chosen_days_or_never():
    now = timezone.now()
    assert redirect_expiry(30, now) == now + datetime.timedelta(days=30)
    assert redirect_expiry(0, now) is None
    assert redirect_expiry(None, now) is None


def test_the_location_form_offers_7_30_90_days_and_forever(domain):
    form = LocationForm({"subdomain": "x", "domain": domain.pk, "redirect_days": "90"})
    assert form.is_valid() and form.cleaned_data["redirect_days"] == 90
    assert [c for c, _ in form.fields["redirect_days"].choices] == [7, 30, 90, 0]
    assert not LocationForm(
        {"subdomain": "x", "domain": domain.pk, "redirect_days": "5"}
    ).is_valid()


def test_an_app_that_is_not_running_keeps_its_redirect_for_a_later_run(make_app, domain):
    app = make_app("moved", state="stopped")
    past = timezone.now() - datetime.timedelta(hours=1)
    AppAlias.objects.create(app=app, subdomain="old", domain=domain, redirect=True, expires_at=past)
    assert expire_redirects() == {"expired": 0, "postponed": 1}
    assert AppAlias.objects.filter(app=app).exists()


def test_forever_redirects_and_aliases_are_never_expired(make_app, domain):
    app = make_app("moved")
    AppAlias.objects.create(app=app, subdomain="old", domain=domain, redirect=True)
    AppAlias.objects.create(app=app, subdomain="also", domain=domain, redirect=False)
    assert expire_redirects(now=timezone.now() + datetime.timedelta(days=3650)) == {
        "expired": 0,
        "postponed": 0,
    }


def test_changing_other_names_keeps_a_redirects_end_date(
    make_app, domain, django_capture_on_commit_callbacks
):
    app = make_app("moved")
    ends = timezone.now() + datetime.timedelta(days=7)
    AppAlias.objects.create(app=app, subdomain="old", domain=domain, redirect=True, expires_at=ends)
    with django_capture_on_commit_callbacks(execute=False):
        set_app_aliases(app, [("old.localhost", True), ("extra.localhost", False)])
    assert AppAlias.objects.get(subdomain="old").expires_at == ends
    assert AppAlias.objects.get(subdomain="extra").expires_at is None
