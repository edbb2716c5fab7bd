"""Celery tasks: thin wrappers that look rows up by id and call a stage;
and the one public way to queue each kind of work (``*_enqueue``).

Every task is safe to run twice: the stages are idempotent and backed by
unique constraints, so a redelivered message (late acks, worker lost) does
no harm. Every enqueue sends after the caller's transaction commits, so a
worker never looks for a row that is not there yet; a message lost on the
way is re-sent from the database (the dispatcher, the retry sweep).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_ready
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from newsdesk.enrich.finished import articles_release_held
from newsdesk.flow import (
    BULK_QUEUE,
    FRESH_QUEUE,
    article_finish,
    articles_finish,
    articles_in_flight,
    articles_unfinished,
    enrich_batches_plan,
)
from newsdesk.ingest.dispatch import source_batches, sources_dispatch
from newsdesk.ingest.fetch import FetchError
from newsdesk.ingest.poll import (
    polls_mark,
    source_dead_letter,
    source_poll,
    sources_claims_release,
    sources_handled,
    sources_poll,
    sources_reap_stale,
)
from newsdesk.models import Article, Heartbeat
from newsdesk.ops.deadletter import ObjectHooks, SuccessProbe

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
    """Put back sources whose poll never finished (the reaper), then claim due
    sources and send them in batches, all messages over one broker connection
    (pipelined), to NEWSDESK_POLL_QUEUE."""
    now = timezone.now()
    sources_reap_stale(now=now)
    with _poll_batch_sender() as send_batch:
        return sources_dispatch(now=now, send_batch=send_batch)


def enrich_enqueue(*, by_source: dict[int, list[int]]) -> int:
    """Send enrichment for new or changed articles, grouped by their source,
    in batches on the fresh and bulk lanes (newsdesk/flow.py). Returns the messages sent."""
    plan = enrich_batches_plan(by_source=by_source, batch_size=settings.NEWSDESK_ENRICH_BATCH_SIZE)
    if not plan:
        return 0
    try:
        with enrich_articles.app.producer_or_acquire() as producer:
            for queue, ids in plan:
                enrich_articles.apply_async((ids,), queue=queue, producer=producer)
    except Exception as exc:  # no broker: the articles are stored, and retry_pending_translations sends them later
        log.warning("event=enrich_enqueue_failed articles=%s error=%s", sum(len(ids) for _, ids in plan), exc)
        return 0
    return len(plan)


def enrich_enqueue_ids(article_ids: list[int]) -> int:
    """:func:`enrich_enqueue` for ids whose sources the caller does not know (one query)."""
    by_source: dict[int, list[int]] = {}
    for article_id, source_id in Article.objects.filter(id__in=article_ids).values_list("id", "source_id"):
        by_source.setdefault(source_id, []).append(article_id)
    for ids in by_source.values():
        ids.sort()
    return enrich_enqueue(by_source=by_source)


class EnrichSender:
    """Collects the ids a drop scan stores and sends them after commit, a few hundred at a time."""

    def __init__(self, flush_at: int = 500) -> None:
        self.ids: list[int] = []
        self.flush_at = flush_at
        self.scheduled = False

    def add(self, article_id: int) -> None:
        self.ids.append(article_id)
        if len(self.ids) >= self.flush_at and not self.scheduled:
            self.scheduled = True
            transaction.on_commit(self.flush)

    def flush(self) -> None:
        self.scheduled = False
        ids, self.ids = self.ids, []
        if ids:
            enrich_enqueue_ids(ids)


def _ids(keys: Sequence[str]) -> list[int]:
    return [int(k) for k in keys if k.isdigit()]


# What the task guard (newsdesk/ops/guard.py) asks of a poll's sources.
POLL_HOOKS = ObjectHooks(
    release=lambda keys: sources_claims_release(source_ids=_ids(keys)),
    dead_letter=lambda key, reason: source_dead_letter(source_id=int(key), reason=reason),
    probe=SuccessProbe(
        mark=polls_mark,
        done=lambda keys, mark: {str(i) for i in sources_handled(source_ids=_ids(keys), since_mark=mark)},
    ),
)


@shared_task(**RETRY, object_hooks=replace(POLL_HOOKS, batch=True))
def poll_sources(source_ids: list[int]) -> int:
    """Poll a batch of sources (one message per batch keeps Celery's
    per-task overhead off each poll). Returns how many were polled."""
    results = sources_poll(source_ids=source_ids)
    enrich_enqueue(by_source={result.source_id: result.to_enrich for result in results})
    return sum(1 for result in results if result.attempt is not None)


@shared_task(**RETRY, object_hooks=POLL_HOOKS)
def poll_source(source_id: int) -> None:
    result = source_poll(source_id=source_id)
    enrich_enqueue(by_source={source_id: result.to_enrich})


@shared_task(bind=True, **RETRY)
def enrich_articles(self, article_ids: list[int]) -> int:
    """Enrich and assign a batch; a failed article is retried alone, its batch-mates stay done."""
    result = articles_finish(article_ids=article_ids)
    refine_burst_note(len(result.finished))
    if result.failed:
        failed = sorted(result.failed)
        countdown = min(settings.NEWSDESK_RETRY_BACKOFF_MAX, 5 * 2**self.request.retries)
        raise self.retry(args=(failed,), exc=result.failed[failed[0]], countdown=countdown)
    return len(result.finished)


@shared_task(**RETRY)
def enrich_article(article_id: int) -> None:
    """One article (messages sent before batches existed, and commands)."""
    if article_finish(article_id=article_id) is not None:
        refine_burst_note(1)


@shared_task(**RETRY)
def scan_drop_sources() -> int:
    from newsdesk.drops.scan import drops_scan_all

    sender = EnrichSender()
    try:
        return drops_scan_all(on_new_article=sender.add)
    except SoftTimeLimitExceeded:
        # The scan gave its unfinished files back to the inbox; the next scan goes on.
        log.warning("event=drop_scan_interrupted reason=soft_time_limit")
        return 0
    finally:
        sender.flush()


@shared_task(**RETRY)
def retranslate_article(article_id: int) -> None:
    """Translate again even if done (admin action "re-translate selected")."""
    article_finish(article_id=article_id, force_translation=True)


@shared_task(**RETRY)
def retry_pending_translations(limit: int = 500) -> int:
    """Re-queue enrichment for articles whose translation is pending (provider
    outage, open breaker, spent budget) once some provider can take calls again,
    and for articles whose enrich message was lost (never enriched after a grace
    period) or whose story assignment was (enriched, still in no story after
    the same grace period). Failed articles wait for the admin action."""
    if enrich_backlog() > 0:
        # Messages from an earlier sweep (or from ingest) are still waiting: adding
        # the same ids again would only grow the queue while the backlog drains.
        return 0
    ids = articles_unfinished(now=timezone.now(), limit=limit)
    enrich_enqueue_ids(ids)
    return len(ids)


@shared_task(**RETRY)
def release_held_articles() -> int:
    """Publish in the feeds the articles whose translation hold ended (newsdesk/enrich/finished.py)."""
    return articles_release_held(now=timezone.now())


def enrich_backlog() -> int:
    """Messages waiting in the enrichment queues (0 if the broker cannot say)."""
    try:
        with enrich_articles.app.connection_for_read() as conn:
            client = conn.default_channel.client
            return sum(int(client.llen(queue)) for queue in (FRESH_QUEUE, BULK_QUEUE))
    except Exception:  # a broker that cannot answer means "unknown", not "busy"
        log.warning("event=enrich_backlog_unknown")
        return 0


@shared_task(**RETRY)
def refine_stories() -> int:
    """Beat: re-examine the recent stories (split what does not hold together, merge fragments);
    first read anew a bounded batch of stored particulars of an older version (dbupgrade.py)."""
    from newsdesk.coverage.burst import burst_reset
    from newsdesk.coverage.dbrefine import stories_refine_pass
    from newsdesk.coverage.dbupgrade import particulars_refresh

    particulars_refresh()
    if settings.NEWSDESK_COVERAGE_REFINE_MINUTES <= 0:
        return 0
    burst_reset()
    return stories_refine_pass().moved


def refine_burst_note(assigned: int) -> None:
    """After an enrichment batch: ask for a pass over the stories it touched once the burst quiets
    (newsdesk/coverage/burst.py); at most one such message is pending at a time."""
    from newsdesk.coverage.burst import burst_note, burst_params

    params = burst_params()
    if burst_note(articles=assigned, params=params):
        try:
            refine_burst.apply_async(countdown=params.quiet_seconds)
        except Exception as exc:  # no broker: the flag expires, and beat's pass covers the window
            log.warning("event=refine_burst_enqueue_failed error=%s", exc)


@shared_task(**RETRY)
def refine_burst(follow: int = 0) -> int:
    """Refine the stories touched since the last pass, once enrichment has been quiet for a while
    (or every NEWSDESK_COVERAGE_REFINE_BURST_ARTICLES during a long burst); else wait again.
    A pass that moved articles is followed by another over what it changed, at most
    ``FOLLOW_PASSES`` times (a pass stops after a few rounds; a burst's first one rarely settles)."""
    from newsdesk.coverage.burst import FOLLOW_PASSES, RUN, SKIP, burst_params, burst_wait
    from newsdesk.coverage.dbrefine import stories_refine_pass

    params = burst_params()
    wait = RUN
    if not follow:
        # The queues are empty while the worker still holds the burst's last batches: the database
        # says whether articles are still on their way to a story (it is the source of truth).
        backlog = enrich_backlog() or int(articles_in_flight(now=timezone.now()))
        wait = burst_wait(backlog=backlog, params=params)
    if wait == SKIP:
        return 0
    if wait != RUN:
        refine_burst.apply_async(kwargs={"follow": follow}, countdown=wait)
        return 0
    stats = stories_refine_pass(touched_only=True)
    if stats.busy:  # another pass runs: look again after it (the flag was cleared, so set nothing)
        refine_burst.apply_async(kwargs={"follow": follow}, countdown=max(1.0, params.quiet_seconds))
    elif stats.moved and follow < FOLLOW_PASSES:
        refine_burst.apply_async(kwargs={"follow": follow + 1})
    return stats.moved


@shared_task(**RETRY)
def prune_fetch_history() -> int:
    """Delete FetchAttempts older than NEWSDESK_FETCH_HISTORY_DAYS (hourly)."""
    from newsdesk.ops.retention import fetch_history_prune

    return fetch_history_prune(now=timezone.now())


@shared_task(**RETRY)
def prune_coverage_boilerplate() -> int:
    """Delete the boilerplate rule's counts older than NEWSDESK_COVERAGE_BOILERPLATE_DAYS (hourly)."""
    from newsdesk.coverage.dbboilerplate import boilerplate_prune

    return boilerplate_prune(now=timezone.now())


@shared_task
def heartbeat() -> None:
    Heartbeat.objects.update_or_create(name="worker", defaults={"at": timezone.now()})


# --- Queueing work -----------------------------------------------------------


@contextmanager
def _poll_batch_sender() -> Iterator[Callable[[list[int]], None]]:
    """Send poll batches to NEWSDESK_POLL_QUEUE, all over one broker connection (pipelined)."""
    queue = settings.NEWSDESK_POLL_QUEUE
    with poll_sources.app.producer_or_acquire() as producer:
        yield lambda ids: poll_sources.apply_async((ids,), queue=queue, producer=producer)


def sources_poll_enqueue(*, source_ids: Iterable[int]) -> int:
    """Queue polls of these sources, in the dispatcher's batches, once the transaction commits."""
    batches = source_batches(source_ids=list(source_ids))

    def send() -> None:
        with _poll_batch_sender() as send_batch:
            for batch in batches:
                send_batch(batch)

    if batches:
        transaction.on_commit(send)
    return sum(map(len, batches))


def articles_retranslate_enqueue(*, article_ids: Iterable[int]) -> int:
    """Queue a forced translation of each article once the transaction commits.

    The articles are pending already (``articles_retranslate_mark``), so the
    retry sweep re-sends any message lost on the way.
    """
    ids = list(article_ids)

    def send() -> None:
        with retranslate_article.app.producer_or_acquire() as producer:
            for article_id in ids:
                retranslate_article.apply_async((article_id,), producer=producer)

    if ids:
        transaction.on_commit(send)
    return len(ids)


@worker_ready.connect
def _kick_on_start(**_: object) -> None:
    """Dispatch and scan once when a worker starts, instead of waiting for beat's
    first tick: recovers work left by a restart and gives `make run` instant data."""
    dispatch_due_sources.delay()
    scan_drop_sources.delay()


@shared_task(**{**RETRY, "autoretry_for": (*RETRYABLE, FetchError), "max_retries": 5})
def websub_verify_request(subscription_id: int) -> str:
    """Intent verification of one WebSub (un)subscription request (newsdesk/websub/hub.py)."""
    from newsdesk.websub.hub import websub_verify

    return websub_verify(subscription_id=subscription_id)


@shared_task(**RETRY)
def websub_publish() -> int:
    """Push every WebSub subscription whose feed changed (nothing at all when no feed did)."""
    from newsdesk.websub.hub import websub_publish as publish

    return publish(now=timezone.now())


@shared_task(**RETRY)
def hub_subscribe_request(hub_id: int) -> str:
    """Ask a source's hub to push its feed to us (newsdesk/ingest/push.py)."""
    from newsdesk.ingest.push import hub_subscribe

    return hub_subscribe(hub_id=hub_id, now=timezone.now())


@shared_task(**RETRY)
def renew_hub_subscriptions() -> int:
    """Beat: leases that ended go back to polling; new, renewed and retried hub requests are sent."""
    from newsdesk.ingest.push import hub_subscriptions_due

    ids = hub_subscriptions_due(now=timezone.now())
    with hub_subscribe_request.app.producer_or_acquire() as producer:
        for hub_id in ids:
            hub_subscribe_request.apply_async((hub_id,), producer=producer)
    return len(ids)


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


@shared_task(**RETRY)
def prune_alerts_and_deliveries() -> int:
    """Hourly: old finished deliveries, and the alerts' record of articles long out of their window."""
    from newsdesk.alerts.sweep import alerts_covered_prune
    from newsdesk.delivery.service import deliveries_prune

    now = timezone.now()
    return deliveries_prune(now=now) + alerts_covered_prune(now=now)
