"""What an admin does to feed sources: poll now, enable, disable.

Keyword-only services, as in ``accounts/desks.py``: admin actions call them
(and so can commands or an API), and they only touch the database. Sending
the poll messages is ``newsdesk.tasks.sources_poll_enqueue``'s job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from newsdesk.models import Source, SourceKind


@dataclass(frozen=True, slots=True)
class PollNow:
    # Enabled feed sources made due now, to be sent for polling.
    due: list[int]
    # Disabled feed sources left alone (enable them first, or preview them).
    disabled: int


def sources_poll_now(*, source_ids: Iterable[int]) -> PollNow:
    """Make the enabled feed sources among ``source_ids`` due now.

    Due, so that the worker's claim takes a source even if a dispatcher tick
    sent it first; and a lost message is re-sent by the dispatcher.
    """
    feeds = Source.objects.filter(id__in=list(source_ids), kind=SourceKind.FEED)
    due = list(feeds.filter(enabled=True).order_by("id").values_list("id", flat=True))
    Source.objects.filter(id__in=due).update(next_poll_at=timezone.now())
    return PollNow(due=due, disabled=feeds.filter(enabled=False).count())


def sources_enable(*, source_ids: Iterable[int]) -> int:
    """Enable sources with a clean error record, due at once; returns how many."""
    return Source.objects.filter(id__in=list(source_ids)).update(
        enabled=True, disabled_reason="", next_poll_at=timezone.now(), error_count=0, first_error_at=None
    )


def sources_disable(*, source_ids: Iterable[int], reason: str) -> int:
    """Disable sources, showing ``reason`` in admin; returns how many."""
    return Source.objects.filter(id__in=list(source_ids)).update(enabled=False, disabled_reason=reason[:2000])
