"""Configuration, read from the environment. The defaults suit local development."""

from __future__ import annotations

import os
from datetime import timedelta


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value and value.strip() else default


def _env_list(name: str) -> list[str] | None:
    value = os.environ.get(name)
    if not value:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


#: Secret keys that must never be used in production (shipped in docs or examples).
INSECURE_SECRET_KEYS = frozenset({"", "dev", "change-me", "changeme", "secret", "development"})

_ENV_NAME = os.environ.get("KNOTENPUNKT_ENV", "production").strip().lower()
_PRODUCTION = _ENV_NAME == "production"
_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "https" if _PRODUCTION else "http")
_SERVER_NAME = os.environ.get("SERVER_NAME", "").strip()


class Config:
    """Settings for every environment. ``KNOTENPUNKT_ENV`` is `production` unless set otherwise."""

    ENV_NAME = _ENV_NAME
    DEBUG = _env_bool("FLASK_DEBUG", False)

    SECRET_KEY = os.environ.get("SECRET_KEY")
    #: ``None`` means: a SQLite file in the instance folder (set by the app factory).
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or None
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    NETWORK_NAME = os.environ.get("NETWORK_NAME", "Netzwerk Flüchtlingsinitiativen Leipzig")
    NETWORK_TIMEZONE = os.environ.get("NETWORK_TIMEZONE", "Europe/Berlin")

    #: Canonical address used in every absolute link (emails, feeds). Never taken from the
    #: request's Host header, so a forged header cannot poison password-reset links.
    SERVER_NAME_FOR_LINKS = _SERVER_NAME or "localhost:5000"
    PREFERRED_URL_SCHEME = _SCHEME
    BASE_URL = os.environ.get("BASE_URL") or f"{_SCHEME}://{_SERVER_NAME or 'localhost:5000'}"
    #: Host names accepted in the Host header (Flask >= 3.1); unset accepts any.
    TRUSTED_HOSTS = _env_list("TRUSTED_HOSTS")

    #: Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
    PROXY_FIX_X_FOR = _env_int("PROXY_FIX_X_FOR", 0)
    PROXY_FIX_X_PROTO = _env_int("PROXY_FIX_X_PROTO", 0)

    SESSION_COOKIE_NAME = "knotenpunkt_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", _PRODUCTION)
    #: Absolute lifetime of a login; the server forgets the session afterwards.
    SESSION_LIFETIME = timedelta(hours=_env_int("SESSION_LIFETIME_HOURS", 12))
    PERMANENT_SESSION_LIFETIME = timedelta(hours=_env_int("SESSION_LIFETIME_HOURS", 12))

    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 512 * 1024

    WTF_CSRF_TIME_LIMIT = None  # bound to the session instead; a long form must not expire
    # Pages that carry a secret token send `Referrer-Policy: no-referrer`, so their forms
    # arrive without a Referer header; Flask-WTF's HTTPS referrer check would refuse them.
    # The CSRF token and SameSite=Lax session cookies remain the protection.
    WTF_CSRF_SSL_STRICT = False

    BABEL_DEFAULT_LOCALE = "de"
    LANGUAGES = ("de", "en")

    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour")
    RESET_RATE_LIMIT = os.environ.get("RESET_RATE_LIMIT", "5 per 15 minutes;20 per day")
    TOKEN_RATE_LIMIT = os.environ.get("TOKEN_RATE_LIMIT", "20 per minute")
    #: Unknown or revoked personal-feed tokens per client address; valid ones are never limited.
    FEED_TOKEN_RATE_LIMIT = os.environ.get("FEED_TOKEN_RATE_LIMIT", "30 per 10 minutes")
    #: Built feeds kept per worker process, keyed by feed and ETag.
    CALENDAR_CACHE_ENTRIES = _env_int("CALENDAR_CACHE_ENTRIES", 256)
    #: Seconds a worker process keeps the feeds' revision number before asking the database again
    #: (its own changes are seen at once; other processes' after at most this long).
    CALENDAR_REVISION_TTL = float(os.environ.get("CALENDAR_REVISION_TTL", "1.0"))

    INVITATION_TTL = timedelta(days=_env_int("INVITATION_TTL_DAYS", 7))
    PASSWORD_RESET_TTL = timedelta(hours=2)
    PASSWORD_MIN_LENGTH = 10
    #: Werkzeug hash method; tests use a cheaper one, production keeps scrypt.
    PASSWORD_HASH_METHOD = "scrypt"

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = _env_int("MAIL_PORT", 587)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_STARTTLS = _env_bool("MAIL_USE_STARTTLS", True)
    MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)
    MAIL_TIMEOUT = _env_int("MAIL_TIMEOUT", 10)
    MAIL_DEFAULT_SENDER = os.environ.get(
        "MAIL_DEFAULT_SENDER", f"Knotenpunkt <noreply@{_SERVER_NAME or 'localhost'}>"
    )
    #: `smtp` delivers; `log` writes mails to the log (development only).
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND") or ("smtp" if MAIL_SERVER else "log")
    #: Delays in seconds before the 2nd, 3rd, ... delivery attempt; then the mail is `failed`.
    OUTBOX_BACKOFF = (60, 300, 1800, 7200, 21600, 43200)
    OUTBOX_LEASE = timedelta(minutes=5)
    OUTBOX_BATCH_SIZE = 100
    #: The ORGANIZER of invitation mails: calendar apps send accept/decline replies there.
    #: Empty: the address of MAIL_DEFAULT_SENDER.
    MAIL_ORGANIZER = os.environ.get("MAIL_ORGANIZER", "")
    #: A series invites to each date once it is this many days ahead (not to a year at once).
    INVITATION_WINDOW_DAYS = _env_int("INVITATION_WINDOW_DAYS", 42)
    #: Hours before a meeting that guests are reminded (members choose their own).
    MEETING_REMINDER_HOURS = _env_int("MEETING_REMINDER_HOURS", 24)
    #: Days before its due date that an action's owner is reminded.
    ACTION_DUE_REMINDER_DAYS = _env_int("ACTION_DUE_REMINDER_DAYS", 1)
    #: Overdue actions are reminded once, if they fell due at most this many days ago.
    ACTION_OVERDUE_REMINDER_DAYS = _env_int("ACTION_OVERDUE_REMINDER_DAYS", 7)
    #: Weekday of the weekly digest (0 = Monday); a missed day is caught up later that week.
    DIGEST_WEEKDAY = _env_int("DIGEST_WEEKDAY", 0)

    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
