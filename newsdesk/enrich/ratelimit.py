"""A request rate limit per provider, shared by all worker processes.

GCRA in one Redis script: each caller reserves the next free slot
(``1/rate`` seconds after the previous one) and sleeps until it. The clock
is Redis's own ``TIME``, so workers on machines with skewed clocks agree.
A caller whose slot is further away than it may wait does not reserve it.
"""

from __future__ import annotations

import time
from functools import lru_cache

from newsdesk.redisconn import redis_client

from .redisstate import redis_key

_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local interval = tonumber(ARGV[1])
local max_wait = tonumber(ARGV[2])
if tat < now then tat = now end
local wait = tat - now
if wait > max_wait then return -wait end
redis.call('SET', KEYS[1], tat + interval, 'PX', wait + interval + 1000)
return wait
"""


_scripts: dict[int, object] = {}


class RateLimited(Exception):
    def __init__(self, wait: float):
        super().__init__(f"rate limit: next slot in {wait:.2f}s")
        self.wait = wait


def parse_per_provider(*, raw: str) -> dict[str, float]:
    """'google=4,deepl=10' -> {'google': 4.0, 'deepl': 10.0} (read-only: shared between calls)."""
    return _parse(raw)


@lru_cache(maxsize=32)
def _parse(raw: str) -> dict[str, float]:
    # Called on every provider call with the same setting: parse it once.
    out: dict[str, float] = {}
    for part in raw.split(","):
        name, _, value = part.partition("=")
        if name.strip() and value.strip():
            out[name.strip()] = float(value)
    return out


def rate_acquire(*, provider: str, per_second: float, max_wait: float) -> float:
    """Wait for this provider's next request slot; return seconds waited.
    Raises RateLimited when the slot is more than ``max_wait`` away."""
    if per_second <= 0:
        return 0.0
    client = redis_client()
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_SCRIPT)
    interval_ms = max(1, int(1000 / per_second))
    wait_ms = int(script(keys=[redis_key("rate", provider)], args=[interval_ms, int(max(0.0, max_wait) * 1000)]))
    if wait_ms < 0:
        raise RateLimited(-wait_ms / 1000)
    if wait_ms:
        time.sleep(wait_ms / 1000)
    return wait_ms / 1000
