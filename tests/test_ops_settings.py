"""The Celery reliability settings hold together (config/settings.py, config/celery.py)."""

from __future__ import annotations

from django.conf import settings

from config.celery import app
from newsdesk.ops.guard import GuardedTask


def _tasks():
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if name.startswith("newsdesk.")}


def test_late_acks_one_message_at_a_time_and_requeue_on_worker_loss():
    assert app.conf.task_acks_late is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_cancel_long_running_tasks_on_connection_loss is True
    assert app.conf.broker_connection_max_retries is None


def test_every_task_has_time_limits_and_the_dead_letter_guard():
    tasks = _tasks()
    assert "newsdesk.tasks.enrich_article" in tasks
    for name, task in tasks.items():
        hard = task.time_limit or app.conf.task_time_limit
        soft = task.soft_time_limit or app.conf.task_soft_time_limit
        assert hard and soft and soft < hard, name
        assert isinstance(task, GuardedTask), name
        assert hasattr(task, "delay_on_commit"), name


def test_visibility_timeout_outlasts_the_longest_run_plus_retry_wait():
    """Redis redelivers an unacked message after the visibility timeout; a task
    still running or waiting out a retry countdown must never reach it."""
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert app.conf.result_backend_transport_options["visibility_timeout"] == visibility
    for name, task in _tasks().items():
        hard = task.time_limit or app.conf.task_time_limit
        backoff = getattr(task, "retry_backoff_max", 0) if getattr(task, "retry_backoff", False) else 0
        assert backoff <= settings.NEWSDESK_RETRY_BACKOFF_MAX, name
        assert hard + backoff < visibility, name


def test_every_task_and_the_poll_queue_land_on_a_consumed_queue():
    """A worker started without -Q consumes task_queues; a message routed anywhere
    else would sit in Redis for ever."""
    consumed = {q.name for q in app.conf.task_queues}
    assert consumed == {"poll", "enrich", "enrich_bulk", "drops", "default", "refine"}
    for name in _tasks():
        assert app.amqp.router.route({}, name)["queue"].name in consumed, name
    assert settings.NEWSDESK_POLL_QUEUE in consumed
    assert app.amqp.router.route({}, "newsdesk.tasks.enrich_article")["queue"].name == "enrich"
    assert app.amqp.router.route({}, "newsdesk.tasks.enrich_articles")["queue"].name == "enrich"
    assert app.amqp.router.route({}, "newsdesk.tasks.poll_sources")["queue"].name == "poll"
    # Refinement passes, beat's and the one after a burst, on the last lane of their own.
    assert app.amqp.router.route({}, "newsdesk.tasks.refine_stories")["queue"].name == "refine"
    assert app.amqp.router.route({}, "newsdesk.tasks.refine_burst")["queue"].name == "refine"
