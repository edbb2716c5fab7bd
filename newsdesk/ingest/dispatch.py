"""The dispatcher: find due sources in the database and mark them queued.

The database is the source of truth. Claiming a source moves its
``next_poll_at`` forward by a redelivery window; the poll itself sets the
real next time. A source whose message was lost stays QUEUED until that
window passes, and then it is simply due again, so the next tick re-sends it. A duplicate message is harmless because
``source_claim`` lets only one poll of a source run at a time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from newsdesk.models import Source, SourceKind, SourceState

QUEUED_STALE_AFTER = timedelta(seconds=max(settings.CELERY_TASK_TIME_LIMIT * 2, 600))


def sources_claim_due(*, now: datetime, limit: int = 5000) -> list[int]:
    """Return ids of due feed sources, marking them QUEUED in one transaction."""
    with transaction.atomic():
        due = Source.objects.filter(enabled=True, kind=SourceKind.FEED, next_poll_at__lte=now).order_by("next_poll_at")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        # On SQLite the IMMEDIATE transaction already holds the write lock, so
        # two dispatchers run one after the other and the second finds nothing due.
        ids = list(due.values_list("id", flat=True)[:limit])
        if ids:
            Source.objects.filter(id__in=ids).update(
                state=SourceState.QUEUED, state_changed_at=now, next_poll_at=now + QUEUED_STALE_AFTER
            )
    return ids
