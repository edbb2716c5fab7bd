"""Celery tasks: thin wrappers that look rows up by id and call a stage.

Every task is safe to run twice: the stages are idempotent and backed by
unique constraints, so a redelivered message (late acks, worker lost) does
no harm.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from newsdesk.enrich.pipeline import article_enrich
from newsdesk.ingest.dispatch import sources_dispatch
from newsdesk.ingest.poll import source_poll, sources_poll
from newsdesk.models import Article, Heartbeat, TranslationStatus

log = logging.getLogger(__name__)

# Transient infrastructure errors worth retrying with backoff. Feed-side and
# provider-side failures are recorded on rows instead, and retried by schedule.
RETRYABLE = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
RETRY = {
    "autoretry_for": RETRYABLE,
    "retry_backoff": 5,
    # The visibility timeout is checked against this at start-up (config/settings/queues.py).
    "retry_backoff_max": settings.NEWSDESK_RETRY_BACKOFF_MAX,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(**RETRY)
def dispatch_due_sources() -> int:
    """Claim due sources and send them in batches, all messages over one
    broker connection (pipelined), to NEWSDESK_POLL_QUEUE."""

    queue = settings.NEWSDESK_POLL_QUEUE
    with poll_sources.app.producer_or_acquire() as producer:
        return sources_dispatch(
            now=timezone.now(),
            send_batch=lambda ids: poll_sources.apply_async((ids,), queue=queue, producer=producer),
        )


def _enqueue_enrich(article_ids: list[int]) -> None:
    if not article_ids:
        return
    with enrich_article.app.producer_or_acquire() as producer:
        for article_id in article_ids:
            enrich_article.apply_async((article_id,), producer=producer)


@shared_task(**RETRY)
def poll_sources(source_ids: list[int]) -> int:
    """Poll a batch of sources (one message per batch keeps Celery's
    per-task overhead off each poll). Returns how many were polled."""
    results = sources_poll(source_ids=source_ids)
    _enqueue_enrich([article_id for result in results for article_id in result.to_enrich])
    return sum(1 for result in results if result.attempt is not None)


@shared_task(**RETRY)
def poll_source(source_id: int) -> None:
    result = source_poll(source_id=source_id)
    _enqueue_enrich(result.to_enrich)


@shared_task(**RETRY)
def enrich_article(article_id: int) -> None:
    article_enrich(article_id=article_id)


@shared_task(**RETRY)
def scan_drop_sources() -> int:
    from newsdesk.drops.scan import drops_scan_all

    return drops_scan_all(
        on_new_article=lambda article_id: transaction.on_commit(lambda: enrich_article.delay(article_id))
    )


@shared_task(**RETRY)
def retranslate_article(article_id: int) -> None:
    """Translate again even if done (admin action "re-translate selected")."""
    article_enrich(article_id=article_id, force_translation=True)


@shared_task(**RETRY)
def retry_pending_translations(limit: int = 500) -> int:
    """Re-queue enrichment for articles whose translation is pending (provider
    outage, open breaker, spent budget) once some provider can take calls again,
    and for articles whose enrich message was lost (never enriched after a grace
    period) or whose story assignment was (enriched, still in no story after
    the same grace period). Failed articles wait for the admin action."""
    from newsdesk.enrich.translate import translation_chain_available

    if enrich_backlog() > 0:
        # Messages from an earlier sweep (or from ingest) are still waiting: adding
        # the same ids again would only grow the queue while the backlog drains.
        return 0
    lost_before = timezone.now() - timedelta(minutes=10)
    # Never enriched (a lost message; recluster may have put it in a story
    # already), or enriched without joining a story (the assignment failed, or
    # its asynchronous commit was lost to a database crash: read through the
    # small partial index of story-less articles).
    lost = Q(enriched_at__isnull=True, fetched_at__lt=lost_before) | Q(story__isnull=True, enriched_at__lt=lost_before)
    ids = list(Article.objects.filter(lost).order_by("id").values_list("id", flat=True)[:limit])
    # While every provider's breaker is open, re-queueing would only churn.
    if len(ids) < limit and translation_chain_available():
        pending = Q(translation_status=TranslationStatus.PENDING, enriched_at__isnull=False)
        more = Article.objects.filter(pending).exclude(id__in=ids).order_by("id").values_list("id", flat=True)
        ids += list(more[: limit - len(ids)])
    for article_id in ids:
        enrich_article.delay(article_id)
    return len(ids)


def enrich_backlog() -> int:
    """Messages waiting in the enrich queue (0 if the broker cannot say)."""
    queue = settings.CELERY_TASK_ROUTES.get("newsdesk.tasks.enrich_article", {}).get("queue", "celery")
    try:
        with enrich_article.app.connection_for_read() as conn:
            return int(conn.default_channel.client.llen(queue))
    except Exception:  # a broker that cannot answer means "unknown", not "busy"
        log.warning("event=enrich_backlog_unknown queue=%s", queue)
        return 0


@shared_task(**RETRY)
def prune_fetch_history() -> int:
    """Delete FetchAttempts older than NEWSDESK_FETCH_HISTORY_DAYS (hourly)."""
    from newsdesk.ops.retention import fetch_history_prune

    return fetch_history_prune(now=timezone.now())


@shared_task
def heartbeat() -> None:
    Heartbeat.objects.update_or_create(name="worker", defaults={"at": timezone.now()})


@worker_ready.connect
def _kick_on_start(**_: object) -> None:
    """Dispatch and scan once when a worker starts, instead of waiting for beat's
    first tick: recovers work left by a restart and gives `make run` instant data."""
    dispatch_due_sources.delay()
    scan_drop_sources.delay()


@shared_task(**RETRY)
def deliver(delivery_id: int) -> str:
    """One attempt of one outgoing delivery (webhook, e-mail); it claims the row itself."""
    from newsdesk.delivery.service import delivery_send

    return delivery_send(delivery_id=delivery_id)


@shared_task(**RETRY)
def dispatch_deliveries() -> int:
    """Re-send deliveries that are due and whose message was lost or whose worker vanished."""
    from newsdesk.delivery.service import deliveries_due

    ids = deliveries_due(now=timezone.now())
    for delivery_id in ids:
        deliver.delay(delivery_id)
    return len(ids)


@shared_task(**RETRY)
def sweep_alerts() -> int:
    """Check every enabled alert against the stories changed since its last check."""
    from newsdesk.alerts.sweep import alerts_sweep

    return alerts_sweep(now=timezone.now()).fired
