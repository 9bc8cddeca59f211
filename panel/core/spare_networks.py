"""Networks made ahead of time for the next installs.

An app's own Docker network takes ~0.1 s to create and is named after the app's id. Hearth
keeps a few networks ready under freshly drawn ids; install_app() gives the new app one of
those ids, and the worker finds its network already there. The set of spare ids lives in
Redis: SPOP hands each id to exactly one install, and losing the set only costs speed (the
networks are then removed by reconcile as orphans).
"""

from __future__ import annotations

import logging
import uuid
from functools import cache

import redis
from django.conf import settings

from panel.runtime.containers import get_runtime
from panel.runtime.spec import app_resource_names

log = logging.getLogger(__name__)


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)


def _key() -> str:
    return f"hearth:{settings.HEARTH_INSTANCE}:spare-app-networks"


def take_spare_app_id() -> uuid.UUID | None:
    try:
        value = _redis().spop(_key())
    except redis.RedisError:
        log.warning("no spare network: Redis is unreachable", exc_info=True)
        return None
    return uuid.UUID(value.decode()) if value else None


def return_spare_app_id(app_id: uuid.UUID) -> None:
    """Give an id back when the install that took it was refused."""
    try:
        _redis().sadd(_key(), app_id.hex)
    except redis.RedisError:
        log.warning("could not return spare network %s", app_id.hex, exc_info=True)


def spare_app_ids() -> set[str]:
    return {value.decode() for value in _redis().smembers(_key())}


def prepare_spare_networks(count: int | None = None) -> int:
    """Create networks until `count` are spare; returns how many were made."""
    wanted = settings.HEARTH_SPARE_NETWORKS if count is None else count
    made = 0
    while _redis().scard(_key()) < wanted:
        app_id = uuid.uuid4()
        names = app_resource_names(settings.HEARTH_INSTANCE, app_id.hex)
        get_runtime().ensure_network(names, app_id.hex)
        _redis().sadd(_key(), app_id.hex)
        made += 1
    return made
