"""A circuit breaker per translation provider, shared by all worker processes.

State lives in Redis so that one worker's view of an outage protects every
other worker: after ``NEWSDESK_TRANSLATION_BREAKER_FAILURES`` failures within
the window the breaker opens and nobody calls the provider until the
cooldown passes. Then it is half-open: exactly one caller (an atomic
``SET NX`` probe key) may try; success closes it, failure re-opens it with a
doubled cooldown (capped). A 429 with ``Retry-After`` opens it for that long
at once, because the provider said so.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings

from newsdesk.redisconn import redis_client

from .redisstate import redis_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BreakerState:
    state: str  # closed, open, half_open
    open_seconds: float = 0.0
    reason: str = ""


def _keys(provider: str) -> tuple[str, str, str, str]:
    return (
        redis_key("breaker", provider, "open"),
        redis_key("breaker", provider, "fails"),
        redis_key("breaker", provider, "tripped"),
        redis_key("breaker", provider, "probe"),
    )


def breaker_state(*, provider: str) -> BreakerState:
    open_key, _fails, tripped_key, _probe = _keys(provider)
    pipe = redis_client().pipeline(transaction=False)
    pipe.get(open_key)
    pipe.pttl(open_key)
    pipe.exists(tripped_key)
    reason, ttl, tripped = pipe.execute()
    if reason is not None:
        return BreakerState("open", max(ttl, 0) / 1000, reason.decode("utf-8", "replace"))
    if tripped:
        return BreakerState("half_open")
    return BreakerState("closed")


def breaker_allow(*, provider: str, probe_seconds: float, wait: float = 0.0) -> bool:
    """May we call the provider now? In half-open state only one caller at a
    time gets True (the probe, held for ``probe_seconds``); the others wait up
    to ``wait`` seconds for the probe's outcome instead of giving up at once."""
    _open, _fails, _tripped, probe_key = _keys(provider)
    give_up = time.monotonic() + wait
    while True:
        state = breaker_state(provider=provider)
        if state.state == "closed":
            return True
        if state.state == "open":
            return False
        if redis_client().set(probe_key, "1", nx=True, px=max(1, int(probe_seconds * 1000))):
            return True
        if time.monotonic() >= give_up:
            return False
        time.sleep(0.05)


def breaker_success(*, provider: str) -> None:
    open_key, fails_key, tripped_key, probe_key = _keys(provider)
    client = redis_client()
    # Most calls succeed with a closed breaker: one round trip to check, a second only when there is state.
    if client.exists(fails_key, tripped_key, probe_key):
        client.delete(fails_key, tripped_key, probe_key, open_key)
        log.info("event=breaker_closed provider=%s", provider)


def breaker_failure(*, provider: str, reason: str, retry_after: float | None = None) -> bool:
    """Record a failure; returns True when the breaker is (now) open."""
    open_key, fails_key, tripped_key, probe_key = _keys(provider)
    client = redis_client()
    pipe = client.pipeline(transaction=False)
    pipe.incr(fails_key)
    pipe.pexpire(fails_key, int(settings.NEWSDESK_TRANSLATION_BREAKER_WINDOW * 1000))
    pipe.get(tripped_key)
    fails, _, tripped = pipe.execute()
    cooldown = settings.NEWSDESK_TRANSLATION_BREAKER_COOLDOWN
    if tripped is not None:  # a failed half-open probe: back off further
        cooldown = min(float(tripped) * 2, settings.NEWSDESK_TRANSLATION_BREAKER_MAX_COOLDOWN)
    elif retry_after is None and fails < settings.NEWSDESK_TRANSLATION_BREAKER_FAILURES:
        return False
    if retry_after is not None:
        cooldown = min(max(retry_after, 0.001), settings.NEWSDESK_TRANSLATION_BREAKER_MAX_COOLDOWN)
    pipe = client.pipeline(transaction=False)
    pipe.set(open_key, reason[:200], px=max(1, int(cooldown * 1000)))
    pipe.set(tripped_key, str(cooldown), ex=int(settings.NEWSDESK_TRANSLATION_BREAKER_MAX_COOLDOWN * 4) + 60)
    pipe.delete(probe_key)
    pipe.execute()
    log.warning("event=breaker_open provider=%s seconds=%.1f reason=%s", provider, cooldown, reason[:200])
    return True
