"""A daily character budget per provider: reserved in Redis, kept in the database.

The budget is money (DeepL Free: 500,000 characters a month), so it is
reserved atomically before a call and counted durably after it:

* The reservation is an ``INCRBY`` inside the Redis script that also takes
  the breaker, the rate slot and the single-flight lock (:mod:`.gate`), so it
  costs no round trip of its own and concurrent workers cannot overspend.
  A failed call gives its characters back.
* Every call is also written to the day's ``ProviderUsage`` row, in the same
  database statement that stores its translation. That row is the durable
  record: when the Redis counter is missing (first call of the day, a Redis
  flush or restart) it is seeded from the row, so a flush cannot reset the
  budget (it can only forget calls in flight at that moment).
"""

from __future__ import annotations

import contextvars
import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from django.conf import settings
from django.db import connection

from newsdesk.models import ProviderUsage
from newsdesk.redisconn import redis_client

from .ratelimit import parse_per_provider
from .redisstate import redis_key

# Long enough to span the day it counts, whatever the time zone of the reader.
_KEY_SECONDS = 2 * 86400


def budget_daily_limit(*, provider: str) -> int:
    """Characters per UTC day for ``provider``; 0 means no limit."""
    return int(parse_per_provider(raw=settings.NEWSDESK_TRANSLATION_DAILY_CHARS).get(provider, 0))


def budget_day() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


def budget_key(*, provider: str, day: datetime.date | None = None) -> str:
    return redis_key("budget", provider, (day or budget_day()).isoformat())


def budget_seed(*, provider: str, key: str, day: datetime.date | None = None) -> None:
    """Start the Redis counter from the day's durable usage (unless another worker just did)."""
    used = (
        ProviderUsage.objects.filter(provider=provider, day=day or budget_day())
        .values_list("characters", flat=True)
        .first()
    )
    redis_client().set(key, int(used or 0), nx=True, ex=_KEY_SECONDS)


# Only a counter that exists: DECRBY on a missing one would create a negative
# counter without expiry, which the next claim would take as spent budget.
_REFUND = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECRBY', KEYS[1], ARGV[1]) end return 0"


def budget_refund(*, provider: str, characters: int) -> None:
    """Give back the Redis reservation of a call that failed (providers bill successes)."""
    if characters:
        redis_client().eval(_REFUND, 1, budget_key(provider=provider), characters)


@lru_cache(maxsize=4)
def _usage_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    table = quote(ProviderUsage._meta.db_table)
    columns = [quote(ProviderUsage._meta.get_field(name).column) for name in ("provider", "day")]
    counters = [quote(ProviderUsage._meta.get_field(name).column) for name in ("characters", "calls", "failures")]
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counters)
    # Only quoted names of our own model are formatted in; values are parameters.
    return (
        f"INSERT INTO {table} ({', '.join(columns + counters)}) VALUES (%s, %s, %s, %s, %s) "  # noqa: S608
        f"ON CONFLICT ({', '.join(columns)}) DO UPDATE SET {updates}"
    )


def usage_statement(*, provider: str, characters: int, calls: int = 1, failures: int = 0) -> tuple[str, list]:
    """SQL and parameters adding to today's ProviderUsage row (creating it), for
    callers that combine it with other writes in one round trip."""
    day = connection.ops.adapt_datefield_value(budget_day())
    return _usage_sql(connection.vendor), [provider, day, characters, calls, failures]


def usage_record(*, provider: str, characters: int, calls: int = 1, failures: int = 0) -> None:
    """Count a call (and its characters, when billed) in today's durable usage."""
    sql, params = usage_statement(provider=provider, characters=characters, calls=calls, failures=failures)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# Billed characters per provider waiting to be written at the end of a usage_batch().
_batch: contextvars.ContextVar[dict[str, list[int]] | None] = contextvars.ContextVar("usage_batch", default=None)


@contextmanager
def usage_batch() -> Iterator[None]:
    """Within the block, ``usage_add`` sums successful calls per provider and
    writes them in one statement when the block ends (an article's title,
    summary and chunks: one write instead of one per call). Calls that
    happened are written even if the block raises."""
    if _batch.get() is not None:  # nested: the outer block writes
        yield
        return
    pending: dict[str, list[int]] = {}
    token = _batch.set(pending)
    try:
        yield
    finally:
        _batch.reset(token)
        for provider, (characters, calls) in pending.items():
            usage_record(provider=provider, characters=characters, calls=calls)


def usage_add(*, provider: str, characters: int) -> None:
    """Count one successful call: now, or at the end of the current usage_batch()."""
    pending = _batch.get()
    if pending is None:
        usage_record(provider=provider, characters=characters)
        return
    counts = pending.setdefault(provider, [0, 0])
    counts[0] += characters
    counts[1] += 1
