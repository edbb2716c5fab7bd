"""Celery: time limits, retries, redelivery, queues, routes and beat.

Why each of these is set: docs/operations.md ("Celery settings").
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from config.env import env_int, env_str
from config.settings.core import VAR_DIR
from config.settings.coverage import NEWSDESK_COVERAGE_REFINE_MINUTES
from config.settings.delivery import (
    NEWSDESK_ALERT_SWEEP_SECONDS,
    NEWSDESK_DELIVERY_DISPATCH_SECONDS,
    NEWSDESK_WEBSUB_PUBLISH_SECONDS,
)
from config.settings.drops import NEWSDESK_DROP_SCAN_SECONDS
from config.settings.enrich import NEWSDESK_TRANSLATION_RETRY_SECONDS
from config.settings.ingest import NEWSDESK_DISPATCH_SECONDS
from config.settings.services import REDIS_URL

# Every task gets both limits: the soft one raises inside the task so it can
# record what happened; the hard one kills the child process.
CELERY_TASK_TIME_LIMIT = env_int("NEWSDESK_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("NEWSDESK_TASK_SOFT_TIME_LIMIT", 240)
if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("NEWSDESK_TASK_SOFT_TIME_LIMIT must be below NEWSDESK_TASK_TIME_LIMIT.")
# Longest countdown a retry waits (every retrying task's retry_backoff_max, newsdesk/tasks.py).
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

CELERY_BROKER_URL = REDIS_URL
_REDIS_TRANSPORT_OPTIONS = {"visibility_timeout": _VISIBILITY_TIMEOUT, "socket_keepalive": True}
# A worker reading several queues takes them in lane order (default, poll, drops, enrich,
# enrich_bulk, refine), not in turn: newsdesk/ops/lanes.py says why.
CELERY_BROKER_TRANSPORT_OPTIONS = dict(_REDIS_TRANSPORT_OPTIONS, queue_order_strategy="newsdesk.ops.lanes:LaneCycle")
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
# enrich_bulk takes the rest of a source's burst of new articles (newsdesk/flow.py), so
# that a worker reading both never makes another source's new items wait behind it.
# refine takes the refinement passes (beat's, and the one after a burst), last of all.
CELERY_TASK_QUEUES = [Queue(name) for name in ("default", "poll", "drops", "enrich", "enrich_bulk", "refine")]
CELERY_TASK_ROUTES = {
    # The sweeps are cheap and must not wait behind a backlog they would fix.
    "newsdesk.tasks.dispatch_due_sources": {"queue": "default"},
    "newsdesk.tasks.retry_pending_translations": {"queue": "default"},
    "newsdesk.tasks.poll_sources": {"queue": "poll"},
    "newsdesk.tasks.poll_source": {"queue": "poll"},
    "newsdesk.tasks.enrich_article": {"queue": "enrich"},
    "newsdesk.tasks.enrich_articles": {"queue": "enrich"},
    "newsdesk.tasks.retranslate_article": {"queue": "enrich"},
    "newsdesk.tasks.scan_drop_sources": {"queue": "drops"},
    "newsdesk.tasks.*drop*": {"queue": "drops"},
    "newsdesk.tasks.sweep_alerts": {"queue": "default"},
    "newsdesk.tasks.dispatch_deliveries": {"queue": "default"},
    "newsdesk.tasks.deliver": {"queue": "default"},
    "newsdesk.tasks.hub_subscribe_request": {"queue": "default"},
    "newsdesk.tasks.renew_hub_subscriptions": {"queue": "default"},
    "newsdesk.tasks.prune_alerts_and_deliveries": {"queue": "default"},
    # Seconds of CPU over the last 48 hours' articles: on a queue of their own, the
    # last lane, so that no new item ever waits behind a pass (newsdesk/ops/lanes.py).
    "newsdesk.tasks.refine_stories": {"queue": "refine"},
    "newsdesk.tasks.refine_burst": {"queue": "refine"},
}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes every database connection before and after
# each task unless this is set: a new PostgreSQL backend per enrichment batch,
# its statements planned and prepared again each time. Set, the fixup closes
# them only every this many tasks, and newsdesk/ops/celery_hooks.py closes a
# broken or expired one (DB_CONN_MAX_AGE) around each task, as Django does
# around each request.
CELERY_DB_REUSE_MAX = 1000
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
        "schedule": NEWSDESK_DISPATCH_SECONDS,
    },
    "scan-drop-sources": {
        "task": "newsdesk.tasks.scan_drop_sources",
        "schedule": NEWSDESK_DROP_SCAN_SECONDS,
    },
    "retry-pending-translations": {
        "task": "newsdesk.tasks.retry_pending_translations",
        "schedule": NEWSDESK_TRANSLATION_RETRY_SECONDS,
    },
    "release-held-articles": {
        "task": "newsdesk.tasks.release_held_articles",
        "schedule": 30.0,  # newsdesk.enrich.finished.RELEASE_SECONDS
    },
    "websub-publish": {
        "task": "newsdesk.tasks.websub_publish",
        "schedule": NEWSDESK_WEBSUB_PUBLISH_SECONDS,
    },
    "refine-stories": {
        "task": "newsdesk.tasks.refine_stories",
        "schedule": max(60.0, NEWSDESK_COVERAGE_REFINE_MINUTES * 60.0),
    },
    "prune-fetch-history": {
        "task": "newsdesk.tasks.prune_fetch_history",
        "schedule": 3600.0,
    },
    "prune-coverage-boilerplate": {
        "task": "newsdesk.tasks.prune_coverage_boilerplate",
        "schedule": 3600.0,
    },
    "sweep-alerts": {
        "task": "newsdesk.tasks.sweep_alerts",
        "schedule": NEWSDESK_ALERT_SWEEP_SECONDS,
    },
    "prune-alerts-and-deliveries": {
        "task": "newsdesk.tasks.prune_alerts_and_deliveries",
        "schedule": 3600.0,
    },
    "dispatch-deliveries": {
        "task": "newsdesk.tasks.dispatch_deliveries",
        "schedule": NEWSDESK_DELIVERY_DISPATCH_SECONDS,
    },
    "renew-hub-subscriptions": {
        "task": "newsdesk.tasks.renew_hub_subscriptions",
        "schedule": 60.0,  # cheap: leases run for days, and only due rows are read
    },
    "worker-heartbeat": {
        "task": "newsdesk.tasks.heartbeat",
        "schedule": 30.0,
    },
}
