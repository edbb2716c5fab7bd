"""Celery signal hooks: a log line per task start and end, task timings, and database connections.

Database connections live across tasks (``CELERY_DB_REUSE_MAX``): before and
after each task a connection that broke or outlived ``DB_CONN_MAX_AGE`` is
closed (Django's ``close_old_connections``, what it does around each web
request), so a worker child keeps one PostgreSQL backend, and its prepared
statements, instead of opening one per task.

Timings go to Redis (one hash per task name holding histogram buckets), not to
process memory: a prefork worker is many processes and a deployment is many
machines, and /metrics, served by any gunicorn process, must see them all.
Redis trouble never fails a task: the hook logs and moves on.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery.signals import task_postrun, task_prerun, task_retry
from django.db import close_old_connections

from newsdesk.redisconn import redis_client

log = logging.getLogger("newsdesk.tasks")

# Seconds; the upper bounds of the task-duration histogram buckets.
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
DURATION_KEY = "newsdesk:metrics:task_duration:"
STATE_KEY = "newsdesk:metrics:task_state"

_started: dict[str, float] = {}


def _client() -> Any:
    return redis_client(timeout=2)


def _object_fields(args: Any, kwargs: Any) -> str:
    """``source_id=12`` style context from the task's name and first argument."""
    if kwargs:
        return " ".join(f"{k}={v}" for k, v in sorted(kwargs.items()) if k.endswith("_id"))
    return ""


def _id_field(task_name: str) -> str:
    if task_name.endswith("poll_source"):
        return "source_id"
    if task_name.endswith("enrich_article"):
        return "article_id"
    return "object_id"


def _context(task: Any, args: Any, kwargs: Any) -> str:
    fields = _object_fields(args, kwargs)
    if not fields and args and isinstance(args[0], int | str):
        fields = f"{_id_field(task.name)}={args[0]}"
    return fields


def duration_record(*, task_name: str, seconds: float, state: str) -> None:
    """Add one observation to the task's histogram in Redis."""
    key = DURATION_KEY + task_name
    pipe = _client().pipeline(transaction=False)
    for bound in DURATION_BUCKETS:
        if seconds <= bound:
            pipe.hincrby(key, f"le:{bound}", 1)
    pipe.hincrby(key, "count", 1)
    pipe.hincrbyfloat(key, "sum", seconds)
    pipe.hincrby(STATE_KEY, f"{task_name}|{state}", 1)
    pipe.execute()


@task_prerun.connect
def on_task_prerun(
    task_id: str | None = None, task: Any = None, args: Any = None, kwargs: Any = None, **_: Any
) -> None:
    if task_id:
        _started[task_id] = time.monotonic()
    if not getattr(task.request, "is_eager", False):
        close_old_connections()
    log.info(
        "event=task_start task_name=%s %s retries=%s",
        task.name,
        _context(task, args, kwargs),
        getattr(task.request, "retries", 0),
    )


@task_postrun.connect
def on_task_postrun(
    task_id: str | None = None,
    task: Any = None,
    args: Any = None,
    kwargs: Any = None,
    state: str | None = None,
    **_: Any,
) -> None:
    started = _started.pop(task_id or "", None)
    seconds = time.monotonic() - started if started is not None else 0.0
    if not getattr(task.request, "is_eager", False):
        close_old_connections()
    log.info(
        "event=task_end task_name=%s %s state=%s ms=%d", task.name, _context(task, args, kwargs), state, seconds * 1000
    )
    if started is None:
        return
    try:
        duration_record(task_name=task.name, seconds=seconds, state=state or "UNKNOWN")
    except Exception as exc:  # redis errors of every kind; metrics must never fail a task
        log.warning("event=metrics_write_failed error=%s", type(exc).__name__)


@task_retry.connect
def on_task_retry(request: Any = None, reason: Any = None, **_: Any) -> None:
    log.warning("event=task_retry task_id=%s reason=%r", getattr(request, "id", ""), str(reason)[:300])
