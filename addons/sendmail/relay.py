"""The mail relay apps send through until Hearth's mail server exists: an SMTP service on the
host (aiosmtpd) that only takes mail from authenticated apps, from their own address, and
either hands it to the owner's outbound relay (HEARTH_MAIL_SMARTHOST) or keeps it in a Maildir
the owner can read (HEARTH_HOME/mail/outbox).
"""

from __future__ import annotations

import logging
import mailbox
import smtplib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import SMTP as SMTP_POLICY
from ipaddress import IPv4Network, ip_address, ip_network
from pathlib import Path
from urllib.parse import unquote, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from panel.envconfig import env_int, env_str

log = logging.getLogger(__name__)

DEFAULT_PORT = 2525

# aiosmtpd warns on every connection that AUTH is allowed without TLS; see auth_require_tls
# below for why that is so here.
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")


def relay_port() -> int:
    return env_int("HEARTH_MAIL_RELAY_PORT", DEFAULT_PORT)


def smarthost() -> str:
    """smtp://user:password@host:port of the outbound relay, or "" to keep mail locally."""
    return env_str("HEARTH_MAIL_SMARTHOST", "")


@dataclass(frozen=True)
class Sender:
    """An app allowed to send: its login and the one address it may send from."""

    username: str
    mail_from: str
    app_label: str


# Given a username and password, the matching sender or None.
CheckLogin = Callable[[str, str], Sender | None]


class RelayHandler:
    def __init__(self, outbox: Path, forward_to: str = "") -> None:
        outbox.parent.mkdir(parents=True, exist_ok=True)
        self.outbox = mailbox.Maildir(outbox, create=True)
        self.forward_to = forward_to

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        sender: Sender | None = session.auth_data
        if sender is None:
            return "530 5.7.0 Authentication required"
        # An app may not pretend to be another app or the owner.
        if address.lower() != sender.mail_from.lower():
            return f"553 5.7.1 {sender.username} may only send from <{sender.mail_from}>"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        sender: Sender = session.auth_data
        message = message_from_bytes(
            envelope.original_content or envelope.content, policy=SMTP_POLICY
        )
        message["X-Hearth-App"] = sender.app_label
        message["X-Hearth-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        try:
            if self.forward_to:
                _forward(self.forward_to, envelope.mail_from, envelope.rcpt_tos, message)
            else:
                self.outbox.add(message)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("could not deliver mail from %s: %s", sender.username, exc)
            return "451 4.3.0 Delivery failed, try again later"
        log.info("mail from %s to %s accepted", envelope.mail_from, envelope.rcpt_tos)
        return "250 Message accepted for delivery"


def _forward(url: str, mail_from: str, rcpt_tos: list[str], message) -> None:
    parts = urlsplit(url)
    with smtplib.SMTP(parts.hostname, parts.port or 587, timeout=30) as smtp:
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls()
            smtp.ehlo()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message, from_addr=mail_from, to_addrs=rcpt_tos)


def make_authenticator(check_login: CheckLogin, clients: Sequence[IPv4Network]):
    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        # The relay listens on every host address (each app network has its own gateway), but
        # logins are only taken from the app networks: never from the internet.
        peer = ip_address(session.peer[0])
        if not any(peer in network for network in clients):
            log.warning("refused a login from %s: not an app network", peer)
            return AuthResult(success=False, handled=False)
        sender = check_login(auth_data.login.decode(), auth_data.password.decode())
        if sender is None:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=sender)

    return authenticator


def start_relay(
    host: str,
    port: int,
    outbox: Path,
    check_login: CheckLogin,
    clients: Sequence[IPv4Network] = (ip_network("127.0.0.0/8"),),
) -> Controller:
    """Start the relay in a thread; `clients` are the networks logins are accepted from."""
    controller = _controller(host, port, outbox, check_login, clients)
    controller.start()
    return controller


def _controller(
    host: str,
    port: int,
    outbox: Path,
    check_login: CheckLogin,
    clients: Sequence[IPv4Network],
) -> Controller:
    return Controller(
        RelayHandler(outbox, smarthost()),
        hostname=host,
        port=port,
        authenticator=make_authenticator(check_login, clients),
        auth_required=True,
        # Apps reach the relay over their own bridge network, never over the internet; the
        # mail server issue brings STARTTLS.
        auth_require_tls=False,
        server_hostname="hearth-relay",
    )
