"""Django settings for Newsdesk.

Everything that differs between machines comes from environment variables,
each documented in the README ("Settings"). The defaults give a working
single-machine install (SQLite under ``var/`` and a Redis on loopback); a
production install sets ``DEBUG=false``, a real ``SECRET_KEY``,
``DATABASE_URL`` and ``REDIS_URL``.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from .env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("NEWSDESK_VAR_DIR", str(BASE_DIR / "var")))
# Local state lives here (SQLite file, beat schedule, embedded Redis); create it
# so a fresh checkout or a new NEWSDESK_VAR_DIR works without a setup step.
VAR_DIR.mkdir(parents=True, exist_ok=True)

# --- Core -------------------------------------------------------------------

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

# --- Database ---------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'newsdesk.sqlite3'}")
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

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# Django's model backend behind a failed-login throttle (per IP and per account),
# so admin's login form is throttled too. See newsdesk/accounts/throttle.py.
AUTHENTICATION_BACKENDS = ["newsdesk.accounts.throttle.ThrottledModelBackend"]
NEWSDESK_LOGIN_MAX_FAILURES_PER_ACCOUNT = env_int("NEWSDESK_LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)
NEWSDESK_LOGIN_MAX_FAILURES_PER_IP = env_int("NEWSDESK_LOGIN_MAX_FAILURES_PER_IP", 20)
NEWSDESK_LOGIN_LOCKOUT_SECONDS = env_int("NEWSDESK_LOGIN_LOCKOUT_SECONDS", 900)
# Reverse proxies in front of gunicorn that append to X-Forwarded-For; 0 trusts REMOTE_ADDR only.
NEWSDESK_TRUSTED_PROXY_COUNT = env_int("NEWSDESK_TRUSTED_PROXY_COUNT", 0)
# A signed-in session lasts this long (12 hours: a working day, not a fortnight).
SESSION_COOKIE_AGE = env_int("NEWSDESK_SESSION_SECONDS", 12 * 3600)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "dashboard"

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

# --- Redis / Celery ---------------------------------------------------------

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

# Why each of these is set: docs/operations.md ("Celery settings").
# Every task gets both limits: the soft one raises inside the task so it can
# record what happened; the hard one kills the child process.
CELERY_TASK_TIME_LIMIT = env_int("NEWSDESK_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("NEWSDESK_TASK_SOFT_TIME_LIMIT", 240)
# Longest countdown a retry waits (retry_backoff_max in newsdesk/tasks.py).
NEWSDESK_RETRY_BACKOFF_MAX = 600
# The Redis transport redelivers an unacknowledged message after this many
# seconds. A worker holds a message unacked while it waits out a retry
# countdown and while it runs the task, so the timeout must exceed both
# together, or a healthy slow task runs twice.
_VISIBILITY_TIMEOUT = env_int("NEWSDESK_VISIBILITY_TIMEOUT", 3600)
if _VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT + NEWSDESK_RETRY_BACKOFF_MAX:
    raise ImproperlyConfigured(
        f"NEWSDESK_VISIBILITY_TIMEOUT ({_VISIBILITY_TIMEOUT}s) must exceed NEWSDESK_TASK_TIME_LIMIT "
        f"({CELERY_TASK_TIME_LIMIT}s) plus the longest retry countdown ({NEWSDESK_RETRY_BACKOFF_MAX}s)."
    )
if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("NEWSDESK_TASK_SOFT_TIME_LIMIT must be below NEWSDESK_TASK_TIME_LIMIT.")
# Runs of one task for one object that may end abnormally (worker killed,
# time limit, crash) before the work becomes a dead letter (newsdesk/ops/).
NEWSDESK_DEAD_LETTER_AFTER = env_int("NEWSDESK_DEAD_LETTER_AFTER", 3)

CELERY_BROKER_URL = REDIS_URL
_REDIS_TRANSPORT_OPTIONS = {"visibility_timeout": _VISIBILITY_TIMEOUT, "socket_keepalive": True}
CELERY_BROKER_TRANSPORT_OPTIONS = dict(_REDIS_TRANSPORT_OPTIONS)
# Only read if a Redis result backend is ever switched on; it must agree.
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = dict(_REDIS_TRANSPORT_OPTIONS)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Keep reconnecting to a restarting Redis for ever instead of exiting after 100 tries.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Sending a message while Redis restarts: keep trying for about half a minute.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 15, "interval_start": 0, "interval_step": 1, "interval_max": 3}
# Queues: poll (feeds), enrich (language, translation, coverage), drops
# (file inboxes), default (heartbeat, anything unrouted). A worker started
# without -Q consumes all of them; production runs one pool per queue.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [Queue(name) for name in ("poll", "enrich", "drops", "default")]
CELERY_TASK_ROUTES = {
    # The sweeps are cheap and must not wait behind a backlog they would fix.
    "newsdesk.tasks.dispatch_due_sources": {"queue": "default"},
    "newsdesk.tasks.retry_pending_translations": {"queue": "default"},
    "newsdesk.tasks.poll_sources": {"queue": "poll"},
    "newsdesk.tasks.poll_source": {"queue": "poll"},
    "newsdesk.tasks.enrich_article": {"queue": "enrich"},
    "newsdesk.tasks.retranslate_article": {"queue": "enrich"},
    "newsdesk.tasks.scan_drop_sources": {"queue": "drops"},
    "newsdesk.tasks.*drop*": {"queue": "drops"},
}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# A child that grew by more than this (kB) beyond the size it was forked at
# is replaced after its task (feed parsing can fragment memory over days);
# newsdesk/ops/memory.py turns it into Celery's per-child limit at start-up,
# so the preloaded language models never count. 0 switches the guard off.
NEWSDESK_WORKER_MAX_GROWTH_KB = env_int("NEWSDESK_WORKER_MAX_GROWTH_KB", 500_000)
if env_str("NEWSDESK_WORKER_MAX_MEMORY_KB", ""):
    raise ImproperlyConfigured(
        "NEWSDESK_WORKER_MAX_MEMORY_KB (an absolute size) was replaced by NEWSDESK_WORKER_MAX_GROWTH_KB: "
        "how much a worker child may grow beyond the size it starts at (README, 'Memory')."
    )
CELERY_WORKER_MAX_MEMORY_PER_CHILD = None
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "dispatch-due-sources": {
        "task": "newsdesk.tasks.dispatch_due_sources",
        "schedule": env_float("NEWSDESK_DISPATCH_SECONDS", 60.0),
    },
    "scan-drop-sources": {
        "task": "newsdesk.tasks.scan_drop_sources",
        "schedule": env_float("NEWSDESK_DROP_SCAN_SECONDS", 30.0),
    },
    "retry-pending-translations": {
        "task": "newsdesk.tasks.retry_pending_translations",
        "schedule": env_float("NEWSDESK_TRANSLATION_RETRY_SECONDS", 300.0),
    },
    "prune-fetch-history": {
        "task": "newsdesk.tasks.prune_fetch_history",
        "schedule": 3600.0,
    },
    "worker-heartbeat": {
        "task": "newsdesk.tasks.heartbeat",
        "schedule": 30.0,
    },
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "newsdesk",
    }
}

# --- Newsdesk ---------------------------------------------------------------

NEWSDESK_DROP_ROOT = Path(env_str("NEWSDESK_DROP_ROOT", str(VAR_DIR / "drops")))
# File drops (newsdesk/drops/, README "File drops"). Files larger than this are
# refused to failed/; it also caps each member unpacked from a .zip.
NEWSDESK_DROP_MAX_BYTES = env_int("NEWSDESK_DROP_MAX_BYTES", 10 * 1024 * 1024)
# A file is taken once it has not changed (ctime) for this long, so a writer
# still appending is never read half-way. inotify (watch_drops) skips the wait
# for files it saw moved in or closed.
NEWSDESK_DROP_SETTLE_SECONDS = env_float("NEWSDESK_DROP_SETTLE_SECONDS", 2.0)
# Beat's scan interval (read again here for watch_drops' fallback full scan).
NEWSDESK_DROP_SCAN_SECONDS = env_float("NEWSDESK_DROP_SCAN_SECONDS", 30.0)
# Files claimed and stored per transaction: one commit per batch is what makes
# backfills of thousands of files fast; claims stay locked until their batch commits.
NEWSDESK_DROP_BATCH_FILES = env_int("NEWSDESK_DROP_BATCH_FILES", 500)
# .zip archives are unpacked in memory within these limits (zip bombs, traversal).
NEWSDESK_DROP_ZIP_MAX_MEMBERS = env_int("NEWSDESK_DROP_ZIP_MAX_MEMBERS", 1000)
NEWSDESK_DROP_ZIP_MAX_BYTES = env_int("NEWSDESK_DROP_ZIP_MAX_BYTES", 100 * 1024 * 1024)

# Fetching (newsdesk/ingest/fetch.py)
NEWSDESK_FETCH_CONNECT_TIMEOUT = env_float("NEWSDESK_FETCH_CONNECT_TIMEOUT", 5.0)
NEWSDESK_FETCH_READ_TIMEOUT = env_float("NEWSDESK_FETCH_READ_TIMEOUT", 10.0)
NEWSDESK_FETCH_DEADLINE = env_float("NEWSDESK_FETCH_DEADLINE", 30.0)
NEWSDESK_FETCH_MAX_BYTES = env_int("NEWSDESK_FETCH_MAX_BYTES", 10 * 1024 * 1024)
# CIDR networks that the SSRF guard lets through (intranet feeds, tests).
NEWSDESK_FETCH_ALLOWED_NETWORKS = env_list("NEWSDESK_FETCH_ALLOWED_NETWORKS", [])
NEWSDESK_MAX_ITEMS_PER_POLL = env_int("NEWSDESK_MAX_ITEMS_PER_POLL", 200)

# Scheduling
NEWSDESK_POLL_MIN_SECONDS = env_int("NEWSDESK_POLL_MIN_SECONDS", 300)
NEWSDESK_POLL_MAX_SECONDS = env_int("NEWSDESK_POLL_MAX_SECONDS", 86400)
NEWSDESK_ERROR_BACKOFF_MAX_SECONDS = env_int("NEWSDESK_ERROR_BACKOFF_MAX_SECONDS", 86400)
NEWSDESK_DISABLE_AFTER_DAYS = env_float("NEWSDESK_DISABLE_AFTER_DAYS", 7.0)
# FetchAttempt rows (one per poll or drop file) older than this are deleted
# hourly, in batches; 0 keeps them forever. The stats page reads 7 days.
NEWSDESK_FETCH_HISTORY_DAYS = env_float("NEWSDESK_FETCH_HISTORY_DAYS", 30.0)
# Sources per poll message: batching amortises Celery's per-task overhead.
# Batch size x fetch deadline / poll threads must stay under the task soft time limit.
NEWSDESK_POLL_BATCH_SIZE = env_int("NEWSDESK_POLL_BATCH_SIZE", 20)
# Fetches of one batch overlap in this many threads per worker process (I/O bound).
NEWSDESK_POLL_THREADS = env_int("NEWSDESK_POLL_THREADS", 4)
# Most sources one dispatcher tick sends (the rest wait for the next tick).
NEWSDESK_DISPATCH_LIMIT = env_int("NEWSDESK_DISPATCH_LIMIT", 100000)
# Celery queue for poll messages (a separate queue lets polling workers scale apart from enrichment).
NEWSDESK_POLL_QUEUE = env_str("NEWSDESK_POLL_QUEUE", "poll")

# Language and translation (newsdesk/enrich/)
NEWSDESK_TARGET_LANGUAGE = "en"
NEWSDESK_LANGUAGES = env_list(
    "NEWSDESK_LANGUAGES",
    [
        "ar",
        "bg",
        "ca",
        "cs",
        "da",
        "de",
        "el",
        "en",
        "es",
        "et",
        "fa",
        "fi",
        "fr",
        "he",
        "hi",
        "hr",
        "hu",
        "id",
        "it",
        "ja",
        "ko",
        "lt",
        "lv",
        # "ms" (Malay) is left out: lingua labels most Malay text Indonesian.
        # A source declared "ms" keeps "ms" (see newsdesk/enrich/language.py).
        "nl",
        "nb",
        "pl",
        "pt",
        "ro",
        "ru",
        "sk",
        "sl",
        "sr",
        "sv",
        "th",
        "tl",
        "tr",
        "uk",
        "ur",
        "vi",
        "zh",
    ],
)
# lingua accuracy: "high" (about 950 MB, shared by a worker's pool processes because the
# Celery master preloads it before forking) or "low" (about 100 MB, weaker on short texts).
NEWSDESK_LANGUAGE_ACCURACY = env_str("NEWSDESK_LANGUAGE_ACCURACY", "high")
NEWSDESK_LANGUAGE_PRELOAD = env_bool("NEWSDESK_LANGUAGE_PRELOAD", True)
# Confidence (0..1) above which the detected language overrides the declared one.
NEWSDESK_LANGUAGE_MIN_CONFIDENCE = env_float("NEWSDESK_LANGUAGE_MIN_CONFIDENCE", 0.5)
# Ordered fallback chain: google, deepl, microsoft, libre, mymemory.
NEWSDESK_TRANSLATORS = env_list("NEWSDESK_TRANSLATORS", ["google"])
# Our own deadline (seconds) around every provider call; deep-translator sets none.
NEWSDESK_TRANSLATION_TIMEOUT = env_float("NEWSDESK_TRANSLATION_TIMEOUT", 15.0)
# In-call retries of transient failures (timeouts, 5xx, refused), exponential backoff with full jitter.
NEWSDESK_TRANSLATION_RETRIES = env_int("NEWSDESK_TRANSLATION_RETRIES", 2)
NEWSDESK_TRANSLATION_BACKOFF = env_float("NEWSDESK_TRANSLATION_BACKOFF", 0.5)
# Circuit breaker per provider, shared through Redis: opens after this many failures
# within the window, stays open for the cooldown (doubling up to the max while probes fail).
NEWSDESK_TRANSLATION_BREAKER_FAILURES = env_int("NEWSDESK_TRANSLATION_BREAKER_FAILURES", 5)
NEWSDESK_TRANSLATION_BREAKER_WINDOW = env_float("NEWSDESK_TRANSLATION_BREAKER_WINDOW", 60.0)
NEWSDESK_TRANSLATION_BREAKER_COOLDOWN = env_float("NEWSDESK_TRANSLATION_BREAKER_COOLDOWN", 60.0)
NEWSDESK_TRANSLATION_BREAKER_MAX_COOLDOWN = env_float("NEWSDESK_TRANSLATION_BREAKER_MAX_COOLDOWN", 1800.0)
# Requests per second per provider, shared by all workers ("name=rate,..."; 0 = unlimited).
# The free Google endpoint must stay under 5/s.
NEWSDESK_TRANSLATION_RATES = env_str("NEWSDESK_TRANSLATION_RATES", "google=4,deepl=10,microsoft=10,libre=20,mymemory=2")
# Characters per UTC day per provider ("name=chars,..."; 0 = unlimited). DeepL Free allows
# 500,000 a month, Microsoft F0 2,000,000 a month, MyMemory 50,000 a day with an e-mail.
NEWSDESK_TRANSLATION_DAILY_CHARS = env_str(
    "NEWSDESK_TRANSLATION_DAILY_CHARS", "google=2000000,deepl=16000,microsoft=64000,libre=0,mymemory=45000"
)
# After this many attempts a pending article is marked failed (the admin action retries it).
NEWSDESK_TRANSLATION_MAX_ATTEMPTS = env_int("NEWSDESK_TRANSLATION_MAX_ATTEMPTS", 30)
NEWSDESK_GOOGLE_TRANSLATE_URL = env_str("NEWSDESK_GOOGLE_TRANSLATE_URL", "")
NEWSDESK_LIBRETRANSLATE_URL = env_str("NEWSDESK_LIBRETRANSLATE_URL", "")
NEWSDESK_LIBRETRANSLATE_KEY = env_str("NEWSDESK_LIBRETRANSLATE_KEY", "")
NEWSDESK_DEEPL_KEY = env_str("NEWSDESK_DEEPL_KEY", "")
NEWSDESK_DEEPL_FREE = env_bool("NEWSDESK_DEEPL_FREE", True)
NEWSDESK_MICROSOFT_KEY = env_str("NEWSDESK_MICROSOFT_KEY", "")
NEWSDESK_MICROSOFT_REGION = env_str("NEWSDESK_MICROSOFT_REGION", "")
NEWSDESK_MYMEMORY_EMAIL = env_str("NEWSDESK_MYMEMORY_EMAIL", "")
# Base URL overrides (self-hosted gateways, and loopback providers in tests).
NEWSDESK_DEEPL_URL = env_str("NEWSDESK_DEEPL_URL", "")
NEWSDESK_MICROSOFT_URL = env_str("NEWSDESK_MICROSOFT_URL", "")
NEWSDESK_MYMEMORY_URL = env_str("NEWSDESK_MYMEMORY_URL", "")

# Similar Coverage (newsdesk/coverage/)
# How far apart two articles of one story may be published. Running stories
# (a war, an election, a trial) get follow-ups for weeks; the similarity loses
# a little with the gap, and candidate reads are capped per term, so a long
# window costs precision only at the margin and no time. 60 days: events such
# as a trial or a scandal run for weeks with quiet spells in between.
NEWSDESK_COVERAGE_WINDOW_HOURS = env_float("NEWSDESK_COVERAGE_WINDOW_HOURS", 1440.0)
# On PostgreSQL the story assignment's few statements are prepared once per
# connection (planning them cost about as much as running them). Turn off
# behind a pooler that does not keep sessions (PgBouncer in transaction mode).
NEWSDESK_COVERAGE_PREPARED_STATEMENTS = env_bool("NEWSDESK_COVERAGE_PREPARED_STATEMENTS", True)
# On PostgreSQL a story assignment commits without waiting for its WAL flush
# (synchronous_commit off for that transaction only). A database crash can
# then forget the last fraction of a second of assignments; the articles stay
# enriched and without a story, and the retry sweep (every
# NEWSDESK_TRANSLATION_RETRY_SECONDS) assigns them again after 10 minutes.
NEWSDESK_COVERAGE_ASYNC_COMMIT = env_bool("NEWSDESK_COVERAGE_ASYNC_COMMIT", True)
# Optional semantic backend (`make semantic-multilingual` or `make semantic`):
# sentence embeddings of titles and leads mixed into the similarity.
# auto = on when its packages import; on = required (startup fails without
# them); off = lexical only, exactly as without the packages.
NEWSDESK_COVERAGE_SEMANTIC = env_str("NEWSDESK_COVERAGE_SEMANTIC", "auto").strip().lower()
if NEWSDESK_COVERAGE_SEMANTIC not in ("auto", "on", "off"):
    raise ImproperlyConfigured("NEWSDESK_COVERAGE_SEMANTIC must be auto, on or off.")
# Which model: multilingual-e5-small (requirements-semantic-multilingual.txt,
# reads every language untranslated), all-minilm-l6-v2 (English text only),
# or auto: the multilingual one when installed, else MiniLM.
NEWSDESK_COVERAGE_SEMANTIC_MODEL = env_str("NEWSDESK_COVERAGE_SEMANTIC_MODEL", "auto").strip().lower()
if NEWSDESK_COVERAGE_SEMANTIC_MODEL not in ("auto", "multilingual-e5-small", "all-minilm-l6-v2"):
    raise ImproperlyConfigured(
        "NEWSDESK_COVERAGE_SEMANTIC_MODEL must be auto, multilingual-e5-small or all-minilm-l6-v2."
    )
# CPU threads of the multilingual model's engine in each process (Celery
# runs one process per core already).
NEWSDESK_COVERAGE_SEMANTIC_THREADS = env_int("NEWSDESK_COVERAGE_SEMANTIC_THREADS", 1)

# Operations (newsdesk/ops/): Prometheus metrics at /metrics, off by default.
NEWSDESK_METRICS = env_bool("NEWSDESK_METRICS", False)
# When set, /metrics wants "Authorization: Bearer <token>".
NEWSDESK_METRICS_TOKEN = env_str("NEWSDESK_METRICS_TOKEN", "")

# Web
NEWSDESK_DASHBOARD_PUBLIC = env_bool("NEWSDESK_DASHBOARD_PUBLIC", True)
# Saved views ("desks", newsdesk/accounts/): per editor, and the cap of the "N new" badge ("99+").
NEWSDESK_MAX_SAVED_VIEWS = env_int("NEWSDESK_MAX_SAVED_VIEWS", 50)
NEWSDESK_NEW_COUNT_CAP = env_int("NEWSDESK_NEW_COUNT_CAP", 99)
# Seconds a saved view's "N new" badge is cached (0 = always count afresh).
NEWSDESK_NEW_COUNT_CACHE_SECONDS = env_int("NEWSDESK_NEW_COUNT_CACHE_SECONDS", 30)
NEWSDESK_PAGE_SIZE = env_int("NEWSDESK_PAGE_SIZE", 30)
NEWSDESK_FEED_SIZE = env_int("NEWSDESK_FEED_SIZE", 50)
# Cache-Control max-age of feeds; readers revalidate with ETag/Last-Modified after it.
NEWSDESK_FEED_MAX_AGE = env_int("NEWSDESK_FEED_MAX_AGE", 300)
# Seconds a feed's validator is memoized for 304s (newsdesk/changes.py). Writes
# invalidate it at once; the expiry only bounds a change missed while the
# cache was unreachable.
NEWSDESK_FEED_VALIDATOR_TTL = env_int("NEWSDESK_FEED_VALIDATOR_TTL", NEWSDESK_FEED_MAX_AGE)
# How long the stats charts and the dashboard's category list are cached.
NEWSDESK_STATS_CACHE_SECONDS = env_int("NEWSDESK_STATS_CACHE_SECONDS", 300)
# Rendered dashboard cards kept per web process, keyed by everything a card shows (0 = off).
NEWSDESK_CARD_CACHE = env_int("NEWSDESK_CARD_CACHE", 4096)
# Serialised feed items kept per web process, keyed by everything an item shows (0 = off).
NEWSDESK_FEED_ITEM_CACHE = env_int("NEWSDESK_FEED_ITEM_CACHE", 4096)
# /healthz: the worker heartbeat is written every 30 s; the dispatcher runs every minute.
NEWSDESK_HEALTH_MAX_HEARTBEAT_AGE = env_int("NEWSDESK_HEALTH_MAX_HEARTBEAT_AGE", 120)
NEWSDESK_HEALTH_MAX_BEAT_LAG = env_int("NEWSDESK_HEALTH_MAX_BEAT_LAG", 600)
NEWSDESK_HEALTH_TIMEOUT = env_float("NEWSDESK_HEALTH_TIMEOUT", 2.0)

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
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if env_str("NEWSDESK_LOG_FORMAT", "kv") == "json" else "kv",
            "filters": ["redact_tokens", "task"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # runserver's request lines, through the redacting handler instead of Django's own.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
