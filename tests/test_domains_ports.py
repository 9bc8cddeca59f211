"""Host ports for tcpPorts/udpPorts: the install form's fields and every refusal, each named
after the field it is about and leaving nothing behind."""

from __future__ import annotations

import socket

import pytest
from django.urls import reverse

from apps_store.forms import InstallForm
from panel.core.models import AppInstance, Event, Task
from panel.core.services import ActionRejected, install_app
from panel.domains.firewall import app_ports
from panel.domains.ports import check_host_ports, declared_ports, hearth_ports, port_is_bound
from panel.runtime.spec import port_bindings, port_env, published_ports

MANIFEST = {
    "tcpPorts": {
        "SSH_PORT": {"title": "Git SSH", "description": "For git push.", "defaultValue": 2222},
        "RANGE_PORT": {"title": "Relay", "defaultValue": 40000, "portCount": 3},
    },
    "udpPorts": {
        "DNS_PORT": {"title": "DNS", "defaultValue": 53, "containerPort": 5353},
    },
}


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def release(db, publish):
    return publish("tcpecho")


def nothing_created() -> bool:
    return not (
        AppInstance.objects.exists()
        or Task.objects.exists()
        or Event.objects.filter(app_label__icontains="echo").exists()
    )


def test_declared_ports_list_title_description_default_and_protocol():
    ports = {port.name: port for port in declared_ports(MANIFEST)}
    assert ports["SSH_PORT"].protocols == ("tcp",)
    assert (ports["SSH_PORT"].title, ports["SSH_PORT"].description) == ("Git SSH", "For git push.")
    assert ports["RANGE_PORT"].count == 3
    assert ports["DNS_PORT"].protocols == ("udp",) and ports["DNS_PORT"].default == 53


def test_the_container_publishes_the_chosen_ports_and_the_app_is_told_the_host_port():
    ports = published_ports(MANIFEST, {"SSH_PORT": 2223, "RANGE_PORT": 41000, "DNS_PORT": 53})
    # No containerPort: the app listens on the host port it is told (Cloudron's contract).
    assert port_bindings(ports) == {
        "2223/tcp": 2223,
        "41000/tcp": 41000,
        "41001/tcp": 41001,
        "41002/tcp": 41002,
        "5353/udp": 53,
    }
    assert port_env(ports) == {"SSH_PORT": "2223", "RANGE_PORT": "41000", "DNS_PORT": "53"}


def test_the_firewall_opens_the_ports_apps_chose_not_the_manifest_defaults():
    opened = app_ports([(MANIFEST, {"SSH_PORT": 2223, "RANGE_PORT": 41000}), ({}, {})])
    assert opened.tcp == frozenset({2223, 41000, 41001, 41002})
    # Declared but given no host port: not published, so not opened.
    assert opened.udp == frozenset()


def test_the_install_form_has_one_field_per_declared_port_with_its_default():
    form = InstallForm(manifest=MANIFEST)
    field = form.fields["host_ports.SSH_PORT"]
    assert field.initial == 2222
    assert "Git SSH" in field.label and "TCP" in field.label
    assert field.help_text == "For git push."
    assert "3 consecutive ports" in form.fields["host_ports.RANGE_PORT"].label
    assert "UDP" in form.fields["host_ports.DNS_PORT"].label


@pytest.mark.django_db
def test_hearths_own_ports_come_from_settings(settings):
    settings.HEARTH_SSH_PORT = 2200
    settings.HEARTH_PANEL_BIND = "127.0.0.1:8123"
    used = hearth_ports()
    assert used[2200] == "SSH" and used[80] == "HTTP" and used[443] == "HTTPS"
    assert used[8123] == "the Hearth dashboard"
    assert used[int(settings.HEARTH_REGISTRY.rsplit(":", 1)[1])] == "the image registry"
    assert int(settings.HEARTH_HTTP_LISTEN.rsplit(":", 1)[1]) in used


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("port", "message"),
    [
        (80, "port 80 is used by HTTP"),
        (22, "port 22 is used by SSH"),
        (5000, "port 5000 is used by the image registry"),
        (1023, "choose a port between 1024 and 65535"),
        (65536, "choose a port between 1024 and 65535"),
        ("ssh", "enter a port number"),
    ],
)
def test_refused_ports_are_named_with_the_reason(port, message):
    _, errors = check_host_ports(MANIFEST, {"SSH_PORT": port})
    assert message in errors["host_ports.SSH_PORT"]
    assert errors["host_ports.SSH_PORT"].startswith("Git SSH: ")


@pytest.mark.django_db
def test_the_dashboard_and_ldap_ports_are_refused(settings):
    _, errors = check_host_ports(MANIFEST, {"SSH_PORT": hearth_ports_by_name("the Hearth dash")})
    assert "used by the Hearth dashboard" in errors["host_ports.SSH_PORT"]
    _, errors = check_host_ports(MANIFEST, {"SSH_PORT": hearth_ports_by_name("the LDAP")})
    assert "used by the LDAP directory" in errors["host_ports.SSH_PORT"]


def hearth_ports_by_name(what: str) -> int:
    return next(port for port, used_by in hearth_ports().items() if used_by.startswith(what))


@pytest.mark.django_db
def test_a_range_must_fit_below_65536_and_a_packaged_low_port_is_allowed():
    _, errors = check_host_ports(MANIFEST, {"RANGE_PORT": 65534})
    assert "between 1024 and 65533 (3 consecutive ports)" in errors["host_ports.RANGE_PORT"]
    _, errors = check_host_ports(MANIFEST, {"DNS_PORT": 53})
    assert "choose a port" not in errors.get("host_ports.DNS_PORT", "")
    _, errors = check_host_ports(MANIFEST, {"DNS_PORT": 52})
    assert "choose a port between 53 and 65535" in errors["host_ports.DNS_PORT"]


@pytest.mark.django_db
def test_a_port_of_another_app_is_refused_with_that_apps_name(make_app):
    make_app("git", title="Gitea", manifest=MANIFEST, host_ports={"RANGE_PORT": 45000})
    _, errors = check_host_ports(MANIFEST, {"SSH_PORT": 45002})
    assert errors["host_ports.SSH_PORT"] == (
        "Git SSH: tcp port 45002 is already used by Gitea at git.localhost (RANGE_PORT)."
    )
    # Same number, other protocol: free.
    _, errors = check_host_ports(MANIFEST, {"DNS_PORT": 45000})
    assert "host_ports.DNS_PORT" not in errors


@pytest.mark.django_db
def test_two_ports_of_one_app_cannot_overlap():
    port = free_port()
    _, errors = check_host_ports(MANIFEST, {"SSH_PORT": port, "RANGE_PORT": port - 1})
    assert "also chosen for Git SSH" in errors["host_ports.RANGE_PORT"]


@pytest.mark.django_db
def test_a_port_a_program_on_this_host_listens_on_is_refused():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert port_is_bound("tcp", port)
        _, errors = check_host_ports(MANIFEST, {"SSH_PORT": port})
    assert "already in use on this server" in errors["host_ports.SSH_PORT"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("0.0.0.0", 0))  # noqa: S104
        assert port_is_bound("udp", udp.getsockname()[1])


@pytest.mark.django_db
def test_an_apps_own_ports_stay_allowed_when_it_changes_them(make_app):
    with socket.socket() as listener:  # stands for the app's own published port
        listener.bind(("0.0.0.0", 0))  # noqa: S104
        listener.listen()
        port = listener.getsockname()[1]
        app = make_app("git", manifest=MANIFEST, host_ports={"SSH_PORT": port})
        chosen, errors = check_host_ports(
            MANIFEST, {"SSH_PORT": port, "RANGE_PORT": free_port()}, app=app
        )
    assert "host_ports.SSH_PORT" not in errors and chosen["SSH_PORT"] == port


@pytest.mark.django_db
def test_unknown_port_names_are_refused():
    _, errors = check_host_ports(MANIFEST, {"NOPE": 3000})
    assert errors["host_ports"].startswith("NOPE: not a port this app declares")


def test_install_without_ports_uses_the_defaults_and_refuses_a_taken_one(
    release, domain, make_app, django_capture_on_commit_callbacks
):
    port = free_port()
    make_app("other", title="Other", manifest=release.manifest, host_ports={"ECHO_PORT": port})
    count = AppInstance.objects.count()
    with pytest.raises(ActionRejected) as caught:
        install_app(
            release=release,
            subdomain="echo",
            domain=domain,
            host_ports={"ECHO_PORT": port, "UDP_ECHO_PORT": free_port(socket.SOCK_DGRAM)},
        )
    assert "already used by Other" in caught.value.errors["host_ports.ECHO_PORT"]
    assert AppInstance.objects.count() == count and not Task.objects.exists()
    udp = free_port(socket.SOCK_DGRAM)
    with django_capture_on_commit_callbacks(execute=False):
        app = install_app(
            release=release,
            subdomain="echo",
            domain=domain,
            host_ports={"ECHO_PORT": free_port(), "UDP_ECHO_PORT": udp},
        )
    assert app.host_ports["UDP_ECHO_PORT"] == udp


def test_install_form_shows_port_fields_and_refuses_with_the_field_named(
    release, domain, owner_client
):
    url = reverse("apps_store:install", args=["io.hearth.test.tcpecho"])
    page = owner_client.get(url).content.decode()
    assert 'name="host_ports.ECHO_PORT"' in page and 'value="7000"' in page
    assert "Sends back every line it receives." in page
    response = owner_client.post(
        url,
        {
            "subdomain": "echo",
            "domain": domain.pk,
            "host_ports.ECHO_PORT": "22",
            "host_ports.UDP_ECHO_PORT": "7001",
        },
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "port 22 is used by SSH" in form.errors["host_ports.ECHO_PORT"][0]
    assert nothing_created()


def test_api_install_takes_host_ports_and_names_the_refused_one(release, domain, owner_client):
    response = owner_client.post(
        reverse("core:api_apps"),
        {
            "store_app_id": "io.hearth.test.tcpecho",
            "subdomain": "echo",
            "domain": domain.name,
            "host_ports": {"ECHO_PORT": 443},
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "443 is used by HTTPS" in response.json()["errors"]["host_ports.ECHO_PORT"]
    response = owner_client.post(
        reverse("core:api_apps"),
        {"store_app_id": "io.hearth.test.tcpecho", "domain": domain.name, "host_ports": [1]},
        content_type="application/json",
    )
    assert response.status_code == 400 and "host_ports" in response.json()["errors"]
    assert nothing_created()
