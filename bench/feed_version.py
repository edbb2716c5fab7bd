"""The feed version's Redis calls: the kept client against Django's public cache API.

Usage:
    python bench/feed_version.py [--calls N]

``newsdesk/changes.py`` reads the version and a feed's memo with one MGET on
a Redis client it keeps per thread, and bumps with one EVALSHA; both reach
into Django's RedisCache internals. Django's public API does the same work
with a client built per call, key validation per key, and for the bump an
EXISTS before INCR (two round trips). This bench times both ways on a private
Redis (or REDIS_URL, under a key prefix of its own, deleted afterwards), in
CPU per call, best of five rounds.

Target: the kept client is worth its private access only if it saves at
least 10% of a 304's CPU (about 1 ms of app CPU per 304, bench/dashboard.py;
the 304 p95 target is 2 ms). The last line prints the figures beside it; the
exit status is non-zero when the saving is below it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._services import private_services

A_304_CPU_US = 1000.0  # app CPU of one 304 answered from the memo (bench/dashboard.py, docs/benchmarks.md)
TARGET_SAVED_SHARE = 0.10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per round (five rounds)")
    args = parser.parse_args()
    with private_services("bench-feed-version-"):
        return run(args.calls)


def _cpu_us(fn, calls: int) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(calls):
            fn()
        best = min(best, (time.process_time() - start) / calls * 1e6)
    return best


def run(calls: int) -> int:
    import django
    from django.conf import settings

    settings.CACHES["default"]["KEY_PREFIX"] = f"bench-feed-version-{os.getpid()}"  # only our own keys
    django.setup()
    from django.core.cache import cache

    from newsdesk import changes

    memo_key = "feeds:validator:" + "0" * 64
    cache.set(memo_key, (1, '"etag"', 1_700_000_000), timeout=300)
    changes.articles_changed()
    assert changes._redis_held() is not None, "the cache is not Django's RedisCache: nothing to compare"

    def public_bump() -> None:
        try:
            cache.incr(changes.VERSION_KEY)
        except ValueError:
            cache.add(changes.VERSION_KEY, 1, timeout=None)
            cache.incr(changes.VERSION_KEY)

    try:
        read_kept = _cpu_us(lambda: changes.versioned_get(memo_key), calls)
        read_public = _cpu_us(lambda: cache.get_many([changes.VERSION_KEY, memo_key]), calls)
        bump_kept = _cpu_us(changes._bump, calls)
        bump_public = _cpu_us(public_bump, calls)
    finally:
        cache.delete_many([memo_key, changes.VERSION_KEY])
    saved_share = (read_public - read_kept) / A_304_CPU_US
    print(f"version+memo read: kept client {read_kept:.0f} us CPU, public get_many {read_public:.0f} us CPU")
    print(f"version bump:      kept client {bump_kept:.0f} us CPU, public incr {bump_public:.0f} us CPU")
    met = saved_share >= TARGET_SAVED_SHARE
    print(
        f"read_saved_us={read_public - read_kept:.0f} saved_share_of_304={saved_share:.2f} "
        f"(target>={TARGET_SAVED_SHARE}) bump_ratio={bump_public / bump_kept:.2f} keep_kept_client={'yes' if met else 'no'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
