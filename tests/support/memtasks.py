"""Tasks a test worker loads with ``--include`` to exercise the memory guard.

``child_pid`` records which pool process ran it (a Redis list); ``memory_grow``
keeps ``mb`` megabytes alive in the child, as a leak would.
"""

from __future__ import annotations

import os

from celery import shared_task
from django.conf import settings

PIDS_KEY = "newsdesk:test:child_pids"
_held: list[bytearray] = []


def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


@shared_task
def child_pid() -> None:
    _redis().rpush(PIDS_KEY, os.getpid())


@shared_task
def memory_grow(mb: int) -> None:
    block = bytearray(mb * 1024 * 1024)
    block[::4096] = b"x" * len(block[::4096])  # touch every page so it is resident
    _held.append(block)
    _redis().rpush(PIDS_KEY, os.getpid())
