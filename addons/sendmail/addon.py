"""sendmail: SMTP credentials so the app can send mail through Hearth's relay on the host."""

from __future__ import annotations

import secrets

from django.conf import settings

from addons.base import Addon
from addons.models import AddonInstance
from addons.registry import register
from addons.sendmail.relay import Sender, relay_port
from panel.core.models import AppInstance
from panel.runtime import services as runtime_services
from panel.runtime.firewall import allow_app_to_host_port
from panel.runtime.spec import app_resource_names


def mail_from(app: AppInstance) -> str:
    return f"{app.subdomain}.app@{app.domain.name}"


@register
class SendmailAddon(Addon):
    name = "sendmail"
    description = "SMTP credentials to send mail through Hearth from the app's own address."
    variables = (
        "MAIL_SMTP_SERVER",
        "MAIL_SMTP_PORT",
        "MAIL_SMTPS_PORT",
        "MAIL_SMTP_USERNAME",
        "MAIL_SMTP_PASSWORD",
        "MAIL_FROM",
        "MAIL_FROM_DISPLAY_NAME",
        "MAIL_DOMAIN",
    )
    options = {
        "supportsDisplayName": "MAIL_FROM_DISPLAY_NAME is set to the app's title",
        "requiresValidCertificate": "accepted; the relay is reached on the app's own network",
    }

    def start_service(self) -> None:
        # The relay runs on the host (supervisord's mailrelay program); apps may reach only
        # that one host port.
        allow_app_to_host_port(relay_port())

    def provision(self, app: AppInstance, instance: AddonInstance) -> None:
        instance.ensure_credentials({"username": mail_from(app), "password": secrets.token_hex(24)})
        allow_app_to_host_port(relay_port())

    def env(self, app: AppInstance, instance: AddonInstance) -> dict[str, str]:
        network = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex).network
        values = {
            # The host's address on the app's own network: the one host address it may reach.
            "MAIL_SMTP_SERVER": runtime_services.network_gateway(network),
            "MAIL_SMTP_PORT": str(relay_port()),
            # No implicit-TLS port until the mail server exists; apps should use MAIL_SMTP_PORT.
            "MAIL_SMTPS_PORT": "",
            "MAIL_SMTP_USERNAME": instance.credentials["username"],
            "MAIL_SMTP_PASSWORD": instance.credentials["password"],
            "MAIL_FROM": mail_from(app),
            "MAIL_DOMAIN": app.domain.name,
        }
        if instance.options.get("supportsDisplayName"):
            values["MAIL_FROM_DISPLAY_NAME"] = app.title
        return values

    def teardown(self, app: AppInstance, instance: AddonInstance) -> None:
        # Deleting the row is enough: the relay checks logins against these rows.
        return None


def find_sender(username: str, password: str) -> Sender | None:
    """The app whose sendmail login this is, for the relay."""
    instance = (
        AddonInstance.objects.filter(
            addon=SendmailAddon.name,
            state=AddonInstance.State.READY,
            credentials__username=username,
        )
        .select_related("app__domain")
        .first()
    )
    if instance is None or not secrets.compare_digest(
        instance.credentials.get("password", ""), password
    ):
        return None
    return Sender(username=username, mail_from=mail_from(instance.app), app_label=str(instance.app))
