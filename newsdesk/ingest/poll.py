"""Polling feed sources: claim -> fetch -> classify -> (parse -> store) -> schedule.

Every poll is recorded as a FetchAttempt and on the source's health fields.
Feed-side problems never raise: they become an error outcome, a backoff and,
after NEWSDESK_DISABLE_AFTER_DAYS of failing, a disabled source whose reason
is shown in admin.

Cost matters here (hundreds of thousands of polls an hour): an unchanged
poll (304, or a 200 whose body hash equals the last one) is never parsed,
and its bookkeeping is one INSERT and one UPDATE in one transaction. A batch
of sources is claimed with one SELECT and one UPDATE.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import close_old_connections, connection, connections, transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone

from newsdesk.models import Article, FetchAttempt, Source, SourceKind, SourceState
from newsdesk.perprocess import PerProcess

from . import schedule
from .fetch import FetchError, FetchResult, fetch_url
from .parse import FeedRejected, ParsedFeed, parse_feed
from .push import hub_discover
from .responses import Classified, Verdict, response_classify
from .store import StoreCounts, articles_upsert

log = logging.getLogger(__name__)

INTERRUPTED = "poll interrupted by the soft time limit (NEWSDESK_TASK_SOFT_TIME_LIMIT); due again now"

# A POLLING claim older than this is presumed to belong to a dead worker
# (the task hard time limit has long killed it).
STALE_CLAIM = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT * 2)

# Fields a poll writes on its source; saving only these keeps the UPDATE small
# and leaves admin edits made meanwhile (name, country...) alone.
_POLL_FIELDS = (
    "url",
    "enabled",
    "disabled_reason",
    "poll_interval",
    "next_poll_at",
    "state",
    "state_changed_at",
    "etag",
    "last_modified",
    "content_hash",
    "error_count",
    "last_error",
    "last_error_at",
    "first_error_at",
    "last_success_at",
    "last_polled_at",
    "items_per_day",
)


@dataclass
class PollResult:
    source_id: int
    attempt: FetchAttempt | None = None
    to_enrich: list[int] = field(default_factory=list)
    skipped: str = ""

    @property
    def outcome(self) -> str:
        if self.skipped:
            return f"skipped ({self.skipped})"
        return self.attempt.outcome if self.attempt else ""


# --- Claiming ----------------------------------------------------------------


def _claimable(*, now: datetime, force: bool) -> Q:
    not_running = ~Q(state=SourceState.POLLING) | Q(state_changed_at__lt=now - STALE_CLAIM)
    if force:
        return not_running
    # Queued by the dispatcher, or due. A duplicate message arriving after
    # the poll finished finds the source IDLE and not due, and does nothing.
    return not_running & Q(enabled=True) & (Q(state=SourceState.QUEUED) | Q(next_poll_at__lte=now))


def sources_claim(*, source_ids: Iterable[int], now: datetime, force: bool = False) -> list[Source]:
    """Take the per-source lock for each of ``source_ids`` that is free.

    Returns the claimed sources (state POLLING). A source already being
    polled is left out, so a source is never polled twice at once even when
    two dispatchers or a manual poll overlap. ``force`` polls sources that
    are not due or are disabled (manual "poll now").
    """
    ids = list(source_ids)
    if not ids:
        return []
    # One statement, one round trip: UPDATE ... WHERE id IN (claimable ids)
    # RETURNING the rows. On PostgreSQL the inner SELECT skips rows another
    # claimer has locked; and an UPDATE re-checks its WHERE on a row that
    # changed under it, so two claimers can never both win a source. SQLite
    # runs the statement under its database write lock.
    claimable = (
        Source.objects.filter(id__in=ids, kind=SourceKind.FEED).filter(_claimable(now=now, force=force)).values("id")
    )
    inner_sql, inner_params = claimable.query.sql_with_params()
    if connection.features.has_select_for_update_skip_locked:
        inner_sql += " FOR UPDATE SKIP LOCKED"
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in Source._meta.concrete_fields)
    # Identifiers come from the model and every value is a bound parameter.
    sql = (
        f"UPDATE {qn(Source._meta.db_table)} SET {qn('state')} = %s, {qn('state_changed_at')} = %s "  # noqa: S608
        f"WHERE {qn('id')} IN ({inner_sql}) RETURNING {columns}"
    )
    changed_at = Source._meta.get_field("state_changed_at").get_db_prep_value(now, connection)
    return list(Source.objects.raw(sql, (SourceState.POLLING.value, changed_at, *inner_params)))


# --- Outcomes ------------------------------------------------------------------


@contextmanager
def _poll_transaction() -> Iterator[None]:
    """A transaction for a poll's writes that does not wait for the WAL flush
    on PostgreSQL (synchronous_commit off for this transaction only).

    A crash can lose at most the last fraction of a second of polls, and
    loses each one whole: its articles together with the ETag and body hash
    that would skip them, so the next poll fetches and stores them again.
    Not waiting for the disk on every poll is what lets one machine make
    hundreds of thousands of polls an hour.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql" and not connection.savepoint_ids:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def _schedule_success(source: Source, now: datetime, *, floors: tuple[int | None, ...]) -> None:
    source.error_count = 0
    source.last_error = ""
    source.first_error_at = None
    source.last_success_at = now
    delay = schedule.next_poll_delay(
        interval=source.poll_interval, floors=floors, cap=settings.NEWSDESK_POLL_MAX_SECONDS
    )
    delay = schedule.delay_while_pushed(delay=delay, push_until=source.push_until, now=now)
    source.next_poll_at = now + timedelta(seconds=delay)


def _record_error(
    source: Source, attempt: FetchAttempt, message: str, now: datetime, *, retry_after: int | None = None
) -> None:
    attempt.outcome = FetchAttempt.Outcome.ERROR
    attempt.error = message[:2000]
    source.error_count += 1
    source.last_error = message[:2000]
    source.last_error_at = now
    source.first_error_at = source.first_error_at or now
    backoff = schedule.error_backoff(error_count=source.error_count, base=source.poll_interval)
    delay = schedule.next_poll_delay(
        interval=backoff, floors=(retry_after,), cap=settings.NEWSDESK_ERROR_BACKOFF_MAX_SECONDS
    )
    source.next_poll_at = now + timedelta(seconds=delay)
    if source.enabled and schedule.should_disable(first_error_at=source.first_error_at, now=now):
        source.enabled = False
        source.disabled_reason = (
            f"Disabled automatically: failing since {source.first_error_at:%Y-%m-%d %H:%M} UTC "
            f"(more than {settings.NEWSDESK_DISABLE_AFTER_DAYS:g} days). Last error: {message}"
        )[:2000]


def _disable_gone(source: Source, attempt: FetchAttempt, now: datetime) -> None:
    message = f"HTTP 410 Gone: the publisher removed this feed ({source.url})."
    _record_error(source, attempt, message, now)
    source.enabled = False
    source.disabled_reason = f"Disabled automatically on {now:%Y-%m-%d %H:%M} UTC: {message}"


def _follow_permanent_redirect(source: Source, attempt: FetchAttempt, new_url: str) -> None:
    """Move the source to the URL a 301/308 named, unless another source
    already polls that URL: then this one is a duplicate and is disabled."""
    if not new_url or new_url == source.url:
        return
    if len(new_url) > Source._meta.get_field("url").max_length:
        attempt.detail = f"permanent redirect to an over-long URL ignored: {new_url[:200]}"
        return
    other = Source.objects.filter(kind=SourceKind.FEED, url=new_url).exclude(id=source.id).first()
    if other is not None:
        source.enabled = False
        source.disabled_reason = (
            f"Its feed moved permanently to {new_url}, which source #{other.id} ({other.name}) already polls."
        )
        attempt.detail = source.disabled_reason
        return
    attempt.detail = f"moved permanently: {source.url} -> {new_url}"
    source.url = new_url


def _refresh_rate(source: Source, now: datetime) -> None:
    """Recompute items_per_day from the source's recent article dates."""
    recent = Article.objects.filter(source_id=source.id, published_at__gte=now - schedule.RATE_WINDOW).aggregate(
        count=Count("id"), oldest=Min("published_at")
    )
    source.items_per_day = schedule.items_per_day_from(count=recent["count"], oldest=recent["oldest"], now=now)


def _store_parsed(source: Source, attempt: FetchAttempt, feed: ParsedFeed, now: datetime) -> StoreCounts:
    with _poll_transaction():
        counts = articles_upsert(source=source, items=feed.items[: settings.NEWSDESK_MAX_ITEMS_PER_POLL], now=now)
    ttl = feed.ttl_seconds or 0
    if counts.new:
        _refresh_rate(source, now)
        source.poll_interval = schedule.interval_for_rate(items_per_day=source.items_per_day)
    else:
        source.poll_interval = schedule.interval_when_quiet(current=source.poll_interval)
    source.poll_interval = min(max(source.poll_interval, ttl), settings.NEWSDESK_POLL_MAX_SECONDS)
    if feed.bozo:
        attempt.detail = f"bozo: {feed.bozo_reason}"[:2000]
    return counts


def _schedule_quiet(source: Source, attempt: FetchAttempt, outcome: str, now: datetime, seen: Classified) -> None:
    """A poll that found nothing new (304, or the same body again)."""
    attempt.outcome = outcome
    source.poll_interval = schedule.interval_when_quiet(current=source.poll_interval)
    _schedule_success(source, now, floors=(seen.max_age, seen.retry_after))


def _parse(source: Source, attempt: FetchAttempt, result: FetchResult, now: datetime) -> ParsedFeed | None:
    """The parsed feed, or None with the error recorded (a parser bug must not kill the batch)."""
    try:
        return parse_feed(body=result.body, headers=result.headers, base_url=result.final_url)
    except FeedRejected as exc:
        _record_error(source, attempt, f"rejected: {exc}", now)
    except SoftTimeLimitExceeded:
        raise  # time is up for the whole batch, not a fault of this feed
    except Exception as exc:
        log.exception("event=parse_crashed source_id=%s", source.id)
        _record_error(source, attempt, f"parse failed: {type(exc).__name__}: {exc}", now)
    return None


def _poll_steps(source: Source, attempt: FetchAttempt, now: datetime) -> StoreCounts:
    """Fetch, classify once, then one short branch per verdict; return what was stored."""
    nothing = StoreCounts()
    try:
        result = fetch_url(url=source.url, etag=source.etag, last_modified=source.last_modified)
    except FetchError as exc:
        _record_error(source, attempt, f"fetch failed ({exc.kind}): {exc}", now)
        return nothing
    attempt.http_status = result.status
    attempt.bytes = len(result.body)
    _follow_permanent_redirect(source, attempt, result.permanent_redirect_url)
    seen = response_classify(result=result, content_hash=source.content_hash)
    match seen.verdict:
        case Verdict.NOT_MODIFIED:
            _schedule_quiet(source, attempt, FetchAttempt.Outcome.NOT_MODIFIED, now, seen)
            return nothing
        case Verdict.GONE:
            _disable_gone(source, attempt, now)
            return nothing
        case Verdict.THROTTLED:
            _record_error(source, attempt, f"HTTP {seen.status}", now, retry_after=seen.retry_after)
            return nothing
        case Verdict.HTTP_ERROR:
            _record_error(source, attempt, f"HTTP {seen.status}", now)
            return nothing
    # A body came: keep its validators for the next conditional GET.
    source.etag = (result.headers.get("etag") or "")[:500]
    source.last_modified = (result.headers.get("last-modified") or "")[:100]
    if seen.verdict is Verdict.UNCHANGED:
        _schedule_quiet(source, attempt, FetchAttempt.Outcome.UNCHANGED, now, seen)
        return nothing
    feed = _parse(source, attempt, result, now)
    if feed is None:
        return nothing
    counts = _store_parsed(source, attempt, feed, now)
    hub_discover(source=source, feed=feed, headers=result.headers, now=now)
    source.content_hash = seen.body_hash
    _schedule_success(source, now, floors=(seen.max_age, seen.retry_after))
    return counts


def _poll_claimed(source: Source) -> PollResult:
    """Poll one claimed source, record the attempt and release the claim."""
    now = timezone.now()
    started = time.monotonic()
    attempt = FetchAttempt(source=source, started_at=now)
    counts = _poll_steps(source, attempt, now)
    attempt.items_new = counts.new
    attempt.items_updated = counts.updated
    attempt.items_unchanged = counts.unchanged
    attempt.duration_ms = int((time.monotonic() - started) * 1000)
    source.last_polled_at = now
    source.state = SourceState.IDLE
    source.state_changed_at = now
    with _poll_transaction():
        attempt.save()
        source.save(update_fields=_POLL_FIELDS)
    log.info(
        "event=poll source_id=%s outcome=%s status=%s new=%s updated=%s ms=%s next_in=%ss",
        source.id,
        attempt.outcome,
        attempt.http_status,
        counts.new,
        counts.updated,
        attempt.duration_ms,
        int((source.next_poll_at - now).total_seconds()),
    )
    return PollResult(source_id=source.id, attempt=attempt, to_enrich=counts.to_enrich)


def _claim_release(source: Source, *, reason: str) -> None:
    """Put a claimed source back (IDLE, due now) without polling it; ``reason``
    is recorded on it when the poll was cut short, so admin shows why."""
    now = timezone.now()
    fields: dict[str, object] = {"state": SourceState.IDLE, "state_changed_at": now, "next_poll_at": now}
    if reason:
        fields |= {"last_error": reason[:2000], "last_error_at": now}
    Source.objects.filter(id=source.id, state=SourceState.POLLING).update(**fields)


def _poll_safely(source: Source, stop: threading.Event | None = None) -> PollResult:
    """Poll one claimed source; on an unexpected error release its claim
    (with a backoff) so the batch carries on and the source is not stuck.

    A batch that ran out of time (``stop`` set) releases the source unpolled;
    the soft time limit arriving mid-poll releases it with the reason and
    is passed on, so the batch ends.
    """
    if stop is not None and stop.is_set():
        _claim_release(source, reason="")
        return PollResult(source_id=source.id, skipped="batch out of time: due again now")
    try:
        return _poll_claimed(source)
    except SoftTimeLimitExceeded:
        _claim_release(source, reason=INTERRUPTED)
        raise
    except Exception as exc:
        log.exception("event=poll_crashed source_id=%s", source.id)
        _sources_release_failed(
            source_ids=[source.id],
            error=f"poll crashed: {type(exc).__name__}: {exc}",
            delay_seconds=schedule.error_backoff(error_count=1, base=source.poll_interval),
        )
        return PollResult(source_id=source.id, skipped=f"crashed: {type(exc).__name__}")


def sources_reap_stale(*, now: datetime) -> int:
    """Put back sources left POLLING by a poll that never finished (its worker
    was killed: the hard time limit, out of memory, a crash). Each gets the
    reason as its last error, shown in admin, and an error attempt in its
    history, and is due again now. Returns how many were put back."""
    stale = list(
        Source.objects.filter(state=SourceState.POLLING, state_changed_at__lt=now - STALE_CLAIM).values_list(
            "id", "state_changed_at"
        )
    )
    reaped = 0
    for source_id, claimed_at in stale:
        reason = (
            f"poll did not finish: claimed at {claimed_at:%Y-%m-%d %H:%M:%S} UTC, its worker was lost "
            f"(killed at the {settings.CELERY_TASK_TIME_LIMIT} s hard time limit, out of memory or crashed); "
            "put back by the reaper"
        )
        with transaction.atomic():
            changed = Source.objects.filter(
                id=source_id, state=SourceState.POLLING, state_changed_at=claimed_at
            ).update(
                state=SourceState.IDLE,
                state_changed_at=now,
                next_poll_at=now,
                last_error=reason,
                last_error_at=now,
                error_count=F("error_count") + 1,
            )
            if changed:
                FetchAttempt.objects.create(
                    source_id=source_id, started_at=claimed_at, outcome=FetchAttempt.Outcome.ERROR, error=reason
                )
                reaped += 1
                log.warning("event=poll_reaped source_id=%s claimed_at=%s", source_id, claimed_at.isoformat())
    return reaped


# --- Claims of polls that did not end (the task guard, newsdesk/ops/) ----------


def _sources_release_failed(*, source_ids: Iterable[int], error: str, delay_seconds: float) -> None:
    """Release the sources' claims with an error recorded and the next poll ``delay_seconds`` away."""
    now = timezone.now()
    Source.objects.filter(id__in=list(source_ids)).update(
        state=SourceState.IDLE,
        state_changed_at=now,
        last_error=error[:2000],
        last_error_at=now,
        error_count=F("error_count") + 1,
        next_poll_at=now + timedelta(seconds=delay_seconds),
    )


def sources_claims_release(*, source_ids: Iterable[int]) -> int:
    """Claims (POLLING) taken by a delivery that died go back to QUEUED, as the
    dispatcher left them, so the redelivered message may claim them now."""
    return Source.objects.filter(id__in=list(source_ids), state=SourceState.POLLING).update(
        state=SourceState.QUEUED, state_changed_at=timezone.now()
    )


def source_dead_letter(*, source_id: int, reason: str) -> None:
    """A source whose poll became a dead letter: marked, and pushed back by the
    longest error backoff, so the dispatcher stops re-sending it every few minutes."""
    _sources_release_failed(
        source_ids=[source_id],
        error=f"dead letter: {reason}",
        delay_seconds=settings.NEWSDESK_ERROR_BACKOFF_MAX_SECONDS,
    )


def polls_mark() -> int:
    """The newest FetchAttempt id now: polls recorded after it belong to what runs next.
    Ids, not timestamps, so a clock step cannot confuse :func:`sources_handled`."""
    return FetchAttempt.objects.order_by("-id").values_list("id", flat=True).first() or 0


def sources_handled(*, source_ids: Iterable[int], since_mark: int) -> set[int]:
    """Sources a run really handled since ``since_mark``: polled (a FetchAttempt
    after it), or skipped because there was nothing to do (not due, already
    polled). A source skipped because it is still claimed (POLLING) by a run
    that died was not handled."""
    ids = list(source_ids)
    polled = set(FetchAttempt.objects.filter(source_id__in=ids, id__gt=since_mark).values_list("source_id", flat=True))
    claimed = set(Source.objects.filter(id__in=ids, state=SourceState.POLLING).values_list("id", flat=True))
    return {i for i in ids if i in polled or i not in claimed}


# --- Batches -------------------------------------------------------------------

# One pool per process (prefork workers each get their own).
_pool: PerProcess[ThreadPoolExecutor] = PerProcess(
    lambda: ThreadPoolExecutor(max_workers=settings.NEWSDESK_POLL_THREADS, thread_name_prefix="poll")
)


def _thread_pool() -> ThreadPoolExecutor:
    return _pool.get()


def thread_pool_shutdown() -> None:
    """Close the pool threads' database connections and stop the pool
    (tests, and anything that must drop its connections, call this)."""
    pool = _pool.pop()
    if pool is None:
        return
    size = pool._max_workers
    barrier = threading.Barrier(size)

    def close_mine() -> None:
        # The barrier makes every pool thread take exactly one of these jobs.
        barrier.wait(timeout=30)
        connections.close_all()

    for _ in range(size):
        pool.submit(close_mine)
    pool.shutdown(wait=True)


def _poll_in_thread(source: Source, stop: threading.Event | None = None) -> PollResult:
    # Pool threads keep their own database connection; treat each poll like
    # a request so broken or expired connections are replaced.
    close_old_connections()
    try:
        return _poll_safely(source, stop)
    finally:
        close_old_connections()


def sources_poll(
    *,
    source_ids: Iterable[int],
    force: bool = False,
    on_result: Callable[[PollResult], None] | None = None,
) -> list[PollResult]:
    """Claim and poll sources; those already being polled are skipped.

    Fetches overlap in NEWSDESK_POLL_THREADS threads so one slow server does
    not hold up the batch; each poll commits on its own.
    """
    ids = list(source_ids)
    claimed = sources_claim(source_ids=ids, now=timezone.now(), force=force)
    claimed_ids = {s.id for s in claimed}
    results = [PollResult(source_id=i, skipped="not due or already polling") for i in ids if i not in claimed_ids]
    stop = threading.Event()
    if settings.NEWSDESK_POLL_THREADS <= 1 or len(claimed) <= 1 or connection.in_atomic_block:
        polled: Iterator[PollResult] = (_poll_safely(source, stop) for source in claimed)
    else:
        polled = _thread_pool().map(lambda source: _poll_in_thread(source, stop), claimed)
    try:
        for result in polled:
            results.append(result)
            if on_result is not None:
                on_result(result)
    except SoftTimeLimitExceeded:
        # End the batch cleanly: polls not started yet are put back, due now
        # (pool threads see ``stop``); polls running in threads finish on
        # their own (each bounded by the fetch and parse caps).
        stop.set()
        done = {r.source_id for r in results}
        for source in claimed:
            if source.id not in done:
                _claim_release(source, reason="")
        log.warning("event=poll_batch_interrupted polled=%s claimed=%s", len(done & claimed_ids), len(claimed))
    return results


def source_poll(*, source_id: int, force: bool = False) -> PollResult:
    """Poll one feed source once (see ``sources_poll``)."""
    if not Source.objects.filter(id=source_id, kind=SourceKind.FEED).exists():
        return PollResult(source_id=source_id, skipped="gone")
    return sources_poll(source_ids=[source_id], force=force)[0]


def source_preview(*, source: Source) -> ParsedFeed:
    """Fetch and parse a source's feed without storing anything or touching
    its caching headers (admin "preview"). Raises FetchError/FeedRejected,
    or FeedRejected for an HTTP error status."""
    result = fetch_url(url=source.url, etag="", last_modified="")
    if result.status != 200:
        raise FeedRejected(f"HTTP {result.status}")
    return parse_feed(body=result.body, headers=result.headers, base_url=result.final_url)
