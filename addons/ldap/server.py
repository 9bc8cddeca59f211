"""Hearth's LDAP server: a read-only directory of users and groups for apps that only speak LDAP.

Who is asking matters: an app binds with its own DN and password (the ldap addon's
credentials), or its container is recognised by its address; a person's bind then succeeds
only if the password is right AND the app's access rule lets them use that app. Searches show
the users that may use the app, and the groups.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import threading
import time
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model

from addons.ldap import directory, protocol
from addons.models import AddonInstance
from panel.accounts.models import AppAccess
from panel.accounts.services import check_person_password, may_use_app
from panel.core.events import record_event
from panel.core.models import AppInstance, Event

log = logging.getLogger(__name__)

SNAPSHOT_SECONDS = 5.0


@dataclass
class Session:
    peer: str
    app: AppInstance | None = None  # the app this connection acts for
    username: str | None = None


class DirectoryServer:
    def __init__(self) -> None:
        self._snapshots: dict[str, tuple[float, list[directory.Entry]]] = {}
        self._refreshing: set[str] = set()
        self._apps_by_address: tuple[float, dict[str, AppInstance]] = (0.0, {})
        self._pool = ipaddress.ip_network(settings.HEARTH_APP_SUBNETS)

    # Who is connecting -------------------------------------------------------------------
    def peer_allowed(self, peer: str) -> bool:
        address = ipaddress.ip_address(peer)
        return address.is_loopback or address in self._pool

    def _app_for_address(self, peer: str) -> AppInstance | None:
        """The app whose container connects from `peer` (apps have fixed addresses)."""
        if ipaddress.ip_address(peer).is_loopback:
            return None  # tools on the host itself act for no app
        stamp, apps = self._apps_by_address
        if time.monotonic() - stamp > 30 or peer not in apps:
            from panel.runtime.containers import get_runtime
            from panel.runtime.spec import app_resource_names, app_slot_addresses

            networks = get_runtime().app_networks()
            apps = {}
            for app in AppInstance.objects.filter(addons__addon="ldap").select_related("domain"):
                names = app_resource_names(settings.HEARTH_INSTANCE, app.id.hex)
                if names.network in networks:
                    # A rolling update moves the app between the two addresses of its own.
                    for address in app_slot_addresses(
                        get_runtime().ensure_network(names, app.id.hex)
                    ):
                        apps[address] = app
            self._apps_by_address = (time.monotonic(), apps)
        return apps.get(peer)

    # Bind --------------------------------------------------------------------------------
    def bind(self, session: Session, request: protocol.BindRequest) -> tuple[int, str]:
        session.username = None
        if request.password is None:
            return protocol.AUTH_METHOD_NOT_SUPPORTED, "only simple binds are supported"
        if not request.dn and not request.password:
            return protocol.SUCCESS, ""  # anonymous: may bind, may not search
        app_dn = directory.normalize_dn(request.dn)
        if app_dn.endswith("," + directory.APPS_DN):
            return self._bind_app(session, app_dn, request.password)
        username = directory.username_from_dn(request.dn)
        if username is None:
            return protocol.INVALID_CREDENTIALS, "unknown DN"
        app = session.app or self._app_for_address(session.peer)
        if app is None:
            return protocol.INVALID_CREDENTIALS, "bind as the app first"
        user = get_user_model().objects.filter(username__iexact=username, is_active=True).first()
        if user is None or not check_person_password(user, request.password, app):
            record_event(
                "sso_refused",
                app=app,
                outcome=Event.Outcome.FAILED,
                message=f"LDAP: wrong password for {username}",
            )
            return protocol.INVALID_CREDENTIALS, "invalid credentials"
        if not may_use_app(user, app):
            record_event(
                "sso_refused",
                app=app,
                actor=user,
                outcome=Event.Outcome.FAILED,
                message="LDAP: not in the app's access rule",
            )
            return protocol.INVALID_CREDENTIALS, "not allowed to use this app"
        session.app = app
        session.username = user.get_username()
        record_event("sso_grant", app=app, actor=user, message="LDAP bind")
        return protocol.SUCCESS, ""

    def _bind_app(self, session: Session, dn: str, password: str) -> tuple[int, str]:
        app_hex = dn.split(",", 1)[0].partition("=")[2]
        instance = (
            AddonInstance.objects.filter(addon="ldap", app__pk=_uuid(app_hex))
            .select_related("app__domain")
            .first()
        )
        expected = instance.credentials.get("bind_password", "") if instance else ""
        if not expected or not hmac.compare_digest(expected, password):
            return protocol.INVALID_CREDENTIALS, "invalid credentials"
        session.app = instance.app
        return protocol.SUCCESS, ""

    # Search ------------------------------------------------------------------------------
    def search(self, session: Session, request: protocol.SearchRequest) -> list[directory.Entry]:
        if session.app is None:
            raise PermissionError("bind first")
        entries = self._entries(session.app)
        return directory.search(
            entries, request.base, request.scope, request.filter, request.size_limit
        )

    def _entries(self, app: AppInstance) -> list[directory.Entry]:
        """The app's view of the directory, rebuilt at most every few seconds.

        A stale snapshot is served while a fresh one is built in the background, so no
        request waits for the rebuild (a second or so with thousands of users); passwords are
        always checked live at bind.
        """
        key = app.id.hex
        stamp, entries = self._snapshots.get(key, (0.0, []))
        if not entries:
            entries = self._build_entries(app)
            self._snapshots[key] = (time.monotonic(), entries)
        elif time.monotonic() - stamp > SNAPSHOT_SECONDS and key not in self._refreshing:
            self._refreshing.add(key)
            threading.Thread(target=self._refresh, args=(app,), daemon=True).start()
        return entries

    def _refresh(self, app: AppInstance) -> None:
        try:
            self._snapshots[app.id.hex] = (time.monotonic(), self._build_entries(app))
        finally:
            self._refreshing.discard(app.id.hex)
            from django.db import connection

            connection.close()

    def _build_entries(self, app: AppInstance) -> list[directory.Entry]:
        from django.contrib.auth.models import Group

        users = get_user_model().objects.filter(is_active=True).prefetch_related("groups")
        allowed = {u.pk for u in users if may_use_app(u, app)} if _restricted(app) else None
        entries = directory.container_entries()
        for user in users:
            if allowed is None or user.pk in allowed:
                entries.append(
                    directory.user_entry(
                        user.get_username(),
                        user.email,
                        user.get_full_name(),
                        [g.name for g in user.groups.all()],
                    )
                )
        for group in Group.objects.prefetch_related("user_set"):
            entries.append(
                directory.group_entry(
                    group.name, [u.get_username() for u in group.user_set.all() if u.is_active]
                )
            )
        return entries


def _restricted(app: AppInstance) -> bool:
    return AppAccess.objects.filter(app=app).exclude(mode=AppAccess.Mode.EVERYONE).exists()


def _uuid(hex_id: str):
    import uuid

    try:
        return uuid.UUID(hex_id)
    except ValueError:
        return None


async def serve_connection(server: DirectoryServer, reader, writer) -> None:
    peer = writer.get_extra_info("peername")[0]
    if not server.peer_allowed(peer):
        writer.close()
        return
    session = Session(peer=peer)
    buffer = b""
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            messages, buffer = protocol.split_messages(buffer + chunk)
            for data in messages:
                if not await _answer(server, session, data, writer):
                    return
            await writer.drain()
    except (protocol.ProtocolViolation, ConnectionError) as exc:
        log.info("closing LDAP connection from %s: %s", peer, exc)
    finally:
        writer.close()


async def _answer(server: DirectoryServer, session: Session, data: bytes, writer) -> bool:
    request = protocol.parse_request(data)
    try:
        return await _dispatch(server, session, request, writer)
    except Exception:  # noqa: BLE001 - one bad request must not end the connection
        log.exception("LDAP request %s from %s failed", type(request).__name__, session.peer)
        answer = {
            protocol.BindRequest: "bindResponse",
            protocol.SearchRequest: "searchResDone",
        }.get(type(request))
        if answer:
            writer.write(protocol.result(request.message_id, answer, protocol.OPERATIONS_ERROR))
        return True


async def _dispatch(server: DirectoryServer, session: Session, request, writer) -> bool:
    if isinstance(request, protocol.UnbindRequest):
        return False
    if isinstance(request, protocol.BindRequest):
        code, message = await sync_to_async(server.bind)(session, request)
        writer.write(protocol.bind_response(request.message_id, code, message))
        return True
    if isinstance(request, protocol.SearchRequest):
        try:
            found = await sync_to_async(server.search)(session, request)
        except PermissionError:
            writer.write(
                protocol.search_done(
                    request.message_id, protocol.INSUFFICIENT_ACCESS, "bind as the app first"
                )
            )
            return True
        for entry in found:
            attributes = directory.select_attributes(entry, request.attributes, request.types_only)
            writer.write(protocol.search_entry(request.message_id, entry.dn, attributes))
        writer.write(protocol.search_done(request.message_id))
        return True
    answer = protocol.refusal(request)
    if answer is not None:
        writer.write(answer)
    return True


async def run(host: str, port: int) -> None:
    server = DirectoryServer()
    listener = await asyncio.start_server(
        lambda r, w: serve_connection(server, r, w), host=host, port=port
    )
    log.info("LDAP directory listening on %s:%s", host, port)
    async with listener:
        await listener.serve_forever()
