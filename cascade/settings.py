"""Cascade settings, read from the environment.

With no environment at all this is a working development setup: SQLite next to
the code, Celery tasks run inline, email printed to the console. Production uses
this same file with other variables (see README, "Configuration").
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    value = os.getenv(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: str) -> int:
    value = os.getenv(name, default)
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", "true")
SECRET_KEY = os.getenv("SECRET_KEY", "")
if not DEBUG and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
    # Sessions, password-reset links and CSRF tokens are signed with it: a short or
    # repetitive key can be guessed. Django's own check would only warn.
    raise ImproperlyConfigured(
        "SECRET_KEY must be at least 50 characters, with at least 5 different ones, when "
        'DEBUG is off. Make one with: python -c "import secrets; print(secrets.token_urlsafe(50))"'
    )
if not SECRET_KEY:
    SECRET_KEY = "dev-only-not-secret-cascade"

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = os.getenv("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # First, so its createsuperuser (which checks the password rules without a terminal
    # too) is the one `manage.py createsuperuser` runs.
    "org",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "log_request_id",
    "audit",
    "goals",
    "kpis",
    "cycles",
    "reviews",
    "pages",
    "demo",
    "identity",
]

MIDDLEWARE = [
    # First, so every log line of the request carries its id (LOG_REQUEST_ID_HEADER).
    "core.middleware.ValidRequestIdMiddleware",
    "log_request_id.middleware.RequestIDMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.PrivateResponsesMiddleware",
    # RateLimit-Policy and RateLimit on the API's answers, from its throttles (core/throttles.py).
    "core.throttles.RateLimitFields",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "core.middleware.RefuseNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "audit.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.middleware.InPlaceAnswersMiddleware",
    "org.middleware.MembershipMiddleware",
    # Ends a session idle too long, too old, or ended by a role change (org/sessions.py).
    "org.sessions.SessionLimitsMiddleware",
    # Holds a session at the two-factor code page, or at enrolment, until done (identity/mfa.py).
    "identity.mfa.MfaMiddleware",
    # Last, so it sees a refused sign-in flagged anywhere below (README, "Security").
    "axes.middleware.AxesMiddleware",
]

# Server-Timing header with time and SQL queries per request (benchmarks/, dev tools).
SERVER_TIMING = envbool("SERVER_TIMING", "false")
if SERVER_TIMING:
    MIDDLEWARE.insert(0, "cascade.timing.ServerTimingMiddleware")

ROOT_URLCONF = "cascade.urls"
WSGI_APPLICATION = "cascade.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "org.context_processors.notifications",
            ],
        },
    },
]

_database_url = os.getenv("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
try:
    DATABASES = {
        "default": dj_database_url.parse(_database_url, conn_max_age=envint("DB_CONN_MAX_AGE", "0"))
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL I know: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # bin/run's web server and worker share the file. Write-ahead logging lets them read
    # while the other writes. A transaction takes the write lock as it begins
    # (IMMEDIATE), so it waits for another's write to commit (up to 20 s) instead of
    # failing with "database is locked" when its reads turn out to be older than that
    # write; no transaction waits on the network (a webhook's receiver, the mail server).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=20, init_command="PRAGMA journal_mode=WAL;", transaction_mode="IMMEDIATE"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A cache shared by every web process (Redis) lets pages reuse whole-cycle summaries
# until the cycle changes. Without CACHE_URL each process caches only for itself, so
# nothing that must agree across processes is cached.
CACHE_URL = os.getenv("CACHE_URL", "")
if CACHE_URL and not CACHE_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured("CACHE_URL must be a redis:// URL")
# A failing Redis degrades to "no cache" (core/cache.py): short timeouts, never an error.
CACHES = {
    "default": {
        "BACKEND": "core.cache.ResilientRedisCache",
        "LOCATION": CACHE_URL,
        "OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 0.3},
    }
    if CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
SHARED_CACHE = bool(CACHE_URL)
# With it, a request reads its session from Redis (written through to the database,
# which answers when Redis does not): one query less on every page.
SESSION_ENGINE = f"django.contrib.sessions.backends.{'cached_db' if SHARED_CACHE else 'db'}"

# A session ends after SESSION_IDLE_MINUTES without a request, and SESSION_MAX_DAYS
# after signing in whatever happens (org/sessions.py); the cookie lasts as long.
SESSION_IDLE_MINUTES = envint("SESSION_IDLE_MINUTES", "120")
SESSION_MAX_DAYS = envint("SESSION_MAX_DAYS", "7")
if SESSION_IDLE_MINUTES < 1 or SESSION_MAX_DAYS < 1:
    raise ImproperlyConfigured("SESSION_IDLE_MINUTES and SESSION_MAX_DAYS must be at least 1")
SESSION_COOKIE_AGE = SESSION_MAX_DAYS * 24 * 60 * 60

# Every door that sets a password applies these (README, "Security"): the reset and
# change pages, the API's members/, createorg, createsuperuser.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Django's sign-in, refusing deactivated members (org/auth.py), behind django-axes.
AUTH_PASSWORD_VALIDATORS.append({"NAME": "org.tokens.RevokeTokensOnPasswordChange"})
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "org.auth.MemberBackend"]

# Sign-in lockout (django-axes, README "Security"): 5 failed attempts for one username,
# or from one address, within 15 minutes lock that username, or that address, out for
# 15 minutes — on the login page and the token endpoint alike.
AXES_FAILURE_LIMIT = envint("SIGNIN_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = dt.timedelta(minutes=envint("SIGNIN_LOCKOUT_MINUTES", "15"))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "org.auth.lockout_response"
# Who may not sign in with a password (org/auth.py asks; identity answers: members of an
# organization whose single sign-on is enforced, SPEC §9.1).
PASSWORD_SIGNIN_CHECK = "identity.enforcement.password_refusal"
# Two-factor authentication (identity/mfa.py): wrong codes count as failed sign-ins above;
# authenticator apps list Cascade's codes under this name.
OTP_TOTP_ISSUER = os.getenv("MFA_ISSUER", "Cascade")
AXES_CLIENT_IP_CALLABLE = "core.net.client_address"
AXES_DISABLE_ACCESS_LOG = True  # failures are kept; successful sign-ins are not logged
AXES_VERBOSE = False
# How many reverse proxies in front of the app append to X-Forwarded-For: 0 trusts
# only the connection's address (sign-in lockout and API throttles key on it).
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", "0")
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.getenv("STATIC_ROOT", BASE_DIR / "staticfiles"))
if not DEBUG:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = envbool("SECURE_COOKIES", "true")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Served over HTTPS (secure cookies): browsers are told to keep to it for a year,
    # and plain-HTTP requests are redirected (not the health checks of the load balancer).
    SECURE_HSTS_SECONDS = envint(
        "SECURE_HSTS_SECONDS", "31536000" if SESSION_COOKIE_SECURE else "0"
    )
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "true")
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "false")
    SECURE_SSL_REDIRECT = envbool(
        "SECURE_SSL_REDIRECT", "true" if SESSION_COOKIE_SECURE else "false"
    )
    SECURE_REDIRECT_EXEMPT = [r"^healthz/"]
    # Joining the browsers' preload list is a decision for whoever owns the domain
    # (SECURE_HSTS_PRELOAD=true), not a default: don't warn about it.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
# Features no page of Cascade uses, switched off for every page (core/middleware.py).
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
    "interest-cohort=(), browsing-topics=()"
)

# Email: console in development; EMAIL_URL (smtp://user:pass@host:port) or the
# usual EMAIL_* variables in production.
EMAIL_BACKEND = os.getenv("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "Cascade <cascade@localhost>")
if os.getenv("EMAIL_URL"):
    _email = urlsplit(os.environ["EMAIL_URL"])
    if _email.scheme not in ("smtp", "smtps", "submission"):
        raise ImproperlyConfigured("EMAIL_URL must start with smtp://, smtps:// or submission://")
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _email.hostname or "localhost"
    EMAIL_PORT = _email.port or (465 if _email.scheme == "smtps" else 587)
    EMAIL_HOST_USER = unquote(_email.username or "")
    EMAIL_HOST_PASSWORD = unquote(_email.password or "")
    EMAIL_USE_SSL = _email.scheme == "smtps"
    EMAIL_USE_TLS = _email.scheme == "submission"
else:
    EMAIL_HOST = os.getenv("EMAIL_HOST", "localhost")
    EMAIL_PORT = envint("EMAIL_PORT", "25")
    EMAIL_HOST_USER = os.getenv("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.getenv("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "false")
# A mail server that stops answering fails the send after this many seconds (per socket
# operation); a run holds an owed email for EMAIL_LEASE_SECONDS (core/email.py), which
# must be longer than a send can take.
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", "30")
EMAIL_LEASE_SECONDS = envint("EMAIL_LEASE_SECONDS", "900")
# How long a review lasts in people's calendars (its invitation's and feed's DTEND).
REVIEW_MINUTES = envint("REVIEW_MINUTES", "60")
if not 5 <= REVIEW_MINUTES <= 24 * 60:
    raise ImproperlyConfigured(f"REVIEW_MINUTES must be from 5 to 1440, not {REVIEW_MINUTES}")

# The weekly digest (reviews/digest.py): each person's goes out on Monday from this hour
# of their own time zone (or the organization's), in batches of DIGEST_BATCH_SIZE.
DIGEST_HOUR = envint("DIGEST_HOUR", "7")
if not 0 <= DIGEST_HOUR <= 23:
    raise ImproperlyConfigured(f"DIGEST_HOUR must be an hour from 0 to 23, not {DIGEST_HOUR}")
DIGEST_BATCH_SIZE = envint("DIGEST_BATCH_SIZE", "500")
if DIGEST_BATCH_SIZE < 1:
    raise ImproperlyConfigured("DIGEST_BATCH_SIZE must be at least 1")

# Celery: with no broker configured every task runs inline (the tests, a shell). bin/run
# names one that needs no service, kombu's filesystem transport (`filesystem://localhost/`:
# a file per message under var/broker), and starts a worker and beat on it.
CELERY_TASK_ALWAYS_EAGER = not os.getenv("CELERY_BROKER_URL")
CELERY_BROKER_URL = os.getenv("CELERY_BROKER_URL") or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = os.getenv("CELERY_RESULT_BACKEND") or None
CELERY_TIMEZONE = "UTC"
# A write must not hang when the broker is down or frozen: try once, briefly, then log.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 0.5
# Redis holds a task a worker took but has not acknowledged (acks late, below) for the
# visibility timeout, then gives it to another worker: a worker killed mid-task, or cut
# off from a frozen Redis, has its task run again within 15 minutes, not kombu's hour:
# 14 minutes, and the workers look for such tasks every minute (`unacked_restore_*`;
# kombu's own pace is every 100 s). A task running longer than this is started a
# second time (the jobs claim and lease their rows, so a second run sends nothing
# twice). A task scheduled further ahead than this (countdown, eta) is given again
# every visibility timeout while it waits, and every copy runs when it is due
# (org/webhooks.py retries up to an hour ahead: deliver_webhook skips a copy whose
# delivery is not due yet).
_VISIBILITY_TIMEOUT = envint("CELERY_VISIBILITY_TIMEOUT", "840")
if _VISIBILITY_TIMEOUT < 1:
    raise ImproperlyConfigured("CELERY_VISIBILITY_TIMEOUT must be at least 1 (seconds)")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 0.5,
    "socket_timeout": 0.5,
    "max_retries": 0,
    "visibility_timeout": _VISIBILITY_TIMEOUT,
    "unacked_restore_interval": min(60, _VISIBILITY_TIMEOUT),
    "unacked_restore_throttle": 1,
}
if CELERY_BROKER_URL.startswith("filesystem:"):
    # The web server and the worker share the folder (the socket options above are
    # Redis's; this transport ignores them). A message leaves the folder when a worker
    # takes it: one killed mid-task loses it, and the sweeps send what was owed.
    _broker_folder = BASE_DIR / "var" / "broker"
    for _folder in ("queue", "control"):
        (_broker_folder / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        data_folder_in=str(_broker_folder / "queue"),
        data_folder_out=str(_broker_folder / "queue"),
        control_folder=str(_broker_folder / "control"),
    )
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A task is acknowledged when it has run, not when it arrives: a worker killed mid-task
# leaves it on the queue for another. The jobs claim their rows and mark an email sent
# only after it went, and a KPI-health notification is keyed by its value, so a rerun
# sends and makes nothing twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Outbound requests (webhooks, KPI data sources; core/egress.py): targets on private,
# loopback or reserved networks are refused unless this is on (a test receiver on
# 127.0.0.1, an intranet). WEBHOOK_ALLOW_PRIVATE is its former name, still read.
OUTBOUND_ALLOW_PRIVATE = envbool(
    "OUTBOUND_ALLOW_PRIVATE", os.getenv("WEBHOOK_ALLOW_PRIVATE", "false")
)
# A KPI data source's answer, connection or query may take this long (kpis/sources.py).
KPI_SOURCE_TIMEOUT = envint("KPI_SOURCE_TIMEOUT", "10")
# Webhook retries double from this pause.
WEBHOOK_RETRY_SECONDS = float(os.getenv("WEBHOOK_RETRY_SECONDS", "30"))

CELERY_BEAT_SCHEDULE = {
    # The outbox (org/outbox.py, SPEC §9.4): what writes owe and no task did (the
    # broker was down, a worker died) is done within a minute or two.
    "outbox-sweep": {
        "task": "org.outbox.sweep_owed_jobs",
        "schedule": crontab(minute="*"),
    },
    # Webhook deliveries whose attempt is overdue (a lost task): tried now.
    "webhook-resend": {
        "task": "org.webhooks.resend_due_webhooks",
        "schedule": crontab(minute="*"),
    },
    # Chat messages (org/chat.py) whose attempt is overdue (a lost task): tried now.
    "chat-resend": {
        "task": "org.chat.resend_due_chat_messages",
        "schedule": crontab(minute="*"),
    },
    # Check-in reminders: idempotent, so a missed or doubled run is harmless.
    "checkin-reminders": {
        "task": "kpis.tasks.send_checkin_reminders",
        "schedule": crontab(minute=0, hour=envint("REMINDER_HOUR_UTC", "7")),
    },
    # Reminder emails still owed (the mail server was down, a worker was killed): every
    # minute, so each goes within a minute of its backoff (5 minutes, doubling up to
    # 6 hours) passing. A minute with nothing owed costs one query per kind.
    "checkin-emails-owed": {
        "task": "kpis.tasks.resend_owed_checkin_emails",
        "schedule": crontab(minute="*"),
    },
    "review-emails-owed": {
        "task": "reviews.tasks.resend_owed_review_emails",
        "schedule": crontab(minute="*"),
    },
    # Calendar invitations, updates and cancellations still owed (reviews/invitations.py):
    # asked for when a review changes; this sends what a lost task or a failed send left.
    "review-invitations-owed": {
        "task": "reviews.tasks.resend_owed_invitations",
        "schedule": crontab(minute="*"),
    },
    # Review reminders: participants of reviews in the next two days, once each.
    "review-reminders": {
        "task": "reviews.tasks.send_review_reminders",
        "schedule": crontab(minute=5, hour=envint("REMINDER_HOUR_UTC", "7")),
    },
    # The weekly digest: every 15 minutes, the people whose Monday DIGEST_HOUR has come
    # (in their time zone) get theirs, once a week; a run also sends what an earlier one
    # left owed (a mail server down, a worker killed) once its backoff has passed.
    "weekly-digests": {
        "task": "reviews.tasks.send_weekly_digests",
        "schedule": crontab(minute="*/15"),
    },
    # Import jobs hold their whole file: deleted after a week (what they imported stays).
    "import-jobs-forget": {
        "task": "kpis.tasks.forget_old_import_jobs",
        "schedule": crontab(minute=45, hour=3),
    },
    # Health moves with the calendar even without new values; also repairs drift.
    "rollup-all-cycles": {
        "task": "kpis.tasks.rollup_all_cycles",
        "schedule": crontab(minute=30, hour="*/6"),
    },
    # The audit log keeps AUDIT_RETENTION_DAYS: older entries go (a rerun finds none).
    "audit-purge": {
        "task": "audit.tasks.purge_old_entries",
        "schedule": crontab(minute=15, hour=4),
    },
    # KPI data sources (kpis/feeds.py): each one due is fetched once for its hour or day.
    "kpi-sources": {
        "task": "kpis.feeds.fetch_due_sources",
        "schedule": crontab(minute="*"),
    },
    # The changes feed keeps deletions, and changes a later one supersedes, 90 days.
    "changes-purge": {
        "task": "org.tasks.purge_old_changes",
        "schedule": crontab(minute=25, hour=4),
    },
}

# Secrets Cascade must send back out (webhook and data-source secrets) are encrypted at
# rest with Fernet (core/crypto.py). FIELD_ENCRYPTION_KEY: one or more comma-separated
# Fernet keys, the first encrypts, all decrypt (rotation: README, "Security"). Without
# one, a key derived from SECRET_KEY (development only: refused with DEBUG off).
FIELD_ENCRYPTION_KEY = envlist("FIELD_ENCRYPTION_KEY", "")
if not DEBUG and not FIELD_ENCRYPTION_KEY:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEY must be set when DEBUG is off. Make one with: "
        'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
    )

# The audit log (audit/): entries older than this many days are purged nightly.
AUDIT_RETENTION_DAYS = envint("AUDIT_RETENTION_DAYS", "730")

REST_FRAMEWORK = {
    # Token first: an anonymous caller gets 401 with `WWW-Authenticate: Token`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "org.drf.MemberTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["org.drf.IsOrganizationMember"],
    # Request bodies are JSON only (SPEC §8.4; anything else is a 415): DRF's parser,
    # with nesting too deep for Python a 400.
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "EXCEPTION_HANDLER": "core.api.api_exception_handler",
    # Per person (or token) and per address; rates from the environment (README).
    "DEFAULT_THROTTLE_CLASSES": ["core.throttles.PerCaller", "core.throttles.PerAddress"],
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_PAGINATION_CLASS": "core.pagination.Pages",  # 50 a page, `page_size` up to 200
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["core.ordering.Ordering"],  # ?ordering=
    "DEFAULT_SCHEMA_CLASS": "cascade.schema.AutoSchema",
}
API_THROTTLE_RATES = {
    "caller": os.getenv("API_RATE_PER_CALLER", "1200/minute"),
    "address": os.getenv("API_RATE_PER_ADDRESS", "3000/minute"),
}
# Hashed API tokens (django-rest-knox, README "Security"): many per person, revocable;
# a token from the token endpoint lasts API_TOKEN_DAYS, 1–365 (org/tokens.py: every
# token expires within a year).
KNOX_TOKEN_MODEL = "org.ApiToken"
# knox's own migrations would create its default token table even though org.ApiToken
# replaces it (and that table would stop PostgreSQL from emptying the users' table).
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_TTL": dt.timedelta(days=min(max(envint("API_TOKEN_DAYS", "90"), 1), 365)),
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_PREFIX": "cas_",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Cascade API",
    "VERSION": "1.0.0",
    # The repository has no open-source license: its code and API are the owner's.
    "LICENSE": {"name": "Proprietary"},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,
    # Operations are grouped by resource (the path after /api/v1/), each tag described.
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "WebhookEventEnum": "org.models.WebhookEvent",
        # Named once, though webhook payloads use them under other names (`from`, `to`).
        "HealthEnum": "goals.models.Health",
        "GoalStateEnum": "goals.models.GoalState",
        "KpiStateEnum": "kpis.models.KpiState",
        "ProtocolEnum": "identity.models.Protocol",
        "ChangeTypeEnum": "org.models.ChangeKind",
        "ChangeActionEnum": "org.models.ChangeAction",
        # A webhook delivery's and a chat message's (org/deliveries.py): one set, one name.
        "DeliveryStateEnum": "org.models.DeliveryState",
    },
    "TAGS": [
        {"name": "auth", "description": "API tokens for a username and password."},
        {"name": "me", "description": "Who the caller is."},
        {"name": "organization", "description": "The organization: its name and time zone."},
        {"name": "members", "description": "The people of the organization (admins manage)."},
        {"name": "departments", "description": "The department tree (admins manage)."},
        {"name": "cycles", "description": "Planning cycles: open, close, roll over."},
        {"name": "goals", "description": "The goal tree: strategic to individual goals."},
        {"name": "kpis", "description": "KPIs and their history of values."},
        {"name": "reviews", "description": "Check-in meetings: agenda, items, actions."},
        {"name": "notifications", "description": "The caller's notifications."},
        {"name": "tokens", "description": "Service tokens for integrations (admins)."},
        {"name": "webhooks", "description": "Events sent to your address, signed (admins)."},
        {
            "name": "chat-targets",
            "description": "Slack and Teams channels Cascade posts news to (admins; managers "
            "for their departments).",
        },
        {"name": "audit", "description": "Who changed what, when, from where (admins)."},
        {"name": "changes", "description": "What changed since a cursor, for incremental sync."},
        {"name": "sso", "description": "Single sign-on settings: OpenID Connect or SAML (admins)."},
    ],
    "SERVERS": [{"url": "/", "description": "This Cascade server (paths start at /api/)."}],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "cascade.schema.type_nullable_enums",
        "cascade.schema.add_error_responses",
        "cascade.schema.add_rate_limit_fields",
        "cascade.schema.add_links",
    ],
    "DESCRIPTION": "Cascade's HTTP API: goals, KPIs and their values, for BI tools and "
    "scripts. Authenticate with a session or `Authorization: Token <key>` "
    "(POST /api/v1/auth/token/; admins create service tokens at /api/v1/tokens/).",
}

# Request ids (django-log-request-id; core/logs.py): a sound incoming X-Request-ID
# (core.middleware.ValidRequestIdMiddleware) or a new one, answered in the response and
# written in every log line of the request and of the tasks it enqueues.
LOG_REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
GENERATE_REQUEST_ID_IF_NOT_IN_HEADER = True
REQUEST_ID_RESPONSE_HEADER = "X-Request-ID"
NO_REQUEST_ID = "-"  # in the lines of no request: start-up, beat, scheduled tasks

# One format for web, worker and beat (cascade/celery.py keeps this configuration for
# Celery; cascade/gunicorn_conf.py gives gunicorn's own lines the same): LOG_FORMAT=text
# (timestamped lines) or json (one object per line, a traceback inside it, for a log
# collector).
LOG_FORMAT = os.getenv("LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be text or json")
LOGGING_CONFIG = "core.logs.configure"  # dictConfig, and warnings as log lines
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(process)d] [%(request_id)s] "
            "%(message)s"
        },
        "json": {"()": "core.logs.JsonFormatter"},
    },
    "filters": {"request_id": {"()": "log_request_id.filters.RequestIDFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
    "loggers": {
        # Without Django's own handlers (a bare-message console with DEBUG on, and
        # mail_admins, with no ADMINS): its lines go to the root's, in this format.
        "django": {"handlers": [], "level": os.getenv("LOG_LEVEL", "INFO")},
        # Inline (eager) tasks would log every run at INFO; a worker logs them itself.
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
        # runserver's request lines (bin/run), in this format rather than their own.
        "django.server": {"handlers": [], "propagate": True},
        # Celery's process pool (billiard) logs as "multiprocessing", a logger it keeps
        # from propagating: without a handler of its own, an error there (a callback
        # failing while Redis is away) would be a bare traceback on stderr.
        "multiprocessing": {"handlers": ["console"], "level": "WARNING"},
    },
}
