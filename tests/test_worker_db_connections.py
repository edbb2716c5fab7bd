"""A worker child keeps its database connection across tasks (PostgreSQL).

Celery's Django fixup closes every connection around each task unless
``CELERY_DB_REUSE_MAX`` is set: each enrichment batch then paid a new
PostgreSQL backend and planned its prepared statements again. The fixup is
installed here as the worker installs it, and the task signals are sent as
the worker sends them.
"""

from __future__ import annotations

import pytest
from celery import signals
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from config.celery import app
from newsdesk.tasks import enrich_articles


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _run_task(task_id: str) -> int:
    """What a worker child does around one task: the signals, and the task's queries between them."""
    signals.task_prerun.send(sender=enrich_articles, task_id=task_id, task=enrich_articles, args=([],), kwargs={})
    pid = _backend_pid()
    signals.task_postrun.send(
        sender=enrich_articles, task_id=task_id, task=enrich_articles, args=([],), kwargs={}, state="SUCCESS"
    )
    return pid


@pytest.fixture
def worker_fixup():
    fixup = DjangoWorkerFixup(app).install()
    yield fixup
    signals.task_prerun.disconnect(fixup.on_task_prerun)
    signals.task_postrun.disconnect(fixup.on_task_postrun)
    signals.worker_process_init.disconnect(fixup.on_worker_process_init)
    signals.beat_embedded_init.disconnect(fixup.close_database)


@pytest.mark.django_db(transaction=True)
def test_tasks_reuse_one_connection_and_a_broken_one_is_replaced(worker_fixup):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite connections are closed after every task on purpose (CONN_MAX_AGE 0)")
    assert worker_fixup.db_reuse_max  # the setting reached the fixup, or it closes after every task
    first = _run_task("t1")
    assert [_run_task(f"t{i}") for i in range(2, 6)] == [first] * 4
    # A connection that failed and no longer answers is replaced before the next task.
    connection.connection.close()
    connection.errors_occurred = True
    replaced = _run_task("t6")
    assert replaced != first
    assert _run_task("t7") == replaced
