"""When to poll a feed next: adaptive intervals, server hints, error backoff.

Pure functions over numbers so the policy is easy to read and to test; the
poller (``poll.py``) feeds them what it observed and stores the answer in
``Source.next_poll_at``.

The policy follows NewsBlur: the interval comes from the feed's observed
publishing rate (about two polls per average gap between items), so a wire
service is polled every few minutes and a weekly blog about daily. The
server may only make us slower, never faster: Cache-Control max-age, an RSS
``<ttl>`` and Retry-After raise the interval. Jitter spreads sources that
were added together (an OPML import) so they do not stay in lockstep.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.conf import settings

DAY = 86400
# Recent articles used to estimate the publishing rate.
RATE_WINDOW = timedelta(days=30)
# Each poll that finds nothing new stretches the interval by this factor,
# so a feed that went quiet drifts towards the maximum instead of being
# polled at its old busy rate for ever. New items reset it from the rate.
QUIET_GROWTH = 1.1
# Up to this fraction is added to every interval.
JITTER = 0.1


def interval_for_rate(*, items_per_day: float) -> int:
    """Seconds between polls for a feed publishing ``items_per_day`` items.

    Two polls per average gap between items, clamped to
    [NEWSDESK_POLL_MIN_SECONDS, NEWSDESK_POLL_MAX_SECONDS]; a feed with no
    recent items gets the maximum (daily by default).
    """
    low, high = settings.NEWSDESK_POLL_MIN_SECONDS, settings.NEWSDESK_POLL_MAX_SECONDS
    if items_per_day <= 0:
        return high
    return int(min(high, max(low, DAY / items_per_day / 2)))


def items_per_day_from(*, count: int, oldest: datetime | None, now: datetime) -> float:
    """Publishing rate from the ``count`` items published since ``oldest``
    (within the rate window). The span is at least a day, so one item an hour
    ago reads as 1/day, not 24/day."""
    if count <= 0 or oldest is None:
        return 0.0
    span_days = max((now - oldest).total_seconds() / DAY, 1.0)
    return round(count / span_days, 2)


def interval_when_quiet(*, current: int) -> int:
    """The interval after a poll that found nothing new."""
    high = settings.NEWSDESK_POLL_MAX_SECONDS
    return int(min(high, max(settings.NEWSDESK_POLL_MIN_SECONDS, current * QUIET_GROWTH)))


def with_jitter(*, seconds: float, rng: random.Random | None = None) -> int:
    """``seconds`` plus up to JITTER of it; never less than ``seconds``, so a
    server's Retry-After or max-age is always honoured."""
    rng = rng or random
    return int(seconds + seconds * JITTER * rng.random())


def error_backoff(*, error_count: int, base: int) -> int:
    """Seconds until the next try after ``error_count`` consecutive errors:
    ``base`` doubled per error, capped at NEWSDESK_ERROR_BACKOFF_MAX_SECONDS.
    The cap keeps a broken feed polled (never silently stopped); disabling
    is a separate, visible decision (``should_disable``)."""
    cap = settings.NEWSDESK_ERROR_BACKOFF_MAX_SECONDS
    base = max(base, settings.NEWSDESK_POLL_MIN_SECONDS, 1)
    exponent = min(max(error_count - 1, 0), 32)
    return int(min(cap, base * (2**exponent)))


def next_poll_delay(*, interval: int, floors: tuple[int | None, ...] = (), cap: int | None = None) -> int:
    """The delay before the next poll: ``interval`` raised to every server
    floor (max-age, ttl, Retry-After), jittered upwards, then capped."""
    seconds = max([interval, *[f for f in floors if f]])
    cap = (
        cap if cap is not None else max(settings.NEWSDESK_POLL_MAX_SECONDS, settings.NEWSDESK_ERROR_BACKOFF_MAX_SECONDS)
    )
    return min(with_jitter(seconds=min(seconds, cap)), cap)


def should_disable(*, first_error_at: datetime | None, now: datetime) -> bool:
    """True once a source has failed without a single success for
    NEWSDESK_DISABLE_AFTER_DAYS."""
    if first_error_at is None:
        return False
    return now - first_error_at >= timedelta(days=settings.NEWSDESK_DISABLE_AFTER_DAYS)


def delay_while_pushed(*, delay: int, push_until: datetime | None, now: datetime) -> int:
    """The delay while the feed's hub pushes its items to us (a live WebSub lease until ``push_until``).

    Polling is then only the safety net: NEWSDESK_WEBSUB_PUSHED_POLL_SECONDS away, but never
    past the lease's end, after which the usual schedule is back.
    """
    if push_until is None or push_until <= now:
        return delay
    left = int((push_until - now).total_seconds())
    return max(delay, min(settings.NEWSDESK_WEBSUB_PUSHED_POLL_SECONDS, left))
