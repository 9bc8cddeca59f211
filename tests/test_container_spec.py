from __future__ import annotations

from panel.runtime.spec import (
    DATA_PATH,
    app_resource_names,
    build_container_spec,
    contract_env,
    platform_env,
)

APP_HEX = "0123456789abcdef0123456789abcdef"


def spec(**overrides):
    values = dict(
        instance="hearth",
        app_hex_id=APP_HEX,
        image="127.0.0.1:5000/hearth/apps/x@sha256:ab",
        fqdn="blog.example.com",
        http_port=8000,
        memory_limit=64 * 1024 * 1024,
    )
    values.update(overrides)
    return build_container_spec(**values)


def test_container_has_a_read_only_root_with_tmpfs_for_tmp_and_run():
    kwargs = spec().docker_create_kwargs()
    assert kwargs["read_only"] is True
    assert set(kwargs["tmpfs"]) == {"/tmp", "/run"}
    assert all("mode=1777" in options for options in kwargs["tmpfs"].values())


def test_app_data_is_a_named_volume_mounted_read_write():
    kwargs = spec().docker_create_kwargs()
    assert kwargs["volumes"] == {"hearth-app-0123456789ab-data": {"bind": DATA_PATH, "mode": "rw"}}


def test_memory_limit_has_matching_swap_so_there_is_no_extra_swap():
    kwargs = spec(memory_limit=123 * 1024 * 1024).docker_create_kwargs()
    assert kwargs["mem_limit"] == kwargs["memswap_limit"] == 123 * 1024 * 1024


def test_all_capabilities_are_dropped_and_only_the_manifests_added_back():
    kwargs = spec(capabilities=["chown", "setuid"]).docker_create_kwargs()
    assert kwargs["cap_drop"] == ["ALL"]
    assert kwargs["cap_add"] == ["CHOWN", "SETUID"]
    assert kwargs["security_opt"] == ["no-new-privileges"]


def test_no_capabilities_by_default():
    assert spec().docker_create_kwargs()["cap_add"] == []


def test_container_is_labelled_with_instance_and_app_and_restarts_unless_stopped():
    kwargs = spec().docker_create_kwargs()
    assert kwargs["labels"]["io.hearth.app"] == APP_HEX
    assert kwargs["labels"]["io.hearth.instance"] == "hearth"
    assert kwargs["restart_policy"] == {"Name": "unless-stopped"}
    assert kwargs["network"] == "hearth-app-0123456789ab"


def test_container_logs_are_size_capped():
    config = spec().docker_create_kwargs()["log_config"]
    assert config["type"] == "json-file"
    assert config["config"]["max-size"] == "10m"


def test_runtime_dirs_become_extra_tmpfs_mounts():
    assert "/var/cache/app" in spec(runtime_dirs=["/var/cache/app"]).tmpfs


def test_bridge_names_fit_the_linux_interface_limit_and_match_the_firewall_prefix():
    names = app_resource_names("hearthtest", APP_HEX)
    assert len(names.bridge) <= 15
    assert names.bridge.startswith("hb")


def test_every_contract_variable_is_set_under_both_prefixes():
    env = contract_env(
        platform_env("https://blog.example.com", "blog.example.com", "https://my.example.com")
    )
    assert env["HEARTH_APP_ORIGIN"] == env["CLOUDRON_APP_ORIGIN"] == "https://blog.example.com"
    assert env["HEARTH_APP_DOMAIN"] == "blog.example.com"
    assert env["CLOUDRON_API_ORIGIN"] == "https://my.example.com"
    assert env["HEARTH"] == env["CLOUDRON"] == "1"


def test_app_networks_are_slices_of_the_pool_that_skip_subnets_in_use():
    import ipaddress

    from panel.runtime.spec import app_container_address, dynamic_range, free_app_subnets

    pool = ipaddress.ip_network("172.16.0.0/16")
    used = [ipaddress.ip_network("172.16.0.0/27"), ipaddress.ip_network("172.16.0.64/26")]
    first, second = list(free_app_subnets(pool, used))[:2]
    assert str(first) == "172.16.0.32/27"
    assert str(second) == "172.16.0.128/27"
    assert app_container_address(first) == "172.16.0.34"
    # Addon containers joining the network draw from the upper half, never the app's .2.
    assert str(dynamic_range(first)) == "172.16.0.48/28"


def test_a_fixed_address_is_part_of_the_spec():
    assert spec(ipv4_address="172.16.0.2").ipv4_address == "172.16.0.2"


def test_the_dashboard_host_resolves_to_the_app_networks_gateway():
    kwargs = spec(
        ipv4_address="172.16.0.34", dashboard_host="my.example.com"
    ).docker_create_kwargs()
    assert kwargs["extra_hosts"] == {
        "my.example.com": "172.16.0.33",
        "dashboard.hearth.internal": "172.16.0.33",
    }
    assert spec().docker_create_kwargs()["extra_hosts"] == {}
