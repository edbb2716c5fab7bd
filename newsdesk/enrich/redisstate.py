"""The Redis connection that translation state shared across workers lives in
(circuit breakers, rate limits, single-flight locks)."""

from __future__ import annotations

import os

import redis
from django.conf import settings

PREFIX = "newsdesk:tr:"
_clients: dict[tuple[int, str], redis.Redis] = {}


def redis_client() -> redis.Redis:
    """One client per process and URL (a forked child must not share sockets)."""
    key = (os.getpid(), settings.REDIS_URL)
    client = _clients.get(key)
    if client is None:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30
        )
        _clients[key] = client
    return client


def redis_key(*parts: str) -> str:
    return PREFIX + ":".join(parts)


def redis_state_clear() -> int:
    """Delete all translation state (tests and benches start from a clean slate)."""
    client = redis_client()
    keys = list(client.scan_iter(match=PREFIX + "*", count=500))
    return client.delete(*keys) if keys else 0
