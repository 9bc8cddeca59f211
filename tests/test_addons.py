"""The addon registry, the manifest side of addons, the scheduler's cron matching and the mail
relay (a real aiosmtpd server on a loopback port, a real smtplib client)."""

from __future__ import annotations

import mailbox
import smtplib
import socket
from datetime import UTC, datetime
from ipaddress import ip_network

import pytest
from django.core.management import call_command

from addons.models import AddonInstance
from addons.registry import all_addons, get_addon
from addons.scheduler.schedule import due_jobs, minute_key
from addons.sendmail.relay import Sender, start_relay
from addons.services import AddonProvisioningFailed, provision_app_addons
from apps_store.manifest import ADDON_OPTIONS, ManifestError, validate_manifest
from panel.core.models import AppInstance

MANIFEST = {
    "manifestVersion": 2,
    "id": "io.example.app",
    "title": "App",
    "version": "1.0.0",
    "healthCheckPath": "/",
    "httpPort": 8000,
}


def test_every_registered_addon_describes_itself_and_is_known_to_the_manifest_schema():
    addons = all_addons()
    names = [a.name for a in addons]
    assert names == sorted(names)
    assert set(names) >= {"localstorage", "mysql", "postgresql", "redis", "scheduler", "sendmail"}
    for addon in addons:
        assert addon.description and len(addon.description) < 160, addon.name
        assert addon.name in ADDON_OPTIONS
        schema = ADDON_OPTIONS[addon.name]
        if addon.name != "scheduler":
            # The options the registry documents are exactly those the schema accepts.
            assert set(addon.options) == set(schema.get("properties", {})), addon.name


def test_the_variables_each_addon_documents_follow_the_contract_names():
    assert set(get_addon("mysql").variables) >= {
        "MYSQL_URL",
        "MYSQL_USERNAME",
        "MYSQL_PASSWORD",
        "MYSQL_HOST",
        "MYSQL_PORT",
        "MYSQL_DATABASE",
    }
    assert set(get_addon("redis").variables) == {
        "REDIS_URL",
        "REDIS_HOST",
        "REDIS_PORT",
        "REDIS_PASSWORD",
    }
    assert "MAIL_SMTP_SERVER" in get_addon("sendmail").variables


def test_an_unknown_addon_or_option_fails_manifest_validation():
    with pytest.raises(ManifestError, match='unknown addon "mysqll"'):
        validate_manifest({**MANIFEST, "addons": {"mysqll": {}}})
    with pytest.raises(ManifestError, match='unknown option "noPasword"'):
        validate_manifest({**MANIFEST, "addons": {"redis": {"noPasword": True}}})
    with pytest.raises(ManifestError, match="cron"):
        validate_manifest(
            {
                **MANIFEST,
                "addons": {"scheduler": {"job": {"schedule": "61 * * * *", "command": "x"}}},
            }
        )


@pytest.mark.django_db
def test_an_addon_this_hearth_does_not_provide_is_refused_before_anything_is_created(domain):
    missing = sorted(set(ADDON_OPTIONS) - {addon.name for addon in all_addons()})[0]
    app = AppInstance.objects.create(
        store_app_id="io.example.app",
        title="App",
        version="1.0.0",
        manifest={**MANIFEST, "addons": {"mysql": {}, missing: {}}},
        image="example",
        subdomain="unprovided",
        domain=domain,
        memory_limit=64 * 1024 * 1024,
    )
    with pytest.raises(AddonProvisioningFailed, match=f'"{missing}" addon'):
        provision_app_addons(app)
    assert not AddonInstance.objects.filter(app=app).exists()


@pytest.mark.django_db
def test_provisioning_inside_a_transaction_works_without_threads(domain):
    jobs = {"tick": {"schedule": "* * * * *", "command": "true"}}
    app = AppInstance.objects.create(
        store_app_id="io.example.app",
        title="App",
        version="1.0.0",
        manifest={**MANIFEST, "addons": {"scheduler": jobs}},
        image="example",
        subdomain="intransaction",
        domain=domain,
        memory_limit=64 * 1024 * 1024,
    )
    provision_app_addons(app)  # the test's transaction is open: rows are not committed yet
    instance = AddonInstance.objects.get(app=app)
    assert instance.state == AddonInstance.State.READY
    assert instance.options == jobs


def test_scheduler_runs_a_job_once_in_each_minute_its_schedule_matches():
    jobs = {
        "every": {"schedule": "* * * * *", "command": "a"},
        "quarter": {"schedule": "*/15 * * * *", "command": "b"},
        "mondays": {"schedule": "30 4 * * mon", "command": "c"},
    }
    at_0415_monday = datetime(2026, 11, 23, 4, 15, tzinfo=UTC)
    assert due_jobs(jobs, at_0415_monday, {}) == ["every", "quarter"]
    ran = {"every": minute_key(at_0415_monday)}
    assert due_jobs(jobs, at_0415_monday, ran) == ["quarter"]
    assert due_jobs(jobs, datetime(2026, 11, 23, 4, 30, tzinfo=UTC), ran) == [
        "every",
        "mondays",
        "quarter",
    ]
    assert due_jobs(jobs, datetime(2026, 11, 24, 4, 31, tzinfo=UTC), ran) == ["every"]


# The relay, for real, on a free loopback port ---------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def relay(tmp_path):
    senders = {("app1", "pw1"): Sender("app1", "www.app@example.com", "App 1")}
    port = _free_port()
    controller = start_relay(
        "127.0.0.1", port, tmp_path / "outbox", lambda user, pw: senders.get((user, pw))
    )
    yield port, tmp_path / "outbox"
    controller.stop()


def test_the_relay_keeps_mail_from_an_authenticated_app_in_the_outbox(relay):
    port, outbox = relay
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.login("app1", "pw1")
        smtp.sendmail(
            "www.app@example.com",
            ["owner@example.com"],
            "From: www.app@example.com\r\nSubject: hi\r\n\r\nbody\r\n",
        )
    [message] = list(mailbox.Maildir(outbox, create=False))
    assert message["Subject"] == "hi"
    assert message["X-Hearth-App"] == "App 1"


def test_the_relay_refuses_strangers_wrong_passwords_and_forged_senders(relay):
    port, outbox = relay
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp.sendmail("www.app@example.com", ["x@example.com"], "Subject: x\r\n\r\nx\r\n")
        assert refused.value.smtp_code == 530
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login("app1", "wrong")
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.login("app1", "pw1")
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp.sendmail("boss@example.com", ["x@example.com"], "Subject: x\r\n\r\nx\r\n")
        assert refused.value.smtp_code == 553
    assert list(mailbox.Maildir(outbox, create=True)) == []


def test_the_relay_takes_logins_only_from_the_app_networks(tmp_path):
    port = _free_port()
    controller = start_relay(
        "127.0.0.1",
        port,
        tmp_path / "outbox",
        lambda user, pw: Sender("app1", "www.app@example.com", "App 1"),
        clients=[ip_network("172.16.0.0/16")],
    )
    try:
        with (
            smtplib.SMTP("127.0.0.1", port) as smtp,
            pytest.raises(smtplib.SMTPAuthenticationError),
        ):
            smtp.login("app1", "pw1")
    finally:
        controller.stop()


def test_the_supervisor_config_runs_the_mail_relay(tmp_path):
    path = tmp_path / "supervisord.conf"
    call_command("writesupervisorconf", str(path))
    text = path.read_text()
    assert "[program:mailrelay]" in text
    assert "manage.py runmailrelay" in text


class _Collector:
    """An outbound relay stand-in: a real SMTP server that keeps what it is handed."""

    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.envelopes.append(envelope)
        return "250 OK"


def test_the_relay_hands_mail_to_the_configured_outbound_relay(tmp_path, monkeypatch):
    from aiosmtpd.controller import Controller

    collector = _Collector()
    outbound_port = _free_port()
    outbound = Controller(collector, hostname="127.0.0.1", port=outbound_port)
    outbound.start()
    monkeypatch.setenv("HEARTH_MAIL_SMARTHOST", f"smtp://127.0.0.1:{outbound_port}")
    port = _free_port()
    relay = start_relay(
        "127.0.0.1",
        port,
        tmp_path / "outbox",
        lambda user, pw: Sender("app1", "www.app@example.com", "App 1"),
    )
    try:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.login("app1", "pw1")
            smtp.sendmail(
                "www.app@example.com",
                ["someone@example.org"],
                "From: www.app@example.com\r\nSubject: out\r\n\r\nbody\r\n",
            )
    finally:
        relay.stop()
        outbound.stop()
    [envelope] = collector.envelopes
    assert envelope.mail_from == "www.app@example.com"
    assert envelope.rcpt_tos == ["someone@example.org"]
    assert b"X-Hearth-App: App 1" in envelope.content
    assert list(mailbox.Maildir(tmp_path / "outbox")) == []  # forwarded, not kept
