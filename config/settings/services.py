"""The database and Redis (Celery's broker and Django's cache).

Development falls back to a SQLite file under ``var/`` and a Redis on
loopback (``make run`` starts an embedded one). Production (``DEBUG`` off)
never falls back silently: it refuses to start unless ``DATABASE_URL`` and
``REDIS_URL`` are set, as it refuses a missing ``SECRET_KEY``. Setting
either to SQLite or to a loopback Redis is a choice and is honoured.
"""

from __future__ import annotations

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_int, env_str
from config.settings.core import DEBUG, VAR_DIR

_DEVELOPMENT_DEFAULTS = {
    "DATABASE_URL": (f"sqlite:///{VAR_DIR / 'newsdesk.sqlite3'}", "postgres://user:password@db-host:5432/newsdesk"),
    "REDIS_URL": ("redis://127.0.0.1:6379/0", "redis://redis-host:6379/0"),
}


def _service_url(name: str) -> str:
    """The URL in the environment, or the development default when ``DEBUG`` is on."""
    value = env_str(name, "").strip()
    if value:
        return value
    default, example = _DEVELOPMENT_DEFAULTS[name]
    if not DEBUG:
        raise ImproperlyConfigured(
            f"{name} is not set, and production (DEBUG off) does not fall back to the development "
            f"default {default}. Set {name} (e.g. {name}={example}; naming the default explicitly "
            "is allowed), or set DEBUG=true for local development."
        )
    return default


DATABASE_URL = _service_url("DATABASE_URL")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a worker writes; IMMEDIATE makes
    # writers queue on the lock instead of failing with "database is locked"
    # when a read transaction tries to upgrade.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file, not :memory:, so that a real Celery worker process started by
    # the end-to-end tests sees the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

REDIS_URL = _service_url("REDIS_URL")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "newsdesk",
    }
}
