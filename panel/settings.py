"""Hearth's settings, driven by environment variables (see panel.envconfig)."""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url

from panel.envconfig import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
HEARTH_HOME = Path(env_str("HEARTH_HOME", str(BASE_DIR / "var")))


def _secret_key() -> str:
    configured = env_str("HEARTH_SECRET_KEY", "")
    if configured:
        return configured
    # Generated once per host and kept beside the data, so sessions survive restarts.
    path = HEARTH_HOME / "secret_key"
    if not path.exists():
        HEARTH_HOME.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()


def _oidc_private_key() -> str:
    """The RSA key Hearth's OpenID Connect provider signs ID tokens with, made once."""
    path = HEARTH_HOME / "oidc_private_key.pem"
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        HEARTH_HOME.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_bytes(pem)
    return path.read_text()


IDP_OIDC_PRIVATE_KEY = _oidc_private_key()
IDP_OIDC_ADAPTER = "addons.oidc.adapter.HearthOIDCAdapter"
DEBUG = env_bool("HEARTH_DEBUG", False)

# The domain a fresh install serves on: *.localhost resolves to loopback in browsers and curl.
HEARTH_DEFAULT_DOMAIN = env_str("HEARTH_DOMAIN", "localhost")
HEARTH_DASHBOARD_SUBDOMAIN = "my"
ALLOWED_HOSTS = env_list("HEARTH_ALLOWED_HOSTS", ["*"])
CSRF_TRUSTED_ORIGINS = env_list(
    "HEARTH_CSRF_TRUSTED_ORIGINS", ["http://my.localhost", "https://my.localhost"]
)

# Names of everything Hearth creates in Docker start with this, so two Hearths (or the test
# suite beside a running platform) never touch each other's containers.
HEARTH_INSTANCE = env_str("HEARTH_INSTANCE", "hearth")
HEARTH_REGISTRY = env_str("HEARTH_REGISTRY", "127.0.0.1:5000")
HEARTH_DOCKER_URL = env_str("HEARTH_DOCKER_URL", "unix:///var/run/docker.sock")
# Private range carved into one /27 per app network (fixed app addresses, see runtime.spec);
# outside Docker's default pools (172.17-31.0.0/16, 192.168.0.0/16).
HEARTH_APP_SUBNETS = env_str("HEARTH_APP_SUBNETS", "172.16.0.0/16")
# App networks created ahead of the installs that will use them (see core.spare_networks).
HEARTH_SPARE_NETWORKS = env_int("HEARTH_SPARE_NETWORKS", 1)

HEARTH_NGINX_BINARY = env_str("HEARTH_NGINX_BINARY", "/usr/sbin/nginx")
HEARTH_NGINX_DIR = Path(env_str("HEARTH_NGINX_DIR", str(HEARTH_HOME / "nginx")))
HEARTH_HTTP_LISTEN = env_str("HEARTH_HTTP_LISTEN", "80")
# Where app containers reach the dashboard (OIDC back channel) through their gateway: the
# same socket on a real server; a separate all-interfaces port where HTTP is on loopback only.
HEARTH_INTERNAL_LISTEN = env_str("HEARTH_INTERNAL_LISTEN", HEARTH_HTTP_LISTEN)
HEARTH_PANEL_BIND = env_str("HEARTH_PANEL_BIND", "127.0.0.1:8001")

HEARTH_HEALTH_TIMEOUT = env_int("HEARTH_HEALTH_TIMEOUT", 120)
# A rolling update waits this long for nginx to finish the requests it sent to the old
# container before stopping it (long-lived connections are cut after it).
HEARTH_UPDATE_DRAIN_SECONDS = env_int("HEARTH_UPDATE_DRAIN_SECONDS", 10)
HEARTH_DEFAULT_MEMORY_LIMIT = 256 * 1024 * 1024

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "allauth.idp.oidc",
    "panel.core",
    "panel.accounts",
    "panel.domains",
    "panel.monitoring",
    "panel.backups",
    "apps_store",
    "addons",
    "mail",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "panel.accounts.middleware.RequireSecondFactorMiddleware",
    # Times in the reader's time zone (a cookie: chosen, or the browser's).
    "panel.monitoring.timezones.TimezoneMiddleware",
]

ROOT_URLCONF = "panel.urls"
ASGI_APPLICATION = "panel.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "panel.accounts.context_processors.permissions",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{HEARTH_HOME / 'db.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The worker and the panel write the same file: wait for the lock instead of failing, and
    # use the write-ahead log so readers never block the writer (and commits skip an fsync).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
# Accounts are made by the owner, never by strangers on the internet.
ACCOUNT_ADAPTER = "panel.core.accounts.ClosedSignupAdapter"
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "/accounts/login/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/accounts/login/"

# Argon2 for new and changed passwords; older hashes are upgraded at the next login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    # Only for secrets Hearth generates (OIDC client secrets), never for people's passwords.
    "panel.accounts.hashers.GeneratedSecretHasher",
]
# Failed logins slow an attacker down per address and per account; password reset has its
# own limit, so an owner locked out of logging in can still recover by email.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "login": "30/m/ip",
    "reset_password": "20/m/ip,5/m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = False
USERSESSIONS_TRACK_ACTIVITY = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# "15 Jan 2026, 21:00 JST": 24-hour, with the zone (panel/monitoring/formats/en/formats.py).
FORMAT_MODULE_PATH = ["panel.monitoring.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = HEARTH_HOME / "staticfiles"
# Front-end libraries come from npm (package.json) and are served straight from node_modules.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/uplot", BASE_DIR / "node_modules" / "uplot" / "dist"),
    ("vendor/xterm", BASE_DIR / "node_modules" / "@xterm" / "xterm"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

REDIS_URL = env_str("HEARTH_REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "reconcile": {"task": "core.reconcile", "schedule": 60.0},
    "spare-networks": {"task": "core.prepare_spare_networks", "schedule": 600.0},
    # Syncs every configured store, then marks installed apps that have a newer release.
    "store-sync": {"task": "apps_store.sync_stores", "schedule": 4 * 3600.0},
    # Inside the owner's update window: one app with auto-update on is updated per run.
    "auto-updates": {"task": "apps_store.apply_auto_updates", "schedule": 300.0},
    # Every minute: the scheduler addon runs the cron jobs due in it (once per job and minute).
    "addons-scheduler": {"task": "addons.run_due_scheduler_jobs", "schedule": 60.0},
    # Monitoring: every app's health (down, OOM, restart loop) and the resource graphs.
    "monitoring-health": {"task": "monitoring.check_health", "schedule": 60.0},
    "monitoring-metrics": {"task": "monitoring.sample_metrics", "schedule": 60.0},
    "monitoring-rotate-logs": {"task": "monitoring.rotate_logs", "schedule": 600.0},
    # Every minute: each backup target's scheduled backups and integrity check, when due.
    "backup-schedules": {"task": "backups.run_schedules", "schedule": 60.0},
}

# Outbound mail for alerts to admins: the owner's SMTP relay.
EMAIL_BACKEND = env_str("HEARTH_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("HEARTH_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = env_int("HEARTH_SMTP_PORT", 25)
EMAIL_HOST_USER = env_str("HEARTH_SMTP_USER", "")
EMAIL_HOST_PASSWORD = env_str("HEARTH_SMTP_PASSWORD", "")
EMAIL_USE_TLS = env_bool("HEARTH_SMTP_STARTTLS", False)
EMAIL_USE_SSL = env_bool("HEARTH_SMTP_TLS", False)
EMAIL_TIMEOUT = env_int("HEARTH_SMTP_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("HEARTH_MAIL_FROM", "Hearth <hearth@localhost>")

# App Store: the key this Hearth signs its releases with (made on first use), the stores it
# syncs its catalog from (by default its own panel, which serves the bundled store), and the
# keys of other stores it trusts besides its own (base64 Ed25519 public keys).
HEARTH_STORE_SIGNING_KEY_PATH = Path(
    env_str("HEARTH_STORE_SIGNING_KEY_PATH", str(HEARTH_HOME / "store_signing_key"))
)
HEARTH_STORE_URLS = env_list("HEARTH_STORE_URLS", [f"http://{HEARTH_PANEL_BIND}"])
HEARTH_STORE_TRUSTED_KEYS = env_list("HEARTH_STORE_TRUSTED_KEYS", [])
HEARTH_STORE_SYNC_TIMEOUT = env_int("HEARTH_STORE_SYNC_TIMEOUT", 20)

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL]},
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"docker": {"level": "WARNING"}, "urllib3": {"level": "WARNING"}},
}

SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Domains, DNS and TLS. The HTTPS listener of Hearth's nginx; the addresses app records point
# at (a domain may override them); the ACME CA (Let's Encrypt unless told otherwise) and the
# CA bundle to trust its API with (empty: the system's); renewal this many days before expiry.
# A Hearth on another HTTP port (a bench, a second instance) has no HTTPS unless told where,
# so it never competes for port 443.
HEARTH_HTTPS_LISTEN = env_str("HEARTH_HTTPS_LISTEN", "443" if HEARTH_HTTP_LISTEN == "80" else "")
HEARTH_PUBLIC_IPV4 = env_str("HEARTH_PUBLIC_IPV4", "")
HEARTH_PUBLIC_IPV6 = env_str("HEARTH_PUBLIC_IPV6", "")
HEARTH_ACME_DIRECTORY = env_str(
    "HEARTH_ACME_DIRECTORY", "https://acme-v02.api.letsencrypt.org/directory"
)
HEARTH_ACME_CA_BUNDLE = env_str("HEARTH_ACME_CA_BUNDLE", "")
HEARTH_ACME_EMAIL = env_str("HEARTH_ACME_EMAIL", "")
HEARTH_CERT_RENEW_DAYS = env_int("HEARTH_CERT_RENEW_DAYS", 30)
CELERY_BEAT_SCHEDULE["certificate-renewal"] = {
    "task": "domains.renew_certificates",
    "schedule": 3600.0,
}
# Dynamic DNS: where the host asks for its public IPv4 address (the body is the address).
HEARTH_PUBLIC_IP_URL = env_str("HEARTH_PUBLIC_IP_URL", "https://api.ipify.org")
CELERY_BEAT_SCHEDULE["dynamic-dns"] = {"task": "domains.update_dynamic_dns", "schedule": 300.0}
# Old locations kept as redirects for the days the owner chose.
CELERY_BEAT_SCHEDULE["redirect-expiry"] = {"task": "domains.expire_redirects", "schedule": 3600.0}
# Firewall (manage.py applyfirewall): SSH stays open; extra TCP ports (mail, once it is on).
HEARTH_SSH_PORT = env_int("HEARTH_SSH_PORT", 22)
HEARTH_FIREWALL_EXTRA_TCP = [int(p) for p in env_list("HEARTH_FIREWALL_EXTRA_TCP", [])]
# HEARTH_FIREWALL=off leaves the host's firewall to the owner (a machine with its own rules);
# off in the test settings too: a test session never loads the host's firewall.
HEARTH_FIREWALL_ON_HOST = env_bool("HEARTH_FIREWALL", True)
# Where Hearth's firewall lives when not in the host's own network namespace.
HEARTH_FIREWALL_NETNS = env_str("HEARTH_FIREWALL_NETNS", "")
