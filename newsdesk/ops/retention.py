"""Retention: old FetchAttempt rows are deleted in bounded batches.

Every poll and every drop file writes one FetchAttempt. At a million polls a
day the table would grow without end, so an hourly beat task deletes rows
older than ``NEWSDESK_FETCH_HISTORY_DAYS``. Each batch is its own short
transaction (locks are held briefly, replicas keep up), and one run stops
after ``max_batches`` so a first prune of a huge table cannot run for hours;
the next run continues where it stopped.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

log = logging.getLogger(__name__)


def rows_prune(rows: QuerySet, *, field: str, cutoff: datetime, batch_size: int, max_batches: int) -> int:
    """Delete ``rows`` whose ``field`` is before ``cutoff``, oldest first; return how many.

    Each batch of ``batch_size`` is its own transaction, through the ORM's
    delete (so ``on_delete`` rules hold); at most ``max_batches`` per call.
    """
    deleted = 0
    for _ in range(max_batches):
        ids = list(rows.filter(**{f"{field}__lt": cutoff}).order_by(field).values_list("id", flat=True)[:batch_size])
        if not ids:
            break
        with transaction.atomic():
            count, _ = rows.model.objects.filter(id__in=ids).delete()
        deleted += count
        if len(ids) < batch_size:
            break
    return deleted


def fetch_history_prune(*, now: datetime, batch_size: int = 5000, max_batches: int = 200) -> int:
    """Delete FetchAttempts older than the retention window; return how many."""
    from newsdesk.models import FetchAttempt

    days = float(settings.NEWSDESK_FETCH_HISTORY_DAYS)
    if days <= 0:
        return 0
    cutoff = now - timedelta(days=days)
    # The ORM delete, not a raw one: DropFile.attempt is SET_NULL.
    deleted = rows_prune(
        FetchAttempt.objects.all(), field="started_at", cutoff=cutoff, batch_size=batch_size, max_batches=max_batches
    )
    if deleted:
        log.info("event=fetch_history_pruned deleted=%d cutoff=%s", deleted, cutoff.isoformat())
    return deleted
