"""Settings, read from the environment through the typed helpers in ``config.env``.

Without ``DATABASE_URL`` the platform runs on a SQLite file; without
``REDIS_URL`` Celery uses a file-system broker, so tasks still run in a separate
worker process. Production (``DEBUG`` off) requires ``SECRET_KEY`` and TLS;
``DEPLOYMENT=local`` (what ``make run`` serves) keeps ``DEBUG`` off but allows
a generated key and plain HTTP on the loopback address
(docs/decisions/0006-make-run-is-production-shaped.md).

One module, longer than most: every setting is read here, once, beside the
settings it depends on, so that ``.env.example`` and this file can be read
side by side.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_bool,
    env_choice,
    env_decimal,
    env_int,
    env_list,
    env_str,
    env_url,
    is_loopback,
    oidc_providers_from_env,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")) or BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
# Where the platform is served. "production": behind TLS, with every transport
# protection on. "local": a trial on this machine over plain HTTP, as `make run`
# serves it. DEBUG is a separate switch, off in both: an error shows the
# platform's own page, never a traceback.
DEPLOYMENT = env_choice("DEPLOYMENT", "production", choices=("production", "local"))
LOCAL = DEPLOYMENT == "local"
PORT = env_int("PORT", 8000, minimum=1, maximum=65535)
# The address the web server listens on (config/gunicorn.py).
BIND_HOST = env_str("BIND_HOST", "127.0.0.1") or "127.0.0.1"
# Plain HTTP with a generated key is for this machine only: local mode refuses
# an address that others can reach unless this says so on purpose.
LOCAL_ALLOW_NON_LOOPBACK = env_bool("LOCAL_ALLOW_NON_LOOPBACK", False)
if LOCAL and not is_loopback(BIND_HOST) and not LOCAL_ALLOW_NON_LOOPBACK:
    raise ImproperlyConfigured(
        "DEPLOYMENT=local serves plain HTTP and listens on the loopback address only; "
        "BIND_HOST is not a loopback address (set LOCAL_ALLOW_NON_LOOPBACK=1 to allow it)."
    )
# Web server processes and threads in each (config/gunicorn.py).
WEB_WORKERS = env_int("WEB_WORKERS", 2, minimum=1, maximum=64)
WEB_THREADS = env_int("WEB_THREADS", 4, minimum=1, maximum=64)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])


def _secret_key() -> str:
    configured = env_str("SECRET_KEY")
    if configured:
        if len(configured) < 50:
            raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long.")
        return configured
    if not (DEBUG or LOCAL):
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off in production (DEPLOYMENT=production, "
            "the default): set it (50+ characters), or set DEPLOYMENT=local for a trial on "
            "this machine, as `make run` does (also for a manage.py command beside it)."
        )
    # On this machine only: generate once and keep it, so sessions survive a
    # restart. Web server, worker and beat start together: the first to link its
    # complete file into place wins, and no one reads a half-written key.
    key_file = VAR_DIR / "dev-secret-key"
    if not key_file.exists():
        draft = VAR_DIR / f".dev-secret-key.{os.getpid()}"
        draft.touch(mode=0o600)
        draft.write_text(secrets.token_urlsafe(64))
        try:
            os.link(draft, key_file)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "core",
    "consent.audit",
    "consent",
    "acute",
    "acute.clinical",
    "medicine_cabinet",
    "integrations",
    "portal",
    "worker",
]

MIDDLEWARE = [
    "core.metrics.MetricsMiddleware",
    "core.middleware.RequestIdMiddleware",
    # Before anything reads a body: one too large for its door is refused unread.
    "core.boundary.BodySizeMiddleware",
    # Before anyone is signed in or sent anywhere: a CPR number in a URL
    # (docs/decisions/0002) is refused, never carried on in a redirect.
    "core.cpr_in_url.CprInUrlMiddleware",
    "core.input_refusals.InputBoundaryMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.NoStoreMiddleware",
    # Allow names what a view serves: no OPTIONS where it is refused (405).
    "core.middleware.AllowServedMiddleware",
    "core.middleware.OfflineSendMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # The page gate before the CSRF check: a method a page does not serve is
    # its 405, and a role refused the page its "not allowed", whatever the
    # token; the CSRF check guards what the gate lets through to a view.
    "core.middleware.PageAccessMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before anything is answered under a session she ended offline.
    "core.middleware.PendingSignOutMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "core.middleware.SessionIdleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-csp's, with the settings' policy built once (core/middleware.py).
    "core.middleware.ContentSecurityPolicyMiddleware",
    "core.middleware.MethodNotAllowedPageMiddleware",
    # After the role's gate: a queued form is received only for the user who made it.
    "core.middleware.OfflineOwnerMiddleware",
    # Near last, so a keyed write's claim shares the view's transaction.
    "core.idempotency.IdempotencyKeyMiddleware",
    # Inside it, so the Location of a 201 is kept for the key's replay.
    "core.created.CreatedLocationMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "core.context_processors.actor",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASE_URL = env_url(
    "DATABASE_URL",
    f"sqlite:///{VAR_DIR / 'tvaerakut.sqlite3'}",
    schemes=("sqlite", "postgres", "postgresql"),
)
assert DATABASE_URL is not None


def _database_from_url(name: str, url: str) -> dict[str, Any]:
    """The database a URL names; a URL that does not parse (a port that is no
    number, a password with an unescaped "/" or "#") is named, never echoed:
    it may hold the password."""
    try:
        parsed: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=0))
    except ValueError:  # dj_database_url.ParseError among them
        parsed = {}
    if parsed.get("ENGINE") != "django.db.backends.sqlite3" and not parsed.get("NAME"):
        raise ImproperlyConfigured(
            f"{name} must be a URL such as postgres://user:password@host:5432/database, with "
            "a numeric port, a database name and any special character in the password "
            "percent-encoded."
        )
    return parsed


_database = _database_from_url("DATABASE_URL", DATABASE_URL)
if _database["ENGINE"] == "django.db.backends.sqlite3":
    _database["OPTIONS"] = {
        # Web server and worker share the file: wait for locks instead of failing,
        # take the write lock at BEGIN so no transaction deadlocks on upgrade.
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # SQLite cannot keep "one open care relationship per source" (a unique
    # constraint whose NULLs are not distinct), so it goes without it; the
    # services open a relationship once, and with one writer nothing races
    # them. PostgreSQL, which CI proves, keeps the constraint.
    SILENCED_SYSTEM_CHECKS = ["models.W047"]
else:
    # Django's PostgreSQL backend, whose health check asks the socket instead
    # of sending a query (core/postgres/base.py).
    _database["ENGINE"] = "core.postgres"
    _database["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
    _database["CONN_HEALTH_CHECKS"] = True
    # Values travel apart from the SQL, and a query run twice on a connection
    # is prepared there: the token, gate and audit queries that every request
    # makes are planned once per connection instead of on every request.
    _database["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 2}
    # Behind PgBouncer in transaction pooling (docker-compose), a connection is
    # lent for one transaction at a time: no cursor may outlive it. PgBouncer
    # (1.21 and later, max_prepared_statements) keeps the prepared statements.
    _database["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("DATABASE_POOLED", False)
DATABASES = {"default": _database}

# Two roles on PostgreSQL (docs/decisions/0008-two-database-roles.md): the
# platform's processes connect as DATABASE_URL's role, which may append to the
# audit log but never change it; migrations and other owner's work
# (`manage.py migrate`, `audit_archive`) connect as DATABASE_OWNER_URL's role,
# which owns the tables and grants the platform's role its rights. Unset: one
# connection does both (SQLite, or a single PostgreSQL role).
DATABASE_OWNER_URL = env_url("DATABASE_OWNER_URL", None, schemes=("postgres", "postgresql"))
# The credentials each role connects with: {"USER": ..., "PASSWORD": ...}.
DATABASE_PLATFORM_LOGIN: dict[str, str] | None = None
DATABASE_OWNER_LOGIN: dict[str, str] | None = None
if DATABASE_OWNER_URL:
    _owner = _database_from_url("DATABASE_OWNER_URL", DATABASE_OWNER_URL)
    if _database["ENGINE"] != "core.postgres":
        raise ImproperlyConfigured("DATABASE_OWNER_URL needs DATABASE_URL on PostgreSQL.")
    if [str(_owner.get(k) or "") for k in ("HOST", "PORT", "NAME")] != [
        str(_database.get(k) or "") for k in ("HOST", "PORT", "NAME")
    ]:
        raise ImproperlyConfigured(
            "DATABASE_OWNER_URL must name the same server, port and database as DATABASE_URL."
        )
    if not _database.get("USER") or _owner.get("USER") == _database.get("USER"):
        raise ImproperlyConfigured(
            "DATABASE_URL and DATABASE_OWNER_URL must name two different roles."
        )
    DATABASE_PLATFORM_LOGIN = {
        "USER": str(_database["USER"]),
        "PASSWORD": str(_database.get("PASSWORD") or ""),
    }
    DATABASE_OWNER_LOGIN = {
        "USER": str(_owner["USER"]),
        "PASSWORD": str(_owner.get("PASSWORD") or ""),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Users and passwords ---------------------------------------------------
AUTH_USER_MODEL = "core.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Failed logins per username (and per client address) inside the window before refusal.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900, minimum=1)
API_TOKEN_TTL_SECONDS = env_int("API_TOKEN_TTL_SECONDS", 12 * 3600, minimum=60)
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600, minimum=60)
# A page session left untouched this long ends (core.middleware.SessionIdleMiddleware):
# a tablet put down in a citizen's home or at the base is not left open for
# the rest of the shift to whoever picks it up.
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 30 * 60, minimum=60)
# A person's bearer token left unused this long ends as a page session does:
# a tablet's app or a script left signed in is not open for the rest of the
# 12 hours to whoever holds it. A system's token lives minutes and has none.
API_TOKEN_IDLE_SECONDS = env_int("API_TOKEN_IDLE_SECONDS", 30 * 60, minimum=60)
# Staff sign in through their organisation's identity provider (OpenID
# Connect); passwords with a second factor are for the embedded default and
# the demo (docs/decisions/0009).
OIDC_PROVIDERS = oidc_providers_from_env()
# `make run OIDC_DEMO=1`: run the local demo identity provider beside the
# platform (provider "demo" in OIDC_PROVIDERS; tests/oidc/provider.mjs).
OIDC_DEMO_PROVIDER = env_bool("OIDC_DEMO_PROVIDER", False)
if OIDC_DEMO_PROVIDER and "demo" not in OIDC_PROVIDERS:
    raise ImproperlyConfigured("OIDC_DEMO_PROVIDER needs a provider named demo in OIDC_PROVIDERS.")
# Waiting for the identity provider's discovery document, keys and tokens.
OIDC_HTTP_TIMEOUT_SECONDS = env_int("OIDC_HTTP_TIMEOUT_SECONDS", 10, minimum=1, maximum=60)
# Tokens for systems (OAuth 2.0 client credentials): short, as SMART backend services ask.
SYSTEM_TOKEN_TTL_SECONDS = env_int("SYSTEM_TOKEN_TTL_SECONDS", 300, minimum=1, maximum=3600)
# The issuer shown in a TOTP app ("Tværakut: nurse1").
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Tværakut") or "Tværakut"
# The administration never shows a code app's key nor its QR code: with it
# and a password anyone could sign in as that member of staff.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- Language and time -----------------------------------------------------
LANGUAGE_CODE = "da"
LANGUAGES = [("da", "Dansk"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Copenhagen"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")) or "")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Served (DEBUG off): `collectstatic` writes content-hashed, compressed
    # copies that WhiteNoise serves with a year-long cache. DEBUG: the apps'
    # own files, found where they lie, so no collectstatic is needed.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
# Follows the environment's DEBUG, not the flag at run time (a test runner
# turns that off): otherwise every new request handler, such as each test
# client, would list every static file of every app again.
WHITENOISE_AUTOREFRESH = DEBUG
# Files a browser asks for at the root (/favicon.ico), served as they lie.
WHITENOISE_ROOT = BASE_DIR / "core" / "root"

# --- REST framework: deny by default ----------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # A view that declares no permission refuses everyone.
    "DEFAULT_PERMISSION_CLASSES": ["core.permissions.DenyAll"],
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.ApiJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.boundary.JSONParser"],
    # ?format=xml is 406 like an Accept header asking for XML, not a 404.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.renderers.ContentNegotiation",
    # Not a rate limit: the step where throttles run (after authentication and
    # permission, before the view) refuses a query parameter the operation's
    # OpenAPI declaration does not name (core/query_gate.py).
    "DEFAULT_THROTTLE_CLASSES": ["core.query_gate.QueryGate"],
    # Records a role refused on /api/ (R9), then answers as core.exception_handler.
    "EXCEPTION_HANDLER": "core.refusals.handle_exception",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "core.openapi.PlatformAutoSchema",
    # OPTIONS is no operation of the API (its description is /api/schema/):
    # 405, not REST framework's description of the view.
    "DEFAULT_METADATA_CLASS": None,
    # A date-time field hands its time to the renderer, which writes every
    # instant of an answer one way, UTC with Z (core.times.api_instant); the
    # field's own writing would put it in the server's zone (+01:00).
    "DATETIME_FORMAT": None,
}
# The OpenAPI description of /api/ (core/openapi.py, docs/api.md).
SPECTACULAR_SETTINGS = {
    "TITLE": "Tværakut API",
    "DESCRIPTION": (
        "The JSON API of the cross-municipal acute function: referrals, visits and "
        "shifts, clinical records on the visit, the medicine cabinet, the audit log, "
        "consent's analyses and the hand-off board. Log in with `POST /api/auth/token` "
        "and send the token as `Authorization: Bearer <token>`. Every error is "
        '`{"error": {"code", "message", ...}}`, its message in Danish unless '
        "`Accept-Language` asks for English. A create answers 201, with `Location` when "
        "the created resource has a URL of its own. The shared record itself speaks FHIR "
        "R4 under `/fhir/` (its CapabilityStatement is `/fhir/metadata`)."
    ),
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/",
    "PREPROCESSING_HOOKS": ["core.openapi.only_api_paths"],
    "SERVE_INCLUDE_SCHEMA": False,
    # Programs use bearer tokens; the pages' session is not an API contract.
    "AUTHENTICATION_WHITELIST": ["core.auth.BearerTokenAuthentication"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # A path's row id (core.converters: ``<id:…>``) is an integer, as in a
    # JSON body: 1 up to a bigint's largest.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}},
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    # One named enum per choice set, whichever field carries it.
    "ENUM_NAME_OVERRIDES": {
        "Role": "core.models.Role",
        "Skill": "acute.models.Skill",
        "Urgency": "acute.models.Urgency",
        "EpisodeOutcome": "acute.models.Outcome",
        "EpisodeStatus": "acute.models.Episode.Status",
        "ReferralSource": "acute.models.Referral.Source",
        "ReferralChannel": "acute.models.Referral.Channel",
        "ReferralStatus": "acute.models.Referral.Status",
        "ShiftKind": "acute.models.NurseShift.Kind",
        "ShiftStatus": "acute.models.NurseShift.Status",
        "VisitKind": "acute.models.Visit.Kind",
        "VisitStatus": "acute.models.Visit.Status",
        "VisitCancelReason": "acute.models.Visit.CancelReason",
        "VisitNoteKind": "acute.models.VisitNote.Kind",
        "DeadlineWarningKind": "acute.models.DeadlineWarning.Kind",
        "TestKind": "acute.clinical.models.TestDefinition.Kind",
        "ResultInterpretation": "acute.clinical.models.LabResult.Interpretation",
        "ProcedureStatus": "acute.clinical.models.ProcedureRecord.Status",
        "OrderKind": "acute.clinical.models.MedicationOrder.Kind",
        "OrderStatus": "acute.clinical.models.MedicationOrder.Status",
        "PrescriptionStatus": "acute.clinical.models.MedicationOrder.PrescriptionStatus",
        "OrderSeenBy": "acute.clinical.models.MedicationOrder.SeenBy",
        "AlertKind": "acute.clinical.models.PhysicianAlert.Kind",
        "Dispensing": "medicine_cabinet.models.Medicine.Dispensing",
        "LocationKind": "medicine_cabinet.models.Location.Kind",
        "MovementKind": "medicine_cabinet.models.Movement.Kind",
        "MovementDirection": "medicine_cabinet.models.Movement.Direction",
        "WasteReason": "medicine_cabinet.models.WasteReason",
        "CountReason": "medicine_cabinet.models.CountReason",
        "CountStatus": "medicine_cabinet.models.StockCount.Status",
        "CabinetNotificationKind": "medicine_cabinet.models.Notification.Kind",
        "AuditAction": "consent.audit.models.Action",
        "AuditPurpose": "consent.audit.models.Purpose",
        "AuditOutcome": "consent.audit.models.Outcome",
        "AuditFlag": "consent.audit.models.Flag",
        "OutboxStatus": "integrations.models.OutboundMessage.Status",
        "DeliveryOutcome": "integrations.models.DeliveryAttempt.Outcome",
    },
}
# The largest JSON body any route accepts (core/boundary.py), FHIR transaction
# Bundles included.
REQUEST_MAX_JSON_BYTES = env_int(
    "REQUEST_MAX_JSON_BYTES", 10 * 1024 * 1024, minimum=1024, maximum=100 * 1024 * 1024
)
# The largest body /api/ accepts: its writes are commands of a few fields;
# Bundles and partners' messages go to /fhir/ (core.boundary.body_limit).
REQUEST_MAX_API_BYTES = env_int(
    "REQUEST_MAX_API_BYTES", 1024 * 1024, minimum=1024, maximum=100 * 1024 * 1024
)
# Django reads no larger body either (its default, 2.5 MB, refused a partner's
# 3 MB message with a bare 'request.invalid' before the limit above could speak).
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_JSON_BYTES

# --- Celery ------------------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", None, schemes=("redis", "rediss"))
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600}
else:
    # No server needed: messages are files, consumed by a separate worker process.
    _broker_dir = VAR_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    # The host is the transport's default, named so kombu does not warn of its
    # absence on every connection (each /healthz probe).
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240, minimum=1)
if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_SOFT_TIME_LIMIT must be below CELERY_TASK_TIME_LIMIT.")
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Content-Security-Policy (django-csp) -------------------------------------
# Every script and style comes from the platform's own static files: no inline
# script or style, no other origin. A page that needs behaviour adds it to a
# static file (core/static/core/ui.js), never to an attribute.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Security (production: DEBUG off, served over TLS) ------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
# A refused form gets the platform's own page, in the user's language.
CSRF_FAILURE_VIEW = "core.views.errors.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Local mode is plain HTTP on 127.0.0.1: a redirect to HTTPS, Secure-only
# cookies or HSTS would lock the browser out (HSTS for every port of the host).
if not (DEBUG or LOCAL):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Logging: CPR numbers never reach a log line -----------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO") or "INFO"
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL.")
# core.logging.configure scrubs CPR-shaped numbers from every record of every
# logger before this configuration is applied; Django's, gunicorn's and Celery's
# loggers write through the same scrubbing handler.
# --- metrics (/metrics, core/metrics.py) --------------------------------------
# Who may read /metrics: connections from these networks, or a bearer token.
METRICS_TOKEN = env_str("METRICS_TOKEN") or ""
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 32 characters long.")
try:
    METRICS_ALLOWED_NETWORKS = [
        ipaddress.ip_network(n, strict=False)
        for n in env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.1/32", "::1/128"])
    ]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {exc}") from exc

# Processes that share this directory are scraped together (gunicorn's
# workers; under `make run` the Celery worker too). It must exist before the
# first metric is made.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

# A Celery worker with a machine of its own serves its metrics here (0: it does not).
WORKER_METRICS_PORT = env_int("WORKER_METRICS_PORT", 0, minimum=0, maximum=65535)
WORKER_METRICS_ADDR = env_str("WORKER_METRICS_ADDR", "127.0.0.1") or "127.0.0.1"

# --- logging -------------------------------------------------------------------
# json: one JSON object per line (the default); plain: for reading by eye.
LOG_FORMAT = env_choice("LOG_FORMAT", "json", choices=("json", "plain"))
LOGGING_CONFIG = "core.logging.configure"
_LOG_HANDLER = {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "scrub_cpr": {"()": "core.logging.CprScrubFilter"},
        "request_id": {"()": "core.logging.RequestIdFilter"},
    },
    "formatters": {
        "plain": {
            "()": "core.logging.ScrubbingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {"()": "core.logging.JsonLinesFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["scrub_cpr", "request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        name: _LOG_HANDLER
        for name in ("django", "django.server", "django.request", "gunicorn", "celery")
    },
}

# --- consent: shared record, break-the-glass, analyses -----------------------
# How long a break-the-glass override (værdispring) lasts.
CONSENT_BREAK_GLASS_MINUTES = env_int("CONSENT_BREAK_GLASS_MINUTES", 30, minimum=1, maximum=240)
# Counts below this are suppressed in restricted analyses (R6).
CONSENT_ANALYSIS_MIN_CELL = env_int("CONSENT_ANALYSIS_MIN_CELL", 5, minimum=3, maximum=100)
# Differential privacy of the analyses (R6, docs/decisions/0005): the epsilon one
# new answer costs, and what one analyst may spend within a rolling window of
# days. The upper bounds keep a typo (50 for 0.50) from making the noise vanish.
CONSENT_ANALYSIS_EPSILON_PER_RUN = env_decimal(
    "CONSENT_ANALYSIS_EPSILON_PER_RUN",
    Decimal("0.5"),
    minimum=Decimal("0.05"),
    maximum=Decimal("1"),
    places=3,
)
CONSENT_ANALYSIS_EPSILON_BUDGET = env_decimal(
    "CONSENT_ANALYSIS_EPSILON_BUDGET",
    Decimal("5"),
    minimum=Decimal("0.05"),
    maximum=Decimal("10"),
    places=3,
)
CONSENT_ANALYSIS_BUDGET_WINDOW_DAYS = env_int(
    "CONSENT_ANALYSIS_BUDGET_WINDOW_DAYS", 30, minimum=7, maximum=366
)
if CONSENT_ANALYSIS_EPSILON_BUDGET < CONSENT_ANALYSIS_EPSILON_PER_RUN:
    raise ImproperlyConfigured(
        "CONSENT_ANALYSIS_EPSILON_BUDGET must be at least CONSENT_ANALYSIS_EPSILON_PER_RUN."
    )
# Benchmark only: serve record reads without the gate and the audit, to measure
# their cost. Refused outright unless the database is a benchmark's own
# (named bench_*), so a platform holding real citizens can never run so.
CONSENT_BENCH_BARE_READS = env_bool("CONSENT_BENCH_BARE_READS", False)
if CONSENT_BENCH_BARE_READS and not str(_database.get("NAME", "")).startswith("bench_"):
    raise ImproperlyConfigured(
        "CONSENT_BENCH_BARE_READS is a benchmark setting; only a bench_* database allows it."
    )
# Benchmark only, with the bare reads: each read also makes one durable insert
# of its own (``bench_read_floor``): the least any read whose audit entry must
# be on disk before the data goes out can cost.
CONSENT_BENCH_FLOOR_WRITE = env_bool("CONSENT_BENCH_FLOOR_WRITE", False)
if CONSENT_BENCH_FLOOR_WRITE and not CONSENT_BENCH_BARE_READS:
    raise ImproperlyConfigured("CONSENT_BENCH_FLOOR_WRITE goes with CONSENT_BENCH_BARE_READS.")

# --- Clinical: lab tests, phone orders (acute/clinical) ----------------------
# ATC codes (or ATC prefixes, e.g. "N02A") of dependence-forming (§4) medicines:
# never ordered by phone, only by a written electronic order from the physician.
CLINICAL_DEPENDENCE_FORMING_ATC = env_list(
    "CLINICAL_DEPENDENCE_FORMING_ATC", ["N02AA01", "N05CD08"]
)
# The physician confirms a phone order electronically within this time; she is
# reminded after REMIND_AFTER, the coordinators are alerted once it is overdue.
CLINICAL_PHONE_ORDER_CONFIRM_WITHIN_MINUTES = env_int(
    "CLINICAL_PHONE_ORDER_CONFIRM_WITHIN_MINUTES", 480, minimum=5
)
CLINICAL_PHONE_ORDER_REMIND_AFTER_MINUTES = env_int(
    "CLINICAL_PHONE_ORDER_REMIND_AFTER_MINUTES", 240, minimum=1
)
if CLINICAL_PHONE_ORDER_REMIND_AFTER_MINUTES >= CLINICAL_PHONE_ORDER_CONFIRM_WITHIN_MINUTES:
    raise ImproperlyConfigured(
        "CLINICAL_PHONE_ORDER_REMIND_AFTER_MINUTES must be less than "
        "CLINICAL_PHONE_ORDER_CONFIRM_WITHIN_MINUTES."
    )
# The prescription in the citizen's CPR number is due at the pharmacy within this time.
CLINICAL_PRESCRIPTION_DUE_WITHIN_MINUTES = env_int(
    "CLINICAL_PRESCRIPTION_DUE_WITHIN_MINUTES", 1440, minimum=5
)

# --- acute: referrals, dispatch, deadlines (R10) -----------------------------
# Deadline of each urgency class. "Within the shift" ends with the shift that is
# on when the referral arrives; shifts start at these local (Copenhagen) hours.
ACUTE_DEADLINE_WITHIN_2_HOURS_MINUTES = env_int(
    "ACUTE_DEADLINE_WITHIN_2_HOURS_MINUTES", 120, minimum=15, maximum=720
)
ACUTE_SHIFT_DAY_STARTS_HOUR = env_int("ACUTE_SHIFT_DAY_STARTS_HOUR", 7, minimum=0, maximum=23)
ACUTE_SHIFT_EVENING_STARTS_HOUR = env_int(
    "ACUTE_SHIFT_EVENING_STARTS_HOUR", 15, minimum=0, maximum=23
)
ACUTE_SHIFT_NIGHT_STARTS_HOUR = env_int("ACUTE_SHIFT_NIGHT_STARTS_HOUR", 23, minimum=0, maximum=23)
if not (
    ACUTE_SHIFT_DAY_STARTS_HOUR < ACUTE_SHIFT_EVENING_STARTS_HOUR < ACUTE_SHIFT_NIGHT_STARTS_HOUR
):
    raise ImproperlyConfigured("ACUTE_SHIFT_*_STARTS_HOUR must be day < evening < night.")
# "Next day": by this local hour on the day after the referral arrives.
ACUTE_DEADLINE_NEXT_DAY_HOUR = env_int("ACUTE_DEADLINE_NEXT_DAY_HOUR", 16, minimum=1, maximum=23)
# The nurse accepts an assignment on her tablet within this time, or it moves on.
ACUTE_ACCEPT_WITHIN_MINUTES = env_int("ACUTE_ACCEPT_WITHIN_MINUTES", 5, minimum=1, maximum=60)
# Assign the best-ranked nurse without waiting for the coordinator.
ACUTE_AUTO_ASSIGN = env_bool("ACUTE_AUTO_ASSIGN", False)
# Travel time: a dotted path to a function (from_lat, from_lon, to_lat, to_lon) -> minutes;
# the default multiplies the straight-line distance by a road factor at an urban speed.
ACUTE_TRAVEL_TIME_FUNCTION = env_str(
    "ACUTE_TRAVEL_TIME_FUNCTION", "acute.dispatch.travel_minutes_by_road_factor"
)
ACUTE_ROAD_FACTOR_PERCENT = env_int("ACUTE_ROAD_FACTOR_PERCENT", 135, minimum=100, maximum=300)
ACUTE_URBAN_SPEED_KMH = env_int("ACUTE_URBAN_SPEED_KMH", 35, minimum=5, maximum=120)
# Expected length of a visit on site, to estimate when a busy nurse is free.
ACUTE_VISIT_MINUTES = env_int("ACUTE_VISIT_MINUTES", 45, minimum=5, maximum=240)
# Warn when the best arrival leaves less than this before the deadline.
ACUTE_AT_RISK_MARGIN_MINUTES = env_int("ACUTE_AT_RISK_MARGIN_MINUTES", 0, minimum=0, maximum=120)

# --- Audit log (consent/audit) -------------------------------------------------
# Distinct citizens one user may touch within an hour before the entry is flagged.
AUDIT_MANY_CITIZENS_PER_HOUR = env_int("AUDIT_MANY_CITIZENS_PER_HOUR", 30, minimum=1)
# Most entries one export (CSV or FHIR Bundle) may hold.
AUDIT_EXPORT_MAX_ROWS = env_int("AUDIT_EXPORT_MAX_ROWS", 10000, minimum=1, maximum=1_000_000)
# Where detached monthly partitions are written by ``audit_archive``.
AUDIT_ARCHIVE_DIR = Path(env_str("AUDIT_ARCHIVE_DIR", str(VAR_DIR / "audit-archive")) or "")
# Months of partitions the maintenance job keeps created ahead.
AUDIT_PARTITION_MONTHS_AHEAD = env_int("AUDIT_PARTITION_MONTHS_AHEAD", 3, minimum=1, maximum=24)
# The transparency log (docs/audit.md): its name (each year's log is
# "<origin>/<year>"), and the Ed25519 key its checkpoints are signed with, as
# base64 of the 32-byte seed. Without a key, a local or DEBUG run generates
# one into var/ (as it does the secret key); elsewhere the sequencer refuses
# to start without it.
AUDIT_LOG_ORIGIN = env_str("AUDIT_LOG_ORIGIN", "tvaerakut.local/audit") or "tvaerakut.local/audit"
AUDIT_LOG_SIGNING_KEY = env_str("AUDIT_LOG_SIGNING_KEY")
if AUDIT_LOG_SIGNING_KEY is not None:
    try:
        _seed = base64.b64decode(AUDIT_LOG_SIGNING_KEY, validate=True)
    except ValueError:  # binascii.Error: not base64
        _seed = b""
    if len(_seed) != 32:
        raise ImproperlyConfigured(
            "AUDIT_LOG_SIGNING_KEY must be base64 of 32 random bytes (see .env.example)."
        )
AUDIT_LOG_KEY_FILE = VAR_DIR / "audit-log-key" if (DEBUG or LOCAL) else None
# Most entries the sequencer places in one batch, and how long it rests when
# none await (milliseconds); an idle log is signed again every minute.
AUDIT_SEQUENCER_BATCH = env_int("AUDIT_SEQUENCER_BATCH", 20000, minimum=1, maximum=1_000_000)
AUDIT_SEQUENCER_IDLE_MS = env_int("AUDIT_SEQUENCER_IDLE_MS", 200, minimum=10, maximum=10_000)
# Under load, batches start at most this often (milliseconds), so that a busy
# log signs a few checkpoints a second rather than one per tiny batch.
AUDIT_SEQUENCER_INTERVAL_MS = env_int("AUDIT_SEQUENCER_INTERVAL_MS", 250, minimum=0, maximum=1_000)
# The witnesses whose cosignatures (and refusals) the platform accepts: their
# verifier keys (C2SP vkeys, "name+keyid+base64"), comma-separated. A local
# run (`make run`) adds the witness it starts itself.
AUDIT_WITNESS_KEYS = env_list("AUDIT_WITNESS_KEYS", [])
# A witnessed checkpoint older than this is shown to auditors as a warning.
AUDIT_WITNESS_STALE_MINUTES = env_int("AUDIT_WITNESS_STALE_MINUTES", 5, minimum=1, maximum=1440)

# --- Hand-offs (integrations) ---------------------------------------------------
# Largest allowed difference between a partner's signature timestamp and our clock.
INTEGRATIONS_SIGNATURE_SKEW_SECONDS = env_int(
    "INTEGRATIONS_SIGNATURE_SKEW_SECONDS", 300, minimum=5, maximum=3600
)
# How often beat runs the outbox sweeper (unsent, stuck and unacknowledged messages).
INTEGRATIONS_SWEEP_SECONDS = env_int("INTEGRATIONS_SWEEP_SECONDS", 15, minimum=1, maximum=3600)
# Where the demo's partner simulators send their messages (this platform's own URL).
INTEGRATIONS_PLATFORM_URL = env_url(
    "INTEGRATIONS_PLATFORM_URL", f"http://127.0.0.1:{PORT}", schemes=("http", "https")
)
# First port of the demo's partner simulators (1813, hospital, GP, home nursing, EOJ).
INTEGRATIONS_SIMULATOR_PORT = env_int(
    "INTEGRATIONS_SIMULATOR_PORT", 8650, minimum=1024, maximum=65530
)
