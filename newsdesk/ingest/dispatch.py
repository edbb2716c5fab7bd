"""The dispatcher: find due sources in the database and mark them queued.

The database is the source of truth. Claiming a source moves its
``next_poll_at`` forward by a redelivery window; the poll itself sets the
real next time. A source whose message was lost stays QUEUED until that
window passes, and then it is simply due again, so a later tick re-sends
it. A duplicate message is harmless because ``sources_claim`` (poll.py)
lets only one poll of a source run at a time, and a source that was
already polled is no longer due.

Due sources are claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so two dispatchers running at once split the due sources
between them instead of both sending them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from newsdesk.models import Source, SourceKind, SourceState

# Longer than a poll task can live (its hard time limit), so a source is
# re-sent only once its first message is surely lost.
QUEUED_STALE_AFTER = timedelta(seconds=max(settings.CELERY_TASK_TIME_LIMIT * 2, 600))


def sources_claim_due(*, now: datetime, limit: int = 5000) -> list[int]:
    """Return ids of due feed sources, marking them QUEUED in one transaction."""
    with transaction.atomic():
        # Outlets first seen in a drop are feed-kind sources without a URL: nothing to poll.
        due = (
            Source.objects.filter(enabled=True, kind=SourceKind.FEED, next_poll_at__lte=now)
            .exclude(url="")
            .order_by("next_poll_at")
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        # On SQLite the IMMEDIATE transaction (settings.py) holds the write
        # lock from BEGIN, so two dispatchers run one after the other and the
        # second finds nothing due. The UPDATE re-checks due-ness anyway.
        ids = list(due.values_list("id", flat=True)[:limit])
        if ids:
            Source.objects.filter(id__in=ids, next_poll_at__lte=now).update(
                state=SourceState.QUEUED, state_changed_at=now, next_poll_at=now + QUEUED_STALE_AFTER
            )
    return ids


def source_batches(*, source_ids: Sequence[int], batch_size: int | None = None) -> list[list[int]]:
    """``source_ids`` in poll messages of NEWSDESK_POLL_BATCH_SIZE ids (batching
    amortises Celery's per-task cost; one slow batch holds up few sources)."""
    size = batch_size or settings.NEWSDESK_POLL_BATCH_SIZE
    ids = list(source_ids)
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def sources_dispatch(
    *,
    now: datetime,
    send_batch: Callable[[list[int]], None],
    batch_size: int | None = None,
    limit: int | None = None,
) -> int:
    """Claim every due source (up to ``limit``) and hand them to ``send_batch``
    in batches of ``batch_size`` ids, one message per batch.

    Claims happen in chunks so a large backlog is not one long transaction.
    Returns how many sources were sent.
    """
    limit = limit or settings.NEWSDESK_DISPATCH_LIMIT
    sent = 0
    while sent < limit:
        ids = sources_claim_due(now=now, limit=min(5000, limit - sent))
        if not ids:
            break
        for batch in source_batches(source_ids=ids, batch_size=batch_size):
            send_batch(batch)
        sent += len(ids)
    return sent
