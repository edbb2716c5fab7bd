"""The refinement pass on the database (beat runs it; see :mod:`newsdesk.coverage.refine`).

Reads the window's indexed documents and their stories, runs the engine's
:func:`~newsdesk.coverage.refine.stories_refine` with the editors' standing
decisions, and applies the moves in one transaction. A pass that decides
nothing writes nothing (no story, no link, no feed-version bump).

Beat's pass re-examines the whole window; the pass after a burst
(:mod:`newsdesk.coverage.burst`, ``touched_only``) only the stories whose
membership changed since the last pass began (``Story.updated_at``, with a
margin for clocks and commits) and their neighbours. Each pass records when
it began (the ``coverage-refine`` heartbeat row), which is where the next
burst pass starts looking. One pass runs at a time over all machines: a
PostgreSQL session advisory lock (released by the server if the worker
dies), elsewhere a Redis lock that expires after the task's hard time limit;
a pass that finds the lock taken does nothing and says so (``busy``).

The pass computes without row locks (seconds, over up to 20,000 articles) and
applies under them: each moved article is re-read under ``select_for_update``
and a move is dropped when the article left the story the pass saw (the live
assignment or an editor moved it meanwhile); the next pass looks again.
"""

from __future__ import annotations

import logging
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from newsdesk.models import Article, CoverageDoc, CoverageStory, Heartbeat, Story

from .burst import refine_scope
from .cluster import coverage_params, refine_params
from .engine import Doc, Params
from .linkstore import links_load
from .refine import RefineCache, RefineParams, Vectors, Weights, members_evidence, stories_refine
from .semantic import semantic_enabled

log = logging.getLogger(__name__)

# A worker process keeps the splits of unchanged stories for later passes.
# It keeps no pairwise similarities, not even within a pass: kept across
# passes they held 50-100 MB per 10,000 articles in each worker child that
# ever ran a pass, and within one about 30 MB at its peak (245,000 pairs for
# 10,600 documents), for a saving of about a second of CPU per pass
# (bench/refine_memory.py measures both).
_CACHE = RefineCache(keep_sims=False)
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class RefineStats:
    articles: int  # in the window
    moved: int
    created: int  # new stories (splits)
    emptied: int  # stories merged away
    skipped: int  # moves dropped because the article changed story meanwhile
    cpu_s: float
    touched: int | None = None  # stories touched since the last pass (a pass after a burst), None: whole window
    busy: bool = False  # another pass held the lock: this one did nothing


# The heartbeat row that records when the last pass began (where the next burst pass looks from).
MARK = "coverage-refine"
# Stories touched this long before the last pass began are looked at again: a
# story's updated_at is stamped by the writer's clock before its commit.
MARK_MARGIN = timedelta(seconds=60)
# pg_try_advisory_lock key of the refinement pass ("NDRefine").
_LOCK_KEY = 0x4E44_5265_6669_6E65
_REDIS_LOCK = "newsdesk:coverage:refine:lock"


@contextmanager
def refine_lock() -> Iterator[bool]:
    """Hold the one refinement lock while the block runs; yields False when another pass holds it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK_KEY])
            got = bool(cursor.fetchone()[0])
        try:
            yield got
        finally:
            if got:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])
        return
    from django.conf import settings

    from newsdesk.redisconn import redis_client

    token = secrets.token_hex(8)
    try:
        client = redis_client(timeout=2.0)
        got = bool(client.set(_REDIS_LOCK, token, nx=True, ex=settings.CELERY_TASK_TIME_LIMIT + 30))
    except Exception:  # no Redis: SQLite serialises the writes, and the apply checks each move anyway
        log.warning("event=refine_lock_unavailable", exc_info=True)
        yield True
        return
    try:
        yield got
    finally:
        if got:
            try:
                client.eval(
                    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
                    1,
                    _REDIS_LOCK,
                    token,
                )
            except Exception:
                log.warning("event=refine_unlock_failed", exc_info=True)


def stories_touched(*, since: datetime, window_since: datetime) -> set[int]:
    """Live stories of the window whose membership changed at ``since`` or later (index on last_published_at)."""
    return set(
        Story.objects.filter(last_published_at__gte=window_since, updated_at__gte=since, merged_into__isnull=True)
        .values_list("id", flat=True)
        .iterator(chunk_size=5000)
    )


def refine_mark() -> datetime | None:
    """When the last refinement pass began (None: never)."""
    return Heartbeat.objects.filter(name=MARK).values_list("at", flat=True).first()


def _window_docs(*, since: datetime, limit: int) -> tuple[list[Doc], Vectors | None, Weights]:
    """The window's indexed documents, oldest first, read in chunks, their weights and sentence vectors.

    A pass holds every document of its window at once (20,000 at most), so
    the rows are streamed, the term and name keys interned (the same
    words recur across the window's documents, and one copy of each serves
    them all), and each document's weights kept compact, apart from it
    (:class:`~newsdesk.coverage.refine.Weights`: a tuple of keys and an
    array of floats). The vectors stay float16, as stored, in one
    matrix (:class:`~newsdesk.coverage.refine.Vectors`). A document gets its
    dicts and its float32 vector only while the pass compares it.
    """
    rows = (
        CoverageDoc.objects.filter(at__gte=since.timestamp(), article__story__isnull=False)
        .order_by("-at", "-article_id")
        .values_list("article_id", "at", "terms", "names", "article__story_id")[:limit]
    )
    weights = Weights()
    docs = [
        weights.keep(Doc(key=k, at=at, terms=_interned(terms), grams={}, names=_interned(names), story=story))
        for k, at, terms, names, story in rows.iterator(chunk_size=2000)
    ]
    docs.reverse()
    if not docs or not semantic_enabled():
        return docs, None, weights
    import numpy as np

    from newsdesk.models import CoverageEmbedding

    keys: list[int] = []
    matrix = None
    vectors = CoverageEmbedding.objects.filter(article_id__in=[d.key for d in docs]).values_list("article_id", "vector")
    for key, data in vectors.iterator(chunk_size=2000):
        if data is None:
            continue
        row = np.frombuffer(data, dtype=np.float16)  # as stored (semantic.vector_bytes)
        if matrix is None:
            matrix = np.empty((len(docs), len(row)), dtype=np.float16)
        if len(row) != matrix.shape[1]:  # another model's vector, not yet replaced: none
            log.warning("event=refine_vector_skipped article=%s dims=%s", key, len(row))
            continue
        matrix[len(keys)] = row
        keys.append(key)
    if matrix is None:
        return docs, None, weights
    return docs, Vectors(keys, matrix[: len(keys)]), weights


def _older_members(
    docs: list[Doc], *, before: float, count: int, weights: Weights, vectors: Vectors | None
) -> tuple[dict[int, list[Doc]], Vectors | None]:
    """The latest ``count`` (or fewer) members of each of ``docs``' stories published before ``before``,
    oldest first: what a story spanning the window's edge is set against
    (:attr:`~newsdesk.coverage.refine.RefineParams.revive_anchors`; with 0, one each: the stories that
    span the edge, which the pass does not split). One read for all stories. Their weights are kept
    in ``weights`` as the window's are, and their sentence vectors join the window's (``vectors``)
    in one float16 matrix, which is returned."""
    stories = sorted({d.story for d in docs if d.story is not None})
    if not stories:
        return {}, vectors
    rank = Window(RowNumber(), partition_by=F("article__story_id"), order_by=(F("at").desc(), F("article_id").desc()))
    rows = (
        CoverageDoc.objects.filter(article__story_id__in=stories, at__lt=before)
        .annotate(rank=rank)
        .filter(rank__lte=max(count, 1))
        .order_by("at", "article_id")
        .values_list("article_id", "at", "terms", "names", "article__story_id")
    )
    out: dict[int, list[Doc]] = {}
    for key, at, terms, names, story in rows.iterator(chunk_size=2000):  # streamed, as the window's
        doc = weights.keep(Doc(key=key, at=at, terms=_interned(terms), grams={}, names=_interned(names), story=story))
        out.setdefault(story, []).append(doc)
    if not out or not semantic_enabled():
        return out, vectors
    import numpy as np

    from newsdesk.models import CoverageEmbedding

    older = [d.key for ds in out.values() for d in ds]
    keys: list[int] = list(vectors.row) if vectors is not None else []
    base = len(keys)
    matrix = None
    if vectors is not None:
        matrix = np.empty((base + len(older), vectors.matrix.shape[1]), dtype=np.float16)
        matrix[:base] = vectors.matrix
    rows = CoverageEmbedding.objects.filter(article_id__in=older).values_list("article_id", "vector")
    for key, data in rows.iterator(chunk_size=2000):
        if data is None:
            continue
        row = np.frombuffer(data, dtype=np.float16)  # as stored, as the window's
        if matrix is None:
            matrix = np.empty((len(older), len(row)), dtype=np.float16)
        if len(row) != matrix.shape[1]:  # another model's vector, not yet replaced: none
            continue
        matrix[len(keys)] = row
        keys.append(key)
    if matrix is None or len(keys) == base:
        return out, vectors
    return out, Vectors(keys, matrix[: len(keys)])


def _interned(weights: dict[str, float]) -> dict[str, float]:
    """``weights`` with interned keys (kept by :class:`~newsdesk.coverage.refine.Weights`)."""
    return {sys.intern(k): w for k, w in weights.items()}


def stories_refine_pass(*, touched_only: bool = False) -> RefineStats:
    """Beat's pass, or the pass after a burst (``touched_only``), as the tasks run it.

    In a worker's pool child the pass runs in a process forked for it
    (:func:`~newsdesk.ops.prefork.forked_call`): its working set (the window,
    +70-80 MB over 10,000 articles) goes back to the system when the pass
    ends, where in the child itself about half of it stayed until the child
    was replaced. The splits the pass worked out come back with its figures,
    for the next pass to reuse (:class:`~newsdesk.coverage.refine.RefineCache`).
    Elsewhere (eager tasks, a solo pool, the tests) it runs in this process.
    """
    from newsdesk.ops.prefork import forked_call, in_pool_child

    if not in_pool_child():
        return stories_refine_recent(touched_only=touched_only)
    stats, splits = forked_call(_pass_and_splits, touched_only=touched_only)
    with _CACHE_LOCK:
        _CACHE.splits = splits
    return stats


def _pass_and_splits(*, touched_only: bool) -> tuple[RefineStats, dict]:
    stats = stories_refine_recent(touched_only=touched_only)
    return stats, _CACHE.splits


def stories_refine_recent(
    *,
    now: datetime | None = None,
    params: Params | None = None,
    refine: RefineParams | None = None,
    touched_only: bool = False,
) -> RefineStats:
    """One refinement pass over the stories of the last ``refine.window_hours`` (beat's task), or, with
    ``touched_only``, over those touched since the last pass began and their neighbours (after a burst)."""
    started = time.process_time()
    with refine_lock() as got:
        if not got:
            log.info("event=stories_refine_busy touched_only=%s", touched_only)
            return RefineStats(0, 0, 0, 0, 0, time.process_time() - started, busy=True)
        return _refine(now=now, params=params, refine=refine, touched_only=touched_only, started=started)


def _refine(
    *, now: datetime | None, params: Params | None, refine: RefineParams | None, touched_only: bool, started: float
) -> RefineStats:
    began = timezone.now()  # the writers' clock (updated_at), whatever window ``now`` names
    params = params or coverage_params()
    refine = refine or refine_params()
    now = now or began
    since = datetime.fromtimestamp(now.timestamp() - refine.window_hours * 3600.0, tz=now.tzinfo)
    touched: set[int] | None = None
    mark = refine_mark() if touched_only else None
    if mark is not None:
        touched = stories_touched(since=mark - MARK_MARGIN, window_since=since)
        if not touched:
            return RefineStats(0, 0, 0, 0, 0, time.process_time() - started, touched=0)
    docs, vectors, weights = _window_docs(since=since, limit=refine.window_articles)
    # The window's first document: older members of its stories are the anchors (a full window ends later than ``since``).
    edge = docs[0].at if len(docs) >= refine.window_articles else since.timestamp()
    if touched is not None:
        docs = refine_scope(docs, touched, refine, weights=weights)
    anchors, vectors = _older_members(docs, before=edge, count=refine.revive_anchors, weights=weights, vectors=vectors)
    inside: dict[int, int] = {}
    for d in docs:
        inside[d.story or 0] = inside.get(d.story or 0, 0) + 1
    sizes = {s: n + len(anchors.get(s, ())) for s, n in inside.items()}
    seen = {d.key: d.story for d in docs}
    with _CACHE_LOCK:
        try:
            result = stories_refine(
                docs=docs,
                params=params,
                refine=refine,
                links=links_load(),
                cache=_CACHE,
                vectors=vectors,
                weights=weights,
                story_sizes=sizes,
                anchors=anchors,
            )
        finally:
            _CACHE.sims.clear()
    ntouched = None if touched is None else len(touched)
    if result.changed:
        why = members_evidence(
            docs=docs, moves=result.moves, keys=result.moves, params=params, vectors=vectors, weights=weights
        )
        moved, created, emptied, skipped = _apply(moves=result.moves, seen=seen, why=why)
    else:
        moved = created = emptied = skipped = 0
    # Where the next burst pass looks from (not a feed change: nothing the desk shows).
    Heartbeat.objects.update_or_create(name=MARK, defaults={"at": began})
    stats = RefineStats(len(docs), moved, created, emptied, skipped, time.process_time() - started, ntouched)
    log.info(
        "event=stories_refined articles=%s touched=%s moved=%s created=%s emptied=%s skipped=%s cpu_s=%.2f",
        *(stats.articles, ntouched, stats.moved, stats.created, stats.emptied, stats.skipped, stats.cpu_s),
    )
    return stats


def _apply(
    *, moves: dict[int, int], seen: dict[int, int | None], why: dict[int, tuple[float | None, dict]]
) -> tuple[int, int, int, int]:
    from .decisions import stories_reindex  # the one owner of "recount what a membership change touched"

    with transaction.atomic():
        stories = sorted({seen[k] for k in moves if seen[k] is not None} | {s for s in moves.values() if s > 0})
        live = set(
            Story.objects.select_for_update()
            .filter(id__in=stories, merged_into__isnull=True)
            .order_by("id")
            .values_list("id", flat=True)
        )
        current = dict(
            Article.objects.select_for_update()
            .filter(id__in=sorted(moves))
            .order_by("id")
            .values_list("id", "story_id")
        )
        valid = {k: s for k, s in moves.items() if current.get(k) == seen[k] and (s < 0 or s in live)}
        if not valid:
            return 0, 0, 0, len(moves)
        fresh = {s: Story.objects.create(headline="").id for s in sorted({s for s in valid.values() if s < 0})}
        by_target: dict[int, list[int]] = {}
        for key, story in valid.items():
            by_target.setdefault(fresh.get(story, story), []).append(key)
        # Each moved article's "why" names its new story's members (members_evidence).
        moved = [
            Article(id=key, story_id=fresh.get(story, story), story_score=why[key][0], story_evidence=why[key][1])
            for key, story in sorted(valid.items())
        ]
        Article.objects.bulk_update(moved, ["story", "story_score", "story_evidence"], batch_size=500)
        sources = {seen[k] for k in valid} - {None}
        left = set(Article.objects.filter(story_id__in=sorted(sources)).values_list("story_id", flat=True).distinct())
        emptied = sorted(sources - left)
        for story in emptied:
            # Where most of its members went: links and alerts that name it follow there.
            went = max(by_target, key=lambda t: (sum(1 for k in by_target[t] if seen[k] == story), -t))
            Story.objects.filter(id=story).update(merged_into_id=went)
            Story.objects.filter(merged_into_id=story).update(merged_into_id=went)
        CoverageStory.objects.filter(story_id__in=emptied).delete()
        # Emptied stories too: their figures go to zero (they keep no centroid).
        stories_reindex(sorted(set(by_target) | sources))
    return len(valid), len(fresh), len(emptied), len(moves) - len(valid)
