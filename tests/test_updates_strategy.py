"""Which updates may roll (two containers for a moment) and where the second one goes."""

from __future__ import annotations

import pytest

from apps_store.manifest import ManifestError, validate_manifest
from apps_store.updates import recreate_reason
from panel.runtime.spec import build_container_spec, side_by_side_address

BASE = {
    "manifestVersion": 2,
    "id": "org.example.app",
    "title": "App",
    "version": "1.0.0",
    "healthCheckPath": "/",
    "httpPort": 8000,
    "addons": {"localstorage": {}, "mysql": {}},
}


def test_an_update_that_keeps_the_addons_rolls():
    newer = {**BASE, "version": "1.1.0", "addons": {**BASE["addons"], "redis": {}}}
    assert recreate_reason(BASE, newer) == ""


def test_either_version_asking_for_recreate_stops_the_old_one_first():
    assert recreate_reason(
        {**BASE, "updateStrategy": "recreate"}, {**BASE, "version": "2.0.0"}
    ) == ('1.0.0 asks for updateStrategy "recreate"')
    assert recreate_reason(BASE, {**BASE, "version": "2.0.0", "updateStrategy": "recreate"}) == (
        '2.0.0 asks for updateStrategy "recreate"'
    )
    assert recreate_reason(BASE, {**BASE, "updateStrategy": "rolling"}) == ""


def test_dropping_an_addon_the_running_version_uses_forces_recreate():
    newer = {**BASE, "version": "2.0.0", "addons": {"localstorage": {}}}
    assert recreate_reason(BASE, newer) == (
        "the new version drops the mysql addon(s), which the running one still uses"
    )


def test_the_manifest_accepts_only_the_two_strategies():
    assert validate_manifest({**BASE, "updateStrategy": "recreate"}).update_strategy == "recreate"
    assert validate_manifest(BASE).update_strategy == "rolling"
    with pytest.raises(
        ManifestError,
        match='updateStrategy: expected one of "rolling", "recreate", got "blue-green"',
    ):
        validate_manifest({**BASE, "updateStrategy": "blue-green"})


def test_the_next_container_takes_turns_between_the_two_low_addresses():
    assert side_by_side_address("172.16.0.32/27", "172.16.0.34") == "172.16.0.35"
    assert side_by_side_address("172.16.0.32/27", "172.16.0.35") == "172.16.0.34"


def test_a_container_at_the_second_address_still_reaches_the_dashboard_through_the_gateway():
    spec = build_container_spec(
        instance="h",
        app_hex_id="a" * 32,
        image="x",
        fqdn="app.example.com",
        http_port=8000,
        memory_limit=64 * 1024 * 1024,
        ipv4_address="172.16.0.35",
        dashboard_host="my.example.com",
    )
    assert set(spec.extra_hosts.values()) == {"172.16.0.33"}
