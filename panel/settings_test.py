"""Settings for the test suite: fast hashing for unit tests, but the same real dockerd,
registry, Redis and nginx for the end-to-end ones.

Each test session is a Hearth of its own: its instance name (the prefix of everything it
creates in Docker), data folder, nginx port, Celery queue and Channels prefix are derived from
the session's process id, so sessions can run side by side and beside a live Hearth. The
values go into the environment, where the Celery worker the session starts inherits them.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


_session = os.environ.setdefault("HEARTH_TEST_SESSION", str(os.getpid()))
os.environ.setdefault("HEARTH_INSTANCE", f"hearthtest{_session}")
os.environ.setdefault("HEARTH_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("HEARTH_HOME", str(Path(tempfile.gettempdir()) / f"hearth-test-{_session}"))
os.environ.setdefault("HEARTH_HTTP_LISTEN", f"127.0.0.1:{_free_port()}")
# Host ports this session picked and opens to app containers; it closes them at its end.
_session_ports: list[int] = []


def _session_port(name: str, template: str = "{}") -> None:
    if name not in os.environ:
        port = _free_port()
        os.environ[name] = template.format(port)
        _session_ports.append(port)


# App containers reach the dashboard (OIDC) through their network's gateway: every address.
_session_port("HEARTH_INTERNAL_LISTEN", "0.0.0.0:{}")
# The LDAP directory of this session (apps get this port in HEARTH_LDAP_PORT).
_session_port("HEARTH_LDAP_PORT")
# Where nginx finds the panel (login wall checks): tests that need it serve it there.
os.environ.setdefault("HEARTH_PANEL_BIND", f"127.0.0.1:{_free_port()}")
os.environ.setdefault("HEARTH_REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("HEARTH_HEALTH_TIMEOUT", "60")

from panel.settings import *  # noqa: E402,F403

HEARTH_TEST_SESSION_PORTS = tuple(_session_ports)
from panel.settings import DATABASES, HEARTH_HOME, HEARTH_INSTANCE  # noqa: E402

HEARTH_HOME.mkdir(parents=True, exist_ok=True)
(HEARTH_HOME / "staticfiles").mkdir(exist_ok=True)

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "panel.accounts.hashers.GeneratedSecretHasher",
]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CELERY_TASK_DEFAULT_QUEUE = f"tasks-{HEARTH_INSTANCE}"
# Firewall tests load rulesets into network namespaces they make, never into the host's.
HEARTH_FIREWALL_ON_HOST = False
# The real Redis layer: pushes cross from the worker process and from the push thread's own
# event loop, which an in-memory layer cannot do.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [os.environ["HEARTH_REDIS_URL"]], "prefix": f"asgi-{HEARTH_INSTANCE}"},
    }
}

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so the Celery worker process the e2e tests start sees the rows.
    DATABASES["default"]["TEST"] = {"NAME": str(HEARTH_HOME / "test-db.sqlite3")}
