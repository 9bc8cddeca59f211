"""Settings for the test suite: fast hashing and in-memory layers for unit tests, but the
same real dockerd, registry, Redis and nginx for the end-to-end ones.

Everything the tests create in Docker and nginx carries the `hearthtest` prefix and lives
under its own HEARTH_HOME, so the suite can run beside a live Hearth on the same host.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("HEARTH_INSTANCE", "hearthtest")
os.environ.setdefault("HEARTH_SECRET_KEY", "test-secret-key-not-for-production")
_test_home = Path(tempfile.gettempdir()) / "hearth-test"
os.environ.setdefault("HEARTH_HOME", str(_test_home))
os.environ.setdefault("HEARTH_HTTP_LISTEN", "127.0.0.1:18080")
os.environ.setdefault("HEARTH_REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("HEARTH_HEALTH_TIMEOUT", "60")

from panel.settings import *  # noqa: E402,F403
from panel.settings import DATABASES, HEARTH_HOME  # noqa: E402

HEARTH_HOME.mkdir(parents=True, exist_ok=True)
(HEARTH_HOME / "staticfiles").mkdir(exist_ok=True)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The real Redis layer (on the test database number): pushes cross from the worker process
# and from the push thread's own event loop, which an in-memory layer cannot do.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [os.environ["HEARTH_REDIS_URL"]]},
    }
}

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so the Celery worker process the e2e tests start sees the rows.
    DATABASES["default"]["TEST"] = {"NAME": str(HEARTH_HOME / "test-db.sqlite3")}
