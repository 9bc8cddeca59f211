from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from apps_store.manifest import (
    ADDON_OPTIONS,
    DEFAULT_MEMORY_LIMIT,
    MANIFEST_FILENAMES,
    MANIFEST_SCHEMA,
    Manifest,
    ManifestError,
    _describe_error,
    load_manifest,
    parse_manifest,
    validate_manifest,
)

MINIMAL = {
    "manifestVersion": 2,
    "id": "io.hearth.staticsite",
    "title": "Static Site",
    "version": "1.0.0",
    "healthCheckPath": "/",
    "httpPort": 8000,
}

FULL = {
    **MINIMAL,
    "author": "Hearth <apps@hearth.example>",
    "description": "Serves files from /app/data/public.",
    "tagline": "Your own web page",
    "upstreamVersion": "1.25.3",
    "website": "https://hearth.example/apps/staticsite",
    "contactEmail": "apps@hearth.example",
    "icon": "file://logo.png",
    "tags": ["web", "hosting"],
    "mediaLinks": ["https://hearth.example/screenshots/1.png"],
    "changelog": "* First release",
    "tcpPorts": {
        "SSH_PORT": {
            "title": "SSH",
            "description": "Git over SSH",
            "defaultValue": 2222,
            "containerPort": 22,
            "portCount": 1,
        }
    },
    "udpPorts": {"TURN_PORT": {"title": "TURN", "defaultValue": 3478}},
    "addons": {
        "localstorage": {"sqlite": {"paths": ["/app/data/db.sqlite"]}},
        "mysql": {"multipleDatabases": True},
        "postgresql": {"locale": "C"},
        "mongodb": {},
        "redis": {"noPassword": False},
        "sendmail": {"supportsDisplayName": True, "requiresValidCertificate": False},
        "recvmail": {},
        "ldap": {},
        "oidc": {
            "loginRedirectUri": "/auth/callback, /admin/callback",
            "logoutRedirectUri": "/",
            "tokenSignatureAlgorithm": "EdDSA",
        },
        "proxyAuth": {"path": "/admin", "basicAuth": True, "supportsBearerAuth": False},
        "scheduler": {
            "refresh_feeds": {"schedule": "*/15 * * * *", "command": "/app/code/refresh.sh"},
            "weekly-report": {"schedule": "30 6 * jan-dec mon", "command": "/app/code/report"},
        },
        "tls": {},
        "docker": {},
        "turn": {},
        "email": {},
    },
    "memoryLimit": 512 * 1024 * 1024,
    "minBoxVersion": "1.2.0",
    "optionalSso": True,
    "multiDomain": True,
    "postInstallMessage": "Log in as admin / changeme",
    "configurePath": "/admin",
    "logPaths": ["/run/staticsite/access.log"],
    "capabilities": ["net_bind_service", "chown"],
    "runtimeDirs": ["/app/code/cache"],
    "documentationUrl": "https://hearth.example/docs/staticsite",
    "forumUrl": "https://forum.hearth.example/c/staticsite",
    "packagerName": "Hearth",
    "packagerUrl": "https://hearth.example",
}


def errors_for(**changes: object) -> list[str]:
    """Errors for MINIMAL with fields changed; a value of None removes the field."""
    data = {**MINIMAL, **changes}
    data = {key: value for key, value in data.items() if value is not None}
    with pytest.raises(ManifestError) as caught:
        validate_manifest(data)
    return caught.value.errors


def test_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(MANIFEST_SCHEMA)


def test_accepts_a_full_manifest_and_exposes_every_field():
    manifest = validate_manifest(FULL)

    assert manifest.data == FULL
    assert manifest.id == "io.hearth.staticsite"
    assert manifest.title == "Static Site"
    assert manifest.version == "1.0.0"
    assert manifest.http_port == 8000
    assert manifest.health_check_path == "/"
    assert manifest.memory_limit == 512 * 1024 * 1024
    assert manifest.addons == FULL["addons"]
    assert manifest.capabilities == ["net_bind_service", "chown"]
    assert manifest.tcp_ports["SSH_PORT"]["containerPort"] == 22
    assert manifest.udp_ports == {"TURN_PORT": {"title": "TURN", "defaultValue": 3478}}
    assert manifest.log_paths == ["/run/staticsite/access.log"]
    assert manifest.runtime_dirs == ["/app/code/cache"]
    assert manifest.multi_domain is True
    assert manifest.optional_sso is True
    assert manifest.tagline == "Your own web page"
    assert manifest.description == "Serves files from /app/data/public."
    assert manifest.icon == "file://logo.png"
    assert manifest.tags == ["web", "hosting"]
    assert manifest.changelog == "* First release"
    assert manifest.post_install_message == "Log in as admin / changeme"
    assert manifest.upstream_version == "1.25.3"
    assert manifest.website == "https://hearth.example/apps/staticsite"
    assert set(manifest.scheduler) == {"refresh_feeds", "weekly-report"}


def test_accepts_a_minimal_manifest_with_defaults():
    manifest = validate_manifest(MINIMAL)

    assert manifest.memory_limit == DEFAULT_MEMORY_LIMIT == 256 * 1024 * 1024
    assert manifest.addons == {}
    assert manifest.scheduler == {}
    assert manifest.capabilities == []
    assert manifest.tcp_ports == {}
    assert manifest.udp_ports == {}
    assert manifest.log_paths == []
    assert manifest.runtime_dirs == []
    assert manifest.multi_domain is False
    assert manifest.optional_sso is False
    assert manifest.tags == []
    assert manifest.tagline == ""
    assert manifest.website == ""


def test_every_known_addon_accepts_empty_options():
    manifest = validate_manifest({**MINIMAL, "addons": {name: {} for name in ADDON_OPTIONS}})

    assert set(manifest.addons) == set(ADDON_OPTIONS)


def test_manifest_is_not_changed_by_later_edits_to_the_input():
    data = json.loads(json.dumps(FULL))
    manifest = validate_manifest(data)

    data["addons"]["mysql"]["multipleDatabases"] = "yes"
    manifest.addons["redis"]["noPassword"] = "yes"

    assert manifest.addons["mysql"] == {"multipleDatabases": True}
    assert manifest.addons["redis"] == {"noPassword": False}


def test_error_message_lists_all_errors_joined_by_semicolons():
    error = ManifestError(["a: one", "b: two"])

    assert error.errors == ["a: one", "b: two"]
    assert str(error) == "a: one; b: two"
    assert isinstance(error, ValueError)


def test_rejects_missing_required_field_at_the_root():
    assert errors_for(healthCheckPath=None) == ['(root): missing required field "healthCheckPath"']


def test_rejects_a_top_level_value_that_is_not_an_object():
    with pytest.raises(ManifestError) as caught:
        validate_manifest(["not", "a", "manifest"])

    assert caught.value.errors == ["(root): expected a JSON object, got a list"]


def test_rejects_wrong_manifest_version():
    assert errors_for(manifestVersion=1) == ["manifestVersion: expected 2, got 1"]


def test_rejects_unknown_top_level_field_with_suggestion():
    assert errors_for(httpPorts=80) == [
        '(root): unknown field "httpPorts" — did you mean "httpPort"?'
    ]


def test_rejects_unknown_top_level_field_without_a_far_fetched_suggestion():
    assert errors_for(favouriteColour="blue") == ['(root): unknown field "favouriteColour"']


def test_rejects_http_port_given_as_a_string():
    assert errors_for(httpPort="80") == [
        'httpPort: expected an integer between 1 and 65535, got "80"'
    ]


@pytest.mark.parametrize("port", [0, 65536, 80.0, True])
def test_rejects_http_port_out_of_range_or_not_a_whole_number(port):
    assert errors_for(httpPort=port) == [
        f"httpPort: expected an integer between 1 and 65535, got {json.dumps(port)}"
    ]


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "1.0.0.0", "latest"])
def test_rejects_version_that_is_not_semver(version):
    assert errors_for(version=version) == [
        f'version: "{version}" is not a valid semantic version '
        "(expected MAJOR.MINOR.PATCH, e.g. 1.0.0)"
    ]


@pytest.mark.parametrize("version", ["0.0.1", "2.10.3-beta.1", "1.0.0+build.5"])
def test_accepts_semver_with_prerelease_and_build_metadata(version):
    assert validate_manifest({**MINIMAL, "version": version}).version == version


def test_rejects_min_box_version_that_is_not_semver():
    assert errors_for(minBoxVersion="7") == [
        'minBoxVersion: "7" is not a valid semantic version '
        "(expected MAJOR.MINOR.PATCH, e.g. 1.0.0)"
    ]


@pytest.mark.parametrize(
    "app_id", ["staticsite", "io.Hearth.site", "io.hearth.", "io..hearth", "io.-hearth", "io_x.y"]
)
def test_rejects_id_that_is_not_reverse_domain(app_id):
    assert errors_for(id=app_id) == [
        "id: expected a reverse-domain id of lowercase labels separated by dots, "
        f'e.g. "io.hearth.staticsite", got "{app_id}"'
    ]


@pytest.mark.parametrize("app_id", ["io.hearth", "com.example.my-app", "org.w3c.a1.b2"])
def test_accepts_reverse_domain_ids(app_id):
    assert validate_manifest({**MINIMAL, "id": app_id}).id == app_id


def test_rejects_health_check_path_without_leading_slash():
    assert errors_for(healthCheckPath="healthz") == [
        'healthCheckPath: expected a path starting with "/", got "healthz"'
    ]


def test_rejects_empty_title():
    assert errors_for(title="") == ['title: expected a non-empty string, got ""']


@pytest.mark.parametrize("limit", [1024, 65 * 1024**3, "512M"])
def test_rejects_memory_limit_outside_32_mib_to_64_gib(limit):
    assert errors_for(memoryLimit=limit) == [
        "memoryLimit: expected a number of bytes between 33554432 (32 MiB) "
        f"and 68719476736 (64 GiB), got {json.dumps(limit)}"
    ]


def test_rejects_website_that_is_not_an_http_url():
    assert errors_for(website="javascript:alert(1)") == [
        'website: "javascript:alert(1)" is not a valid URL '
        "(expected http:// or https:// followed by a host)"
    ]


def test_rejects_media_link_that_is_not_a_url_with_its_index():
    assert errors_for(mediaLinks=["https://ok.example/a.png", "screenshot.png"]) == [
        'mediaLinks[1]: "screenshot.png" is not a valid URL '
        "(expected http:// or https:// followed by a host)"
    ]


def test_rejects_contact_email_without_at_sign():
    assert errors_for(contactEmail="nobody") == [
        'contactEmail: "nobody" is not a valid email address'
    ]


def test_rejects_relative_log_path_with_its_index():
    assert errors_for(logPaths=["/run/app.log", "logs/app.log"]) == [
        'logPaths[1]: expected an absolute path starting with "/", got "logs/app.log"'
    ]


def test_rejects_unknown_capability_with_suggestion():
    (message,) = errors_for(capabilities=["chwon"])

    assert message.startswith('capabilities[0]: expected one of "audit_write", "chown",')
    assert message.endswith('got "chwon" — did you mean "chown"?')


def test_rejects_sys_admin_capability_without_suggesting_another():
    (message,) = errors_for(capabilities=["sys_admin"])

    assert message.startswith("capabilities[0]: expected one of")
    assert message.endswith('got "sys_admin"')


def test_rejects_duplicate_capability():
    assert errors_for(capabilities=["chown", "kill", "chown"]) == [
        'capabilities: "chown" is listed more than once'
    ]


def test_rejects_unknown_addon_with_suggestion():
    assert errors_for(addons={"mysq": {}}) == [
        'addons: unknown addon "mysq" — did you mean "mysql"?'
    ]


def test_rejects_unknown_addon_option_with_suggestion():
    assert errors_for(addons={"mysql": {"multipleDatabase": True}}) == [
        'addons.mysql: unknown option "multipleDatabase" — did you mean "multipleDatabases"?'
    ]


def test_rejects_options_on_an_addon_that_has_none():
    assert errors_for(addons={"ldap": {"url": "ldap://x"}}) == ['addons.ldap: unknown option "url"']


def test_rejects_addon_options_that_are_not_an_object():
    assert errors_for(addons={"redis": True}) == [
        "addons.redis: expected an object of options, got true"
    ]


def test_rejects_addon_option_of_wrong_type():
    assert errors_for(addons={"redis": {"noPassword": "yes"}}) == [
        'addons.redis.noPassword: expected true or false, got "yes"'
    ]


def test_rejects_oidc_signature_algorithm_with_case_insensitive_suggestion():
    assert errors_for(addons={"oidc": {"tokenSignatureAlgorithm": "rs256"}}) == [
        "addons.oidc.tokenSignatureAlgorithm: expected one of "
        '"RS256", "EdDSA", got "rs256" — did you mean "RS256"?'
    ]


def test_rejects_oidc_login_redirect_that_is_not_a_path():
    assert errors_for(addons={"oidc": {"loginRedirectUri": "/ok, https://evil.example"}}) == [
        "addons.oidc.loginRedirectUri: expected a path starting with "
        '"/", or several separated by commas, got "/ok, https://evil.example"'
    ]


def test_rejects_scheduler_job_missing_command():
    assert errors_for(addons={"scheduler": {"cleanup": {"schedule": "0 3 * * *"}}}) == [
        'addons.scheduler.cleanup: missing required field "command"'
    ]


def test_rejects_scheduler_job_name_with_uppercase_letters():
    job = {"schedule": "0 3 * * *", "command": "/app/code/cleanup"}

    assert errors_for(addons={"scheduler": {"CleanUp": job}}) == [
        'addons.scheduler: invalid job name "CleanUp" '
        '(expected lowercase letters, digits, "_" or "-")'
    ]


@pytest.mark.parametrize(
    "schedule",
    [
        "* * * *",
        "* * * * * *",
        "@daily",
        "60 * * * *",
        "* 24 * * *",
        "0 0 0 * *",
        "*/0 * * * *",
        "5-1 * * * *",
        "² * * * *",
        "0 0 * foo *",
        "0 0 ? * *",
        "",
    ],
)
def test_rejects_scheduler_job_with_invalid_cron_schedule(schedule):
    jobs = {"cleanup": {"schedule": schedule, "command": "/app/code/cleanup"}}

    assert errors_for(addons={"scheduler": jobs}) == [
        f'addons.scheduler.cleanup.schedule: "{schedule}" is not a valid cron schedule '
        '(expected 5 fields: minute hour day-of-month month day-of-week, e.g. "*/15 * * * *")'
    ]


@pytest.mark.parametrize(
    "schedule",
    ["* * * * *", "*/5 * * * *", "0 3 * * sun", "0,30 8-18/2 1,15 jan-jun 1-5", "59 23 31 12 7"],
)
def test_accepts_common_cron_schedules(schedule):
    jobs = {"cleanup": {"schedule": schedule, "command": "/app/code/cleanup"}}

    assert validate_manifest({**MINIMAL, "addons": {"scheduler": jobs}}).scheduler == jobs


def test_rejects_tcp_port_with_bad_env_name_unknown_field_and_range():
    ports = {"ssh": {"title": "SSH", "defaultValue": 70000, "protocol": "tcp"}}

    assert errors_for(tcpPorts=ports) == [
        'tcpPorts: invalid environment variable name "ssh" '
        "(expected uppercase letters, digits and underscores, starting with a letter)",
        'tcpPorts.ssh: unknown field "protocol"',
        "tcpPorts.ssh.defaultValue: expected an integer between 1 and 65535, got 70000",
    ]


def test_rejects_udp_port_missing_default_value():
    assert errors_for(udpPorts={"TURN_PORT": {"title": "TURN"}}) == [
        'udpPorts.TURN_PORT: missing required field "defaultValue"'
    ]


def test_reports_multiple_errors_together_sorted_by_path():
    errors = errors_for(
        version="1.0",
        httpPort="80",
        title=None,
        addons={"mysq": {}},
        tags=["ok"] + [1] * 10,
    )

    assert errors == [
        '(root): missing required field "title"',
        'addons: unknown addon "mysq" — did you mean "mysql"?',
        'httpPort: expected an integer between 1 and 65535, got "80"',
        *[f"tags[{index}]: expected a string, got 1" for index in range(1, 11)],
        'version: "1.0" is not a valid semantic version (expected MAJOR.MINOR.PATCH, e.g. 1.0.0)',
    ]


def test_unusual_keys_are_quoted_in_the_path():
    ports = {"MY PORT": {"title": 5, "defaultValue": 80}}

    assert 'tcpPorts["MY PORT"].title: expected a string, got 5' in errors_for(tcpPorts=ports)


def test_does_not_dump_huge_values_into_messages():
    (message,) = errors_for(version="9" * 10_000)

    assert len(message) < 200


def test_any_of_failures_are_described_by_the_closest_branch():
    schema = {
        "anyOf": [
            {"type": "object", "properties": {"port": {"type": "integer", "x-expected": "a port"}}},
            {"type": "string", "x-expected": "a string"},
        ]
    }
    (error,) = Draft202012Validator(schema).iter_errors({"port": "80"})

    assert list(_describe_error(error)) == [(("port",), 'expected a port, got "80"')]


def test_parses_manifest_json_text():
    assert parse_manifest(json.dumps(MINIMAL)) == Manifest(data=MINIMAL)


def test_invalid_json_reports_line_and_column():
    text = '{\n  "id": "io.hearth.x",\n  "title": "X",\n}\n'

    with pytest.raises(ManifestError) as caught:
        parse_manifest(text)

    assert caught.value.errors == [
        "(root): invalid JSON at line 4, column 1: "
        "Expecting property name enclosed in double quotes"
    ]


def test_parse_validates_after_decoding():
    text = json.dumps({key: value for key, value in MINIMAL.items() if key != "httpPort"})

    with pytest.raises(ManifestError, match='missing required field "httpPort"'):
        parse_manifest(text)


def test_loads_hearth_manifest_from_package_directory(tmp_path):
    (tmp_path / "HearthManifest.json").write_text(json.dumps(FULL), encoding="utf-8")

    assert load_manifest(tmp_path).data == FULL


def test_loads_cloudron_manifest_when_no_hearth_manifest_exists(tmp_path):
    (tmp_path / "CloudronManifest.json").write_text(json.dumps(MINIMAL), encoding="utf-8")

    assert load_manifest(str(tmp_path)).id == "io.hearth.staticsite"


def test_prefers_hearth_manifest_over_cloudron_manifest(tmp_path):
    (tmp_path / "HearthManifest.json").write_text(json.dumps(MINIMAL), encoding="utf-8")
    (tmp_path / "CloudronManifest.json").write_text("not json", encoding="utf-8")

    assert load_manifest(tmp_path).title == "Static Site"


def test_loads_manifest_saved_with_a_byte_order_mark(tmp_path):
    (tmp_path / "HearthManifest.json").write_text(json.dumps(MINIMAL), encoding="utf-8-sig")

    assert load_manifest(tmp_path).id == "io.hearth.staticsite"


def test_missing_manifest_names_both_filenames(tmp_path):
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path)

    for filename in MANIFEST_FILENAMES:
        assert filename in str(caught.value)
    assert MANIFEST_FILENAMES == ("HearthManifest.json", "CloudronManifest.json")


def test_invalid_manifest_file_reports_json_position(tmp_path):
    (tmp_path / "CloudronManifest.json").write_text('{"id": }', encoding="utf-8")

    with pytest.raises(ManifestError, match="line 1, column 8"):
        load_manifest(tmp_path)


def test_manifest_file_that_is_not_utf8_is_rejected(tmp_path):
    (tmp_path / "HearthManifest.json").write_bytes(b'{"title": "\xff"}')

    with pytest.raises(ManifestError, match="not valid UTF-8"):
        load_manifest(tmp_path)
