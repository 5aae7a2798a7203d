"""Django settings for keyvault, read from the environment (django-environ).

Secrets have no defaults outside DEBUG: a missing one raises ``ImproperlyConfigured`` naming the
variable. See the configuration table in README.md.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from keyvault import devkeys
from keyvault.accounts import settings as accounts_settings
from keyvault.accounts import sso_settings
from keyvault.api import settings as api_settings
from keyvault.rotation import settings as rotation_settings
from keyvault.vault import settings as vault_settings

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
VAR_DIR = Path(env("KEYVAULT_VAR_DIR", default=str(BASE_DIR / "var")))


def _secret(name: str, dev_file: str, factory: Callable[[], str]) -> str:
    value = env.str(name, default="").strip()
    if value:
        return value
    if DEBUG:
        return devkeys.read_or_create(VAR_DIR / dev_file, factory, label=name)
    raise ImproperlyConfigured(
        f"{name} is not set. It is required when DEBUG is off; see README.md, Configuration."
    )


SECRET_KEY = _secret("SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(50))
KEYVAULT_ENCRYPTION_KEYS = _secret(
    "KEYVAULT_ENCRYPTION_KEYS", "encryption_keys", devkeys.new_encryption_ring_entry
)
KEYVAULT_FINGERPRINT_KEY = _secret(
    "KEYVAULT_FINGERPRINT_KEY", "fingerprint_key", devkeys.new_key_b64
)
# Ed25519 private key (base64 of 32 bytes) signing the audit checkpoints; never in the database.
# Any 32 random bytes are a valid Ed25519 private key, hence the same generator in DEBUG.
KEYVAULT_AUDIT_SIGNING_KEY = _secret(
    "KEYVAULT_AUDIT_SIGNING_KEY", "audit_signing_key", devkeys.new_key_b64
)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    *accounts_settings.APPS,
    *sso_settings.APPS,
    *api_settings.APPS,
    "keyvault",
    "alerts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    *accounts_settings.MIDDLEWARE,
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # django-axes wants to be last.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "keyvault.urls"
WSGI_APPLICATION = "keyvault.wsgi.application"
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
                "keyvault.web.context_processors.roles",
                "keyvault.web.context_processors.sso",
            ],
            # ``day`` and ``moment``: the one date format of every page.
            "builtins": ["keyvault.templatetags.vault"],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Web, worker and beat share one file: wait for locks instead of failing, and take the write
    # lock at BEGIN so a read-then-write transaction cannot deadlock on upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage",
    },
}

# --- Email (reminders) ---
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="keyvault <keyvault@localhost>")

# --- Security ---
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading commits the whole domain and its subdomains to HTTPS in browsers for good:
        # the operator's decision (SECURE_HSTS_PRELOAD=1), not a default of one internal tool.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", *sso_settings.csp_form_action(sso_settings.ISSUER)],
    },
}

# Error pages and error emails never show POSTed secrets or secret settings, DEBUG or not.
DEFAULT_EXCEPTION_REPORTER_FILTER = "keyvault.web.secrecy.AlwaysSafeExceptionReporterFilter"

# Sign-in (django-allauth), its lock-out (django-axes), the reveal limit, invitations.
from keyvault.accounts.settings import *  # noqa: E402, F403

# --- Logging: no request bodies, no secrets; errors to stderr. ---
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
ROOM_SETTINGS = (api_settings, rotation_settings, vault_settings)  # settings of the rooms
vars().update({k: v for room in ROOM_SETTINGS for k, v in room.DJANGO_SETTINGS.items()})
from keyvault.accounts.sso_settings import *  # noqa: E402, F403  KEYVAULT_OIDC_*, SOCIALACCOUNT_*

# --- keyvault ---
KEYVAULT_DUE_SOON_DAYS = env.int("KEYVAULT_DUE_SOON_DAYS", default=30)
KEYVAULT_TOKEN_MAX_BYTES = 4096
KEYVAULT_ROTATION_GRACE_DAYS = env.int("KEYVAULT_ROTATION_GRACE_DAYS", default=7)
KEYVAULT_METRICS_TOKEN = env.str("KEYVAULT_METRICS_TOKEN", default="")
# Live checks (keyvault.vault.guarded_http; beat runs them every INTERVAL, daily by default).
KEYVAULT_CHECK_ALLOW_LOOPBACK = env.bool("KEYVAULT_CHECK_ALLOW_LOOPBACK", default=False)
KEYVAULT_CHECK_CA_FILE = env.str("KEYVAULT_CHECK_CA_FILE", default="")
KEYVAULT_CHECK_TIMEOUT_SECONDS = env.float("KEYVAULT_CHECK_TIMEOUT_SECONDS", default=10)
KEYVAULT_CHECK_INTERVAL_SECONDS = env.int("KEYVAULT_CHECK_INTERVAL_SECONDS", default=86400)
KEYVAULT_IMPORT_MAX_BYTES = env.int("KEYVAULT_IMPORT_MAX_BYTES", default=10 * 1024 * 1024)
KEYVAULT_IMPORT_MAX_ROWS = env.int("KEYVAULT_IMPORT_MAX_ROWS", default=20_000)  # read in memory


# Signed audit checkpoints: appended to this file after every N-th audit event and by beat. Not
# a secret, but where the log's anchor lives is a decision (another host, append-only storage),
# so there is no silent default outside DEBUG.
KEYVAULT_AUDIT_CHECKPOINT_FILE = devkeys.path_or_refuse(
    env.str("KEYVAULT_AUDIT_CHECKPOINT_FILE", default=""),
    dev_default=VAR_DIR / "audit-checkpoints.jsonl" if DEBUG else None,
    refusal="KEYVAULT_AUDIT_CHECKPOINT_FILE is not set. It is required when DEBUG is off: a file "
    "off the database host, on append-only storage; see README.md, Audit log integrity.",
)
KEYVAULT_AUDIT_CHECKPOINT_EVERY = env.int("KEYVAULT_AUDIT_CHECKPOINT_EVERY", default=1000)
if KEYVAULT_AUDIT_CHECKPOINT_EVERY < 1:
    raise ImproperlyConfigured("KEYVAULT_AUDIT_CHECKPOINT_EVERY must be at least 1 (events)")
KEYVAULT_AUDIT_CHECKPOINT_INTERVAL_SECONDS = env.int(
    "KEYVAULT_AUDIT_CHECKPOINT_INTERVAL_SECONDS", default=3600
)

# --- Reminders (alerts) ---


def _int_list(name: str, default: str) -> tuple[int, ...]:
    raw = env.str(name, default=default)
    try:
        return tuple(int(part) for part in raw.split(","))
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be comma-separated whole numbers of days, e.g. {default}"
        ) from None


# Days before expiry; then one reminder a day while expired. Integrations may override.
KEYVAULT_REMINDER_THRESHOLDS = _int_list("KEYVAULT_REMINDER_THRESHOLDS", "30,14,7,3,1,0")
# How often beat runs the reminder scan; /healthz and the dashboard call the scan stale after
# KEYVAULT_SCAN_STALE_PERIODS periods without one.
KEYVAULT_SCAN_INTERVAL_SECONDS = env.int("KEYVAULT_SCAN_INTERVAL_SECONDS", default=900)
KEYVAULT_SCAN_STALE_PERIODS = env.int("KEYVAULT_SCAN_STALE_PERIODS", default=3)
# Delivery attempts per reminder before it is marked failed, and the backoff between them:
# base * 2^(attempt-1), at most KEYVAULT_REMINDER_RETRY_MAX_SECONDS (a provider's Retry-After
# is honoured up to that cap). Defaults: 1, 2, 4, ... 60 minutes apart, about two hours in all.
KEYVAULT_REMINDER_MAX_ATTEMPTS = env.int("KEYVAULT_REMINDER_MAX_ATTEMPTS", default=8)
KEYVAULT_REMINDER_RETRY_BASE_SECONDS = env.float("KEYVAULT_REMINDER_RETRY_BASE_SECONDS", default=60)
KEYVAULT_REMINDER_RETRY_MAX_SECONDS = env.float("KEYVAULT_REMINDER_RETRY_MAX_SECONDS", default=3600)
# A delivery still "sending" after this long belongs to a worker that died mid-send: the next
# scan re-opens it. Far longer than any send (transport timeouts are seconds); the delivery
# task's hard time limit is kept below it so a hung send is killed before it is re-opened.
KEYVAULT_REMINDER_CLAIM_TIMEOUT_SECONDS = env.float(
    "KEYVAULT_REMINDER_CLAIM_TIMEOUT_SECONDS", default=600
)
# A pending reminder handed to the broker that has not run this long after it was due is taken
# for lost (a Redis restarted without persistence) and handed over again. Messages waiting for
# a worker are not lost, so this is long: workers down for an hour leave one message per row.
KEYVAULT_REMINDER_REQUEUE_SECONDS = env.float("KEYVAULT_REMINDER_REQUEUE_SECONDS", default=7200)

# Weekly digests: what they list ahead of expiry, how often beat looks for digests due, and how
# late (scheduler down) a digest may still go out; later than that, that week's is skipped.
KEYVAULT_DIGEST_WINDOW_DAYS = env.int("KEYVAULT_DIGEST_WINDOW_DAYS", default=60)
KEYVAULT_DIGEST_SCAN_INTERVAL_SECONDS = env.int(
    "KEYVAULT_DIGEST_SCAN_INTERVAL_SECONDS", default=900
)
KEYVAULT_DIGEST_CATCH_UP_HOURS = env.float("KEYVAULT_DIGEST_CATCH_UP_HOURS", default=24)

# --- Celery ---
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Embedded broker for `make run`: a folder, no server. It has no redelivery; the reminder
    # outbox in the database is the record of what is owed, so a lost message is re-sent.
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
else:
    # Redis redelivers a message that was taken but not acknowledged after visibility_timeout.
    # A retry waiting for its countdown (ETA) is held unacknowledged by the worker, so the
    # timeout must outlast the longest countdown plus the longest run, or Redis hands the same
    # retry to a second worker (harmless thanks to the claim, but wasteful). One hour of margin.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int(
            "CELERY_VISIBILITY_TIMEOUT",
            default=int(
                KEYVAULT_REMINDER_RETRY_MAX_SECONDS + KEYVAULT_REMINDER_CLAIM_TIMEOUT_SECONDS + 3600
            ),
        ),
    }
# Reliability, on purpose:
# - acks_late: a message is acknowledged after the task ran, not when a worker took it, so a
#   worker that dies mid-task leaves it to be redelivered (Redis) instead of losing it.
# - reject_on_worker_lost: a task whose pool process was killed is requeued rather than
#   acknowledged as failed. Safe because delivery claims its outbox row first: a redelivered
#   task finds the row no longer pending and stops.
# - prefetch_multiplier=1: a worker reserves one message per process, so a slow send does not
#   hold other reminders hostage in its prefetch buffer.
# - cancel_long_running_tasks_on_connection_loss=False: a send in progress when the broker
#   connection drops runs to completion and records its outcome in the outbox; cancelling it
#   could stop it after the provider accepted the message but before the row was marked sent.
# None of this is the record of what is owed: the reminder outbox in the database is, and a
# scan re-enqueues a pending row whose message was never sent or must have been lost (the
# filesystem broker never redelivers; see alerts.scan).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing (beat, scan enqueueing deliveries) gives up quickly when the broker is down: the
# outbox keeps the work and the next scan enqueues it again.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}
# The reminder scan. Run exactly one beat; a second one is harmless (the outbox's unique key and
# the scan's lock) but pointless. A scan not started within a period (at least a minute) is
# dropped, so scans queued during an outage do not pile up: the next one does the same work.
CELERY_BEAT_SCHEDULE["alerts-reminders-scan"] = {
    "task": "alerts.tasks.scan_reminders",
    "schedule": timedelta(seconds=KEYVAULT_SCAN_INTERVAL_SECONDS),
    "options": {"expires": max(KEYVAULT_SCAN_INTERVAL_SECONDS, 60)},
}
# Weekly digests: each channel's is owed from its day and hour (TIME_ZONE) on, so a check every
# KEYVAULT_DIGEST_SCAN_INTERVAL_SECONDS sends it at most that late. Dropped when late, like scans.
CELERY_BEAT_SCHEDULE["alerts-digests-scan"] = {
    "task": "alerts.tasks.scan_digests",
    "schedule": timedelta(seconds=KEYVAULT_DIGEST_SCAN_INTERVAL_SECONDS),
    "options": {"expires": max(KEYVAULT_DIGEST_SCAN_INTERVAL_SECONDS, 60)},
}
# Old secrets are wiped once their rotation grace period is over; hourly is plenty.
CELERY_BEAT_SCHEDULE["keyvault-destroy-retired-secrets"] = {
    "task": "keyvault.tasks.destroy_retired_secrets",
    "schedule": timedelta(hours=1),
}
CELERY_BEAT_SCHEDULE["keyvault-check-credentials"] = {
    "task": "keyvault.tasks.check_credentials",
    "schedule": timedelta(seconds=KEYVAULT_CHECK_INTERVAL_SECONDS),
}
CELERY_BEAT_SCHEDULE.update({k: v for r in ROOM_SETTINGS for k, v in r.BEAT_SCHEDULE.items()})
# A signed audit checkpoint at least this often, however few events there were: it bounds how
# much of the log is protected by the hash chain alone. A late run is dropped (the next one
# signs the same, newer head).
CELERY_BEAT_SCHEDULE["keyvault-audit-checkpoint"] = {
    "task": "keyvault.tasks.write_audit_checkpoint",
    "schedule": timedelta(seconds=KEYVAULT_AUDIT_CHECKPOINT_INTERVAL_SECONDS),
    "options": {"expires": max(KEYVAULT_AUDIT_CHECKPOINT_INTERVAL_SECONDS, 60)},
}
