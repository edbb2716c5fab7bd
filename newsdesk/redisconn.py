"""Redis, reached one way for each use.

- Cached values (dashboard lists, stats, badges, login counters) go through
  Django's cache API, wrapped here so that a Redis outage costs a warning
  and a recomputation, never a page: :func:`cache_get`, :func:`cache_set`,
  :func:`cached`.
- State shared by workers that needs Redis itself (scripts, pipelines,
  hashes: translation breakers and budgets, task metrics, health checks)
  uses :func:`redis_client`: one client per process, URL and timeout.

``newsdesk/changes.py`` reads the feed version through the cache backend's
own client for speed (bench/feed_version.py says why).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import redis
from django.conf import settings
from django.core.cache import cache

from newsdesk.perprocess import PerProcess

log = logging.getLogger(__name__)
T = TypeVar("T")

_clients: PerProcess[redis.Redis] = PerProcess(
    lambda url, timeout: redis.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30
    )
)


def redis_client(*, timeout: float = 5.0) -> redis.Redis:
    """This process's client for REDIS_URL; every call waits at most ``timeout`` seconds."""
    return _clients.get(settings.REDIS_URL, float(timeout))


def cache_get(key: str, *, what: str) -> Any:
    """``cache.get(key)``; None (a miss) when the cache cannot answer."""
    try:
        return cache.get(key)
    except Exception:
        log.warning("event=cache_unavailable what=%s", what, exc_info=True)
        return None


def cache_get_many(keys: Iterable[str], *, what: str) -> dict[str, Any]:
    """``cache.get_many(keys)``; {} (all missing) when the cache cannot answer."""
    try:
        return cache.get_many(list(keys))
    except Exception:
        log.warning("event=cache_unavailable what=%s", what, exc_info=True)
        return {}


def cache_set(key: str, value: object, *, timeout: float, what: str) -> None:
    """``cache.set``; a cache that cannot take it is logged and skipped."""
    try:
        cache.set(key, value, timeout=timeout)
    except Exception:
        log.warning("event=cache_unavailable what=%s", what, exc_info=True)


def cache_call(call: Callable[[], T], *, default: T, what: str) -> T:
    """Any other cache operation, or ``default`` when the cache cannot answer."""
    try:
        return call()
    except Exception:
        log.warning("event=cache_unavailable what=%s", what, exc_info=True)
        return default


def cached(key: str, compute: Callable[[], T], *, timeout: float, what: str) -> T:
    """The cached value of ``key``, else ``compute()`` stored for ``timeout`` seconds.

    A Redis outage only means computing every time.
    """
    value = cache_get(key, what=what)
    if value is None:
        value = compute()
        cache_set(key, value, timeout=timeout, what=what)
    return value
