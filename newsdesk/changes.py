"""A cheap global version of "what feeds show", so a feed's 304 needs no article query.

Every write that can change a feed (an article stored, edited, translated or
deleted; a story's membership or outlet count; an outlet's name) calls
``articles_changed()``, which increments one counter in the cache (Redis).
No writer has to remember it: model saves and deletes do it through signals
(connected in ``NewsdeskConfig.ready``), and the bulk writes that send no
signal (``QuerySet.update``, ``bulk_update``, ``bulk_create``, ``delete``) do
it in the models' ``FeedShownQuerySet`` (``newsdesk/models/shown.py``). Only
raw SQL calls it by hand, and only coverage writes these tables with SQL;
tests/test_feed_version_contract.py runs every write path.

Feeds memoize their exact validator (computed from the items' ids and update
times) under the version they read *before* running their query, so:

- the counter moves *after* the writing transaction commits (and once more
  when the write is made, which keeps tests and autocommit code simple): a
  reader that saw the new version also sees the new rows;
- a missing counter (evicted, Redis restarted) starts again from a random
  value, so it never lands back on a version an old memo was stored under;
- with the cache unreachable, readers compute the validator from the
  database as before; a bump lost to an outage is covered by the memo's
  expiry (``NEWSDESK_FEED_VALIDATOR_TTL``, the feeds' max-age by default,
  which is how stale HTTP caches may already serve a feed).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import DEFAULT_DB_ALIAS, connections, transaction

logger = logging.getLogger(__name__)

VERSION_KEY = "feeds:articles-version"
# Source columns a feed item shows, as the feeds declare them (signals_connect);
# a save touching only others (poll scheduling, health) leaves feeds as they were.
SOURCE_FEED_FIELDS: frozenset[str] = frozenset()


def _fresh() -> int:
    return secrets.randbits(52)


def _bump() -> None:
    try:
        held = _redis_held()
        if held is not None:
            # One command: create at a random value if missing, then increment.
            backend, client, _ = held
            key = backend.make_and_validate_key(VERSION_KEY)
            _bump_script(client)(keys=[key], args=[_fresh()])
            return
        try:
            cache.incr(VERSION_KEY)
        except ValueError:  # no counter yet (or evicted): start anywhere new
            cache.add(VERSION_KEY, _fresh(), timeout=None)
            cache.incr(VERSION_KEY)
    except Exception:  # the cache is an optimisation: never fail a write for it
        logger.warning("event=feed_version_bump_failed", exc_info=True)


# SET NX then INCR, atomically, as one EVALSHA (a MULTI/EXEC pipeline of the
# same two commands costs four commands' parsing on both sides).
_BUMP_LUA = "redis.call('SET', KEYS[1], ARGV[1], 'NX') return redis.call('INCR', KEYS[1])"


def _bump_script(client):
    script = getattr(_REDIS, "bump", None)
    if script is None or script.registered_client is not client:
        script = _REDIS.bump = client.register_script(_BUMP_LUA)
    return script


def _after_commit() -> None:
    held = getattr(_COALESCING, "depth", 0)
    if held:
        _COALESCING.pending = True
        return
    _bump()
    _committed()


_COALESCING = threading.local()


@contextmanager
def changes_coalesced() -> Iterator[None]:
    """One bump (and one round of listeners) for all the transactions committed inside, at exit.

    For a loop that commits many small transactions (an enrichment batch
    commits each article on its own): each commit would cost two Redis
    calls. Held back until the block ends, the bump still comes after every
    commit it covers, so a reader that sees the new version sees all their
    rows; readers meanwhile keep the old version a little longer (the
    block's duration), as if the writes had been slower. The bump is made
    however the block ends. Per thread.
    """
    _COALESCING.depth = getattr(_COALESCING, "depth", 0) + 1
    try:
        yield
    finally:
        _COALESCING.depth -= 1
        if not _COALESCING.depth and getattr(_COALESCING, "pending", False):
            _COALESCING.pending = False
            _after_commit()


# Called once a change that may show in a feed is committed (the WebSub hub's publish trigger,
# registered by NewsdeskConfig.ready): never inside the writing transaction.
_COMMIT_LISTENERS: list = []


def on_committed_change(listener) -> None:
    """Call ``listener()`` after every committed write that moves the feed version."""
    if listener not in _COMMIT_LISTENERS:
        _COMMIT_LISTENERS.append(listener)


def _committed() -> None:
    for listener in _COMMIT_LISTENERS:
        try:
            listener()
        except Exception:  # a listener is an optimisation too: the write is done
            logger.warning("event=feed_change_listener_failed", exc_info=True)


def articles_changed(*, using: str = DEFAULT_DB_ALIAS, at_commit_only: bool = False) -> None:
    """Record that what some feed shows may have changed (call after writing).

    ``at_commit_only`` skips the immediate bump inside a transaction (a hot
    path's one Redis round trip instead of two): the bump at commit is the one
    readers need, since a reader that saw the old version memoizes under that
    old version only. Outside a transaction it bumps at once either way.
    """
    connection = connections[using]
    if not (at_commit_only and connection.in_atomic_block):
        _bump()
    if not connection.in_atomic_block:
        _committed()  # autocommit: the write is already committed
    # Once more when the transaction commits; one callback per transaction.
    if connection.in_atomic_block and not any(func is _after_commit for _, func, _ in connection.run_on_commit):
        transaction.on_commit(_after_commit, using=using)


def versioned_get(key: str) -> tuple[int | None, object]:
    """(current version, the value cached under ``key``) in one cache round trip.

    The version is None when the cache cannot be reached: the caller then
    works from the database and stores nothing.
    """
    version, found = versioned_get_many([key])
    return version, found.get(key)


def versioned_get_many(keys: list[str]) -> tuple[int | None, dict[str, object]]:
    """(current version, {key: cached value} of those of ``keys`` that are cached) in one round trip."""
    try:
        found = _redis_get_many([VERSION_KEY, *keys])
        if found is None:
            found = cache.get_many([VERSION_KEY, *keys])
        version = found.pop(VERSION_KEY, None)
        if version is None:
            cache.add(VERSION_KEY, _fresh(), timeout=None)
            return cache.get(VERSION_KEY), {}
        return version, found
    except Exception:
        logger.warning("event=feed_version_read_failed", exc_info=True)
        return None, {}


# (cache backend, its Redis client, serializer): Django's Redis backend builds a
# client object on every call, and its incr is EXISTS then INCR. Kept per
# thread, as Django's cache handles are. This reaches into RedisCache's private
# client and serializer: bench/feed_version.py measures what it saves (about
# 110 us CPU per version read, a tenth of a 304, and 2.5x on a bump) and
# decides whether it stays; any other backend takes the public API.
_REDIS = threading.local()


def _redis_held() -> tuple | None:
    """(backend, Redis client of the primary, serializer), or None when the cache is not Django's Redis."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    held = getattr(_REDIS, "held", None)
    if held is None or held[0] is not backend:
        inner = getattr(backend, "_cache", None)
        if not isinstance(backend, RedisCache) or not hasattr(inner, "_serializer"):
            return None
        held = _REDIS.held = (backend, inner.get_client(None, write=True), inner._serializer)
    return held


def _redis_get_many(keys: list[str]) -> dict[str, object] | None:
    """``cache.get_many(keys)`` through one kept Redis client; None when the cache is not Django's Redis.

    It reads the primary (a replica may lag a bump behind).
    """
    held = _redis_held()
    if held is None:
        return None
    backend, client, serializer = held
    values = client.mget([backend.make_and_validate_key(k) for k in keys])
    return {k: serializer.loads(v) for k, v in zip(keys, values, strict=True) if v is not None}


def versioned_set(key: str, value: object, *, timeout: int) -> None:
    """``cache.set`` through the kept client: Django's builds a Redis client object per call,
    a sixth of a live poll's CPU when its memo is stored."""
    try:
        held = _redis_held()
        if held is not None and timeout and timeout > 0:
            backend, client, serializer = held
            client.set(backend.make_and_validate_key(key), serializer.dumps(value), ex=int(timeout))
            return
        cache.set(key, value, timeout=timeout)
    except Exception:
        logger.warning("event=feed_version_memo_failed", exc_info=True)


def _on_article_or_story(sender, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    articles_changed(using=using)


def _on_source_save(sender, using=DEFAULT_DB_ALIAS, update_fields=None, **kwargs) -> None:
    if update_fields is None or SOURCE_FEED_FIELDS & set(update_fields):
        articles_changed(using=using)


def signals_connect(*, source_fields: frozenset[str]) -> None:
    """Bump on every model write that can change a feed; ``source_fields``: the Source columns feeds show."""
    from django.db.models.signals import post_delete, post_save

    global SOURCE_FEED_FIELDS
    SOURCE_FEED_FIELDS = source_fields

    from newsdesk.models import Article, Source, Story

    for model in (Article, Story):
        post_save.connect(_on_article_or_story, sender=model, dispatch_uid=f"feed-version-save-{model.__name__}")
        post_delete.connect(_on_article_or_story, sender=model, dispatch_uid=f"feed-version-delete-{model.__name__}")
    post_save.connect(_on_source_save, sender=Source, dispatch_uid="feed-version-save-Source")
    post_delete.connect(_on_article_or_story, sender=Source, dispatch_uid="feed-version-delete-Source")
