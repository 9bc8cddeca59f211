"""Environment overrides: what names and values are refused (and why, by name), how the
dashboard's lines are read, and that a change is saved with its recreate task or not at all."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from panel.core.models import Task
from panel.core.services import ActionRejected
from panel.domains.app_settings import (
    MAX_VALUE_LENGTH,
    check_env_overrides,
    env_lines,
    parse_env_lines,
    set_env_overrides,
)
from panel.runtime.spec import build_container_spec, contract_env

PORTS_MANIFEST = {"tcpPorts": {"SSH_PORT": {"title": "SSH", "defaultValue": 2222}}}


@pytest.fixture
def app(make_app):
    return make_app("wiki", title="Wiki", manifest=PORTS_MANIFEST)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("lower", "x", "lower: a name is upper-case letters"),
        ("1ST", "x", "1ST: a name is upper-case letters"),
        ("A-B", "x", "A-B: a name is upper-case letters"),
        ("", "x", "(empty name): a name is upper-case letters"),
        ("HEARTH_MYSQL_URL", "x", "HEARTH_MYSQL_URL: names starting with HEARTH_ or CLOUDRON_"),
        ("CLOUDRON_APP_ORIGIN", "x", "CLOUDRON_APP_ORIGIN: names starting with HEARTH_"),
        ("HEARTH", "0", "HEARTH: names starting with HEARTH_ or CLOUDRON_"),
        ("SSH_PORT", "22", "SSH_PORT: Hearth sets it to the app's host port"),
        ("NULLED", "a\x00b", "NULLED: the value contains a NUL character"),
        ("HUGE", "x" * (MAX_VALUE_LENGTH + 1), "HUGE: the value is longer than 4096"),
        ("LISTY", ["a"], "LISTY: the value must be text"),
    ],
)
def test_bad_names_and_values_are_refused_by_name(app, name, value, message):
    clean, problems = check_env_overrides(app, {name: value, "GOOD": "yes"})
    assert any(problem.startswith(message) for problem in problems), problems
    assert clean == {"GOOD": "yes"}


@pytest.mark.django_db
def test_good_overrides_pass_and_numbers_become_text(app):
    clean, problems = check_env_overrides(app, {"LOG_LEVEL": "debug", "_X": 3, "EMPTY": ""})
    assert problems == []
    assert clean == {"LOG_LEVEL": "debug", "_X": "3", "EMPTY": ""}


def test_lines_are_read_with_comments_blank_lines_and_equals_in_values():
    values, problems = parse_env_lines("# comment\n\nA=1\nURL=http://x/?a=b\n")
    assert (values, problems) == ({"A": "1", "URL": "http://x/?a=b"}, [])
    _, problems = parse_env_lines("A=1\nnonsense\nA=2")
    assert problems == ["Line 2: write NAME=value.", "Line 3: A is set twice."]
    assert env_lines({"B": "2", "A": "1"}) == "A=1\nB=2"


def test_the_spec_merges_overrides_and_hearths_variables_win():
    hearth = contract_env({"APP_ORIGIN": "https://wiki.example.com"})
    spec = build_container_spec(
        instance="hearth",
        app_hex_id="0123456789abcdef0123456789abcdef",
        image="img",
        fqdn="wiki.example.com",
        http_port=8000,
        memory_limit=1,
        env=hearth,
        env_overrides={"LOG_LEVEL": "debug", "HEARTH_APP_ORIGIN": "https://evil.example"},
    )
    assert spec.env["LOG_LEVEL"] == "debug"
    assert spec.env["HEARTH_APP_ORIGIN"] == "https://wiki.example.com"


@pytest.mark.django_db
def test_saving_overrides_queues_a_recreating_restart(app, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        task = set_env_overrides(app, {"LOG_LEVEL": "debug"})
    app.refresh_from_db()
    assert app.env_overrides == {"LOG_LEVEL": "debug"}
    assert task.kind == Task.Kind.RESTART and task.params["recreate"] is True
    assert app.state == "pending_restart"


@pytest.mark.django_db
def test_a_refused_or_busy_change_saves_nothing(app, django_capture_on_commit_callbacks):
    with pytest.raises(ActionRejected) as caught:
        set_env_overrides(app, {"HEARTH_X": "1"})
    assert "HEARTH_X" in caught.value.errors["env_overrides"]
    with django_capture_on_commit_callbacks(execute=False):
        set_env_overrides(app, {"A": "1"})
    with pytest.raises(ActionRejected) as caught:
        set_env_overrides(app, {"A": "2"})
    assert "busy" in caught.value.errors["env_overrides"]
    app.refresh_from_db()
    assert app.env_overrides == {"A": "1"}
    assert Task.objects.count() == 1


@pytest.mark.django_db
def test_the_app_page_form_names_the_bad_line_and_saves_nothing(app, owner_client):
    url = reverse("domains:app_environment", args=[app.pk])
    response = owner_client.post(url, {"env_overrides": "GOOD=1\nbad name=2"})
    assert response.status_code == 400
    assert "bad name: a name is upper-case letters" in response.content.decode()
    response = owner_client.post(url, {"env_overrides": "GOOD=1\nnope"})
    assert "Line 2: write NAME=value." in response.content.decode()
    app.refresh_from_db()
    assert app.env_overrides == {} and not Task.objects.exists()
    page = owner_client.get(reverse("core:app_detail", args=[app.pk])).content.decode()
    assert 'name="env_overrides"' in page and 'name="host_ports.SSH_PORT"' in page


@pytest.mark.django_db
def test_the_api_reads_and_replaces_overrides(
    app, owner_client, django_capture_on_commit_callbacks
):
    url = reverse("domains_api:app_environment", args=[app.pk])
    assert owner_client.get(url).json() == {"env_overrides": {}}
    response = owner_client.put(
        url, json.dumps({"env_overrides": {"HEARTH_X": "1"}}), content_type="application/json"
    )
    assert response.status_code == 400 and "HEARTH_X" in response.json()["errors"]["env_overrides"]
    with django_capture_on_commit_callbacks(execute=False):
        response = owner_client.put(
            url, json.dumps({"env_overrides": {"MODE": "fast"}}), content_type="application/json"
        )
    assert response.status_code == 202 and response.json()["task"]["kind"] == "restart"
    assert owner_client.get(url).json() == {"env_overrides": {"MODE": "fast"}}
    response = owner_client.put(
        url, json.dumps({"env_overrides": {"MODE": "slow"}}), content_type="application/json"
    )
    assert response.status_code == 409


@pytest.mark.django_db
def test_the_ports_api_changes_ports_and_refuses_with_the_field_named(
    app, owner_client, django_capture_on_commit_callbacks
):
    url = reverse("domains_api:app_ports", args=[app.pk])
    response = owner_client.put(
        url, json.dumps({"host_ports": {"SSH_PORT": 22}}), content_type="application/json"
    )
    assert response.status_code == 400
    assert "port 22 is used by SSH" in response.json()["errors"]["host_ports.SSH_PORT"]
    with django_capture_on_commit_callbacks(execute=False):
        response = owner_client.put(
            url, json.dumps({"host_ports": {"SSH_PORT": 0}}), content_type="application/json"
        )
    assert response.status_code == 400
    assert owner_client.get(url).json() == {"host_ports": {}}
