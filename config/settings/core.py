"""Django itself: paths, debug and secret, apps, middleware, templates,
time, static files, security headers and logging."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("NEWSDESK_VAR_DIR", str(BASE_DIR / "var")))
# Local state lives here (SQLite file, beat schedule, embedded Redis); create it
# so a fresh checkout or a new NEWSDESK_VAR_DIR works without a setup step.
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)

# The development key is public (it is in this file), so production refuses it.
_DEV_SECRET_KEY = "newsdesk-insecure-development-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY or SECRET_KEY == _DEV_SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is missing or is the public development key. Set SECRET_KEY "
            "to a long random value (python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEBUG=true for local development."
        )
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "newsdesk.apps.NewsdeskConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "newsdesk.web.csp.CachedCSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Repeats of unchanged public feeds end here with a 304 (everything above
    # only adds response headers, so the 304 carries them all).
    "newsdesk.web.feeds.FeedRevalidationMiddleware",
    # The live dashboard's polls end here too (a private desk's after one whole-stack check per session).
    "newsdesk.web.live.LiveMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Default-deny access policy for a private desk (NEWSDESK_DASHBOARD_PUBLIC=false).
    "newsdesk.accounts.middleware.AccessPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- I18N / time ------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static -----------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))

# --- Security headers ---------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# TLS is terminated in front of gunicorn in production; these follow DEBUG
# unless set explicitly (a plain-HTTP intranet install can turn them off).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
if env_bool("USE_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (django-csp 4): no inline script, no third parties.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- Logging ----------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        # One line per event with task and task_id (newsdesk/ops/logging.py).
        "kv": {"()": "newsdesk.ops.logging.KeyValueFormatter"},
        "json": {"()": "newsdesk.ops.logging.JsonFormatter"},
    },
    # Private-feed tokens travel in URL paths; this filter strips them from every line.
    "filters": {
        "redact_tokens": {"()": "newsdesk.accounts.logredact.RedactTokens"},
        "task": {"()": "newsdesk.ops.logging.TaskContextFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if env_str("NEWSDESK_LOG_FORMAT", "kv") == "json" else "kv",
            "filters": ["redact_tokens", "task"],
        },
        # Django's own error mail, behind the same filter (it would print the request's path).
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "redact_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's default handlers for these ("Internal Server Error: /feeds/private/<token>/…"
        # on the console with DEBUG=true, runserver's request lines) are replaced by the
        # redacting ones, in every mode.
        "django": {"handlers": ["console", "mail_admins"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}
