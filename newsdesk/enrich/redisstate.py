"""Where translation state shared across workers lives in Redis (circuit
breakers, rate limits, budgets, single-flight locks): its keys, reached
through :func:`newsdesk.redisconn.redis_client`."""

from __future__ import annotations

from newsdesk.redisconn import redis_client

PREFIX = "newsdesk:tr:"


def redis_key(*parts: str) -> str:
    return PREFIX + ":".join(parts)


def redis_state_clear() -> int:
    """Delete all translation state (tests and benches start from a clean slate)."""
    client = redis_client()
    keys = list(client.scan_iter(match=PREFIX + "*", count=500))
    return client.delete(*keys) if keys else 0
