"""Polling one feed source: fetch -> parse -> store, recorded as a FetchAttempt."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from newsdesk.models import FetchAttempt, Source, SourceKind, SourceState

from .fetch import FetchError, FetchResult, fetch_url
from .parse import FeedRejected, parse_feed
from .store import StoreCounts, article_upsert

log = logging.getLogger(__name__)

# A claim older than this is presumed to belong to a dead worker.
STALE_CLAIM = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT * 2)


@dataclass
class PollResult:
    attempt: FetchAttempt | None
    to_enrich: list[int] = field(default_factory=list)
    skipped: str = ""


def source_claim(*, source_id: int, now: datetime) -> bool:
    """Take the per-source lock: only one poll of a source runs at a time."""
    stale = now - STALE_CLAIM
    return bool(
        Source.objects.filter(id=source_id)
        .filter(~Q(state=SourceState.POLLING) | Q(state_changed_at__lt=stale) | Q(state_changed_at__isnull=True))
        .update(state=SourceState.POLLING, state_changed_at=now)
    )


def _release(source: Source, now: datetime) -> None:
    source.state = SourceState.IDLE
    source.state_changed_at = now


def _record_error(source: Source, attempt: FetchAttempt, message: str, now: datetime) -> None:
    attempt.outcome = FetchAttempt.Outcome.ERROR
    attempt.error = message[:2000]
    source.error_count += 1
    source.last_error = message[:2000]
    source.last_error_at = now
    source.first_error_at = source.first_error_at or now
    backoff = min(
        source.poll_interval * (2 ** min(source.error_count, 16)),
        settings.NEWSDESK_ERROR_BACKOFF_MAX_SECONDS,
    )
    source.next_poll_at = now + timedelta(seconds=backoff)


def _record_success(source: Source, now: datetime) -> None:
    source.error_count = 0
    source.last_error = ""
    source.first_error_at = None
    source.last_success_at = now
    source.next_poll_at = now + timedelta(seconds=source.poll_interval)


def source_poll(*, source_id: int) -> PollResult:
    """Poll a feed source once. Never raises for feed-side problems: they are
    recorded on the FetchAttempt and the source's health fields."""
    now = timezone.now()
    source = Source.objects.filter(id=source_id, kind=SourceKind.FEED).first()
    if source is None:
        return PollResult(attempt=None, skipped="gone")
    if not source_claim(source_id=source_id, now=now):
        return PollResult(attempt=None, skipped="already polling")
    source.refresh_from_db()
    started = time.monotonic()
    attempt = FetchAttempt(source=source, started_at=now)
    counts = StoreCounts()
    try:
        result: FetchResult = fetch_url(url=source.url, etag=source.etag, last_modified=source.last_modified)
    except FetchError as exc:
        _record_error(source, attempt, f"fetch failed: {exc}", now)
    else:
        attempt.http_status = result.status
        attempt.bytes = len(result.body)
        if result.not_modified:
            attempt.outcome = FetchAttempt.Outcome.NOT_MODIFIED
            _record_success(source, now)
        elif result.status >= 400:
            _record_error(source, attempt, f"HTTP {result.status}", now)
        else:
            body_hash = hashlib.sha256(result.body).hexdigest()
            source.etag = result.headers.get("etag", "")[:500]
            source.last_modified = result.headers.get("last-modified", "")[:100]
            if body_hash == source.content_hash:
                attempt.outcome = FetchAttempt.Outcome.UNCHANGED
                _record_success(source, now)
            else:
                try:
                    feed = parse_feed(body=result.body, headers=result.headers, base_url=result.final_url)
                except FeedRejected as exc:
                    _record_error(source, attempt, f"rejected: {exc}", now)
                else:
                    with transaction.atomic():
                        for item in feed.items[: settings.NEWSDESK_MAX_ITEMS_PER_POLL]:
                            outcome, article = article_upsert(source=source, item=item, now=now)
                            counts.add(outcome, article.id)
                    source.content_hash = body_hash
                    attempt.detail = f"bozo: {feed.bozo_reason}"[:2000] if feed.bozo else ""
                    _record_success(source, now)
    attempt.items_new = counts.new
    attempt.items_updated = counts.updated
    attempt.items_unchanged = counts.unchanged
    attempt.duration_ms = int((time.monotonic() - started) * 1000)
    source.last_polled_at = now
    _release(source, now)
    with transaction.atomic():
        attempt.save()
        source.save()
    log.info(
        "event=poll source_id=%s outcome=%s status=%s new=%s updated=%s ms=%s",
        source.id,
        attempt.outcome,
        attempt.http_status,
        counts.new,
        counts.updated,
        attempt.duration_ms,
    )
    return PollResult(attempt=attempt, to_enrich=counts.to_enrich)
