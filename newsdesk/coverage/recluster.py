"""Rebuilding stories from the stored articles (``manage.py recluster``).

A full rebuild replays every article, oldest first, through the same
:func:`~newsdesk.coverage.engine.doc_assign` as the live pipeline, but on a
:class:`~newsdesk.coverage.memory.MemoryStore` (no lock or round trip per
article), then writes the stories, links and index in bulk. ``--since``
detaches only the newer articles and replays them one by one against the
database index of the older ones.

A full rebuild runs while workers go on enriching. What they assigned after
its read is replayed too before the write (:meth:`_Replay.catch_up`): once
with no lock, then, for the last ones, inside the write's transaction after
it has locked the document counts every live assignment reads first, so
nothing is assigned between that catch-up and the commit; an editor's
decision waits likewise (the decisions' table is locked first). A write that
loses a deadlock is tried again from the replay in memory.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from itertools import islice
from typing import Any

from django.db import OperationalError, connection, transaction

from newsdesk.changes import articles_changed
from newsdesk.models import Article, CoverageDoc, CoveragePosting, CoverageStory, CoverageTerm, Story, StoryDecision

from .cluster import article_assign_story, article_features, coverage_params, refine_params
from .dbboilerplate import boilerplate_recount, boilerplate_segments
from .dbwrite import DOC_COUNT_KEY, doc_columns, story_centroid_rebuild
from .docpack import centroid_pack, doc_pack
from .engine import GRAM_PREFIX, Params, doc_assign
from .links import Links
from .linkstore import decisions_lock, links_load
from .memory import MemoryStore
from .particulars import VERSION as PARTICULARS_VERSION
from .refine import RefineCache, RefineSchedule
from .semantic import semantic_enabled
from .sql import pg_copy, pg_indexes_drop, utc_datetime
from .storycounts import stories_refresh_counts, story_refresh_counts
from .text import Features

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
_FIELDS = (
    "id",
    "title_orig",
    "summary_orig",
    "title_en",
    "summary_en",
    "translation_status",
    "published_at",
    "enriched_at",
    "story_id",
    "language",  # the lead check reads only languages the model reads (semantic.lead_unrelated), as enrichment
    "url",  # a page under its site's title is read by its URL's headline (text.page_headline)
)
_AT = _FIELDS.index("published_at")
_ENRICHED = _FIELDS.index("enriched_at")
_STORY = _FIELDS.index("story_id")
_PARALLEL_MIN = 5000  # below this, starting a helper process costs more than it saves
_BATCH = 2000  # articles per batch handed to the helper
_FIRST_BATCH = 1000  # the first: the assignment waits for it
_AHEAD = 2  # batches queued in the helper beside the one being assigned


@dataclass(frozen=True, slots=True)
class ReclusterStats:
    articles: int
    stories: int


def articles_recluster(*, since: datetime | None = None, progress: Progress | None = None) -> ReclusterStats:
    stats = _recluster_since(since=since, progress=progress) if since is not None else _recluster_all(progress=progress)
    articles_changed()  # bulk updates and raw SQL send no model signals
    return stats


def _features_of(row: tuple, boilerplate: frozenset[str] = frozenset()) -> Features:
    """Features of one article row (a helper process's job: no database access)."""
    return article_features(article=Article(**dict(zip(_FIELDS, row, strict=True))), boilerplate=boilerplate)


class _FeaturesStream:
    """Each row with its features, in row order; a helper process computes them when a second core can.

    Text analysis is about a third of a rebuild's CPU and needs nothing from
    the previous articles, so it runs beside the (strictly sequential)
    assignment: the helper analyses the next batches while this process
    assigns the current one. The helper is forked, so it shares this
    process's hash seed and produces exactly what this process would. It
    starts on entering the block, so it analyses the first batch while this
    process reads the stored vectors; the first batch is small
    (``_FIRST_BATCH``), so the assignment starts early, and ``_AHEAD``
    batches are queued at all times, so the helper never waits for the
    assignment to take a batch (it analyses an article several times faster
    than the assignment places it).
    """

    def __init__(self, rows: Iterator[tuple], *, total: int, boilerplate: frozenset[str]) -> None:
        self.rows = rows
        self.boilerplate = boilerplate
        self.parallel = total >= _PARALLEL_MIN and (os.cpu_count() or 1) >= 2 and "fork" in mp.get_all_start_methods()
        self.pool: Any = None
        self.jobs: deque[tuple[list[tuple], Any]] = deque()
        self.more = True  # rows not handed to the helper yet may remain

    def __enter__(self) -> _FeaturesStream:
        if self.parallel:
            self.pool = mp.get_context("fork").Pool(1)
            self._queue(_FIRST_BATCH)
            self._queue(_BATCH)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.terminate()  # as ``with Pool()`` leaves it
            self.pool.join()
            self.pool = None

    def _queue(self, size: int) -> None:
        """Hand the helper the next ``size`` rows, if the rows go on."""
        batch = list(islice(self.rows, size)) if self.more else []
        self.more = len(batch) == size
        if batch:
            features_of = partial(_features_of, boilerplate=self.boilerplate)
            self.jobs.append((batch, self.pool.map_async(features_of, batch, chunksize=250)))

    def __iter__(self) -> Iterator[tuple[tuple, Features]]:
        if not self.parallel:
            for row in self.rows:
                yield row, _features_of(row, self.boilerplate)
            return
        while self.jobs:
            batch, job = self.jobs.popleft()
            features = job.get()
            while self.more and len(self.jobs) < _AHEAD:
                self._queue(_BATCH)
            yield from zip(batch, features, strict=True)


def _recluster_all(*, progress: Progress | None) -> ReclusterStats:
    params = coverage_params()
    total = Article.objects.count()
    # The boilerplate counts are rebuilt from the articles replayed (in fetch order, as enrichment
    # counted them), then read once: every article reads its lead by the same counts.
    boilerplate_recount()
    boilerplate = boilerplate_segments()
    rows = Article.objects.order_by("published_at", "id").values_list(*_FIELDS).iterator(chunk_size=2000)
    with _FeaturesStream(rows, total=total, boilerplate=boilerplate) as stream:  # the helper starts on the first batch
        vectors = _semantic_vectors(boilerplate)
        replay = _Replay(params=params, links=links_load(), boilerplate=boilerplate)  # editors' decisions bind too
        _replay_stream(replay, stream, vectors, total=total, progress=progress)
    del vectors
    # Workers went on assigning while the replay ran: what they did is replayed too, first here
    # (most of it, no lock held), then the rest under the write's lock (see _write).
    replay.catch_up()
    for attempt in range(1, _WRITE_TRIES + 1):
        try:
            return _write(replay)
        except OperationalError as exc:
            if attempt == _WRITE_TRIES or not _retryable(exc):
                raise
            log.warning("event=recluster_write_retry attempt=%d error=%r", attempt, str(exc)[:200])
    raise AssertionError("unreachable")


def _replay_stream(
    replay: _Replay, stream: _FeaturesStream, vectors: dict, *, total: int, progress: Progress | None
) -> None:
    """Replay every row of ``stream`` with its stored vector, with refinement passes between."""
    params = replay.params
    # Refinement passes over the replay (the code of beat's task), every
    # quarter of the window of stream time rather than beat's every few
    # minutes: each article is still seen by four passes, and a rebuild of a
    # long history stays at its thousands of articles a second.
    shipped = refine_params()
    schedule = RefineSchedule(refine=replace(shipped, every_seconds=shipped.window_hours * 3600.0 / 4))
    cache = RefineCache()
    store = replay.store
    at = 0.0
    for n, (row, features) in enumerate(stream, 1):
        vec = vectors.get(row[0])
        at = replay.add(row, features, None if vec is None else vec.astype("float32"))
        if schedule.due(at):
            store.window_refine(now=at, params=params, refine=schedule.refine, links=replay.links, cache=cache)
        if progress and (n % 500 == 0 or n == total):
            progress(n, total)
    if replay.assigned:
        store.window_refine(now=at, params=params, refine=schedule.refine, links=replay.links, cache=cache)


_WRITE_TRIES = 5
# Deadlock, serialization failure, lock not available (PostgreSQL); a busy database (SQLite).
_RETRYABLE_STATES = frozenset({"40P01", "40001", "55P03"})


def _retryable(exc: OperationalError) -> bool:
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) in _RETRYABLE_STATES:
        return True
    return connection.vendor == "sqlite" and "locked" in str(exc)


class _Replay:
    """The rebuild's replay: the memory store, and what it replayed of each article.

    ``seen`` holds each replayed article's ``enriched_at`` as the replay read
    it, ``previous`` its story then (for keeping story ids), ``assigned`` its
    score and evidence, in replay order.
    """

    def __init__(self, *, params: Params, links: Links, boilerplate: frozenset[str]) -> None:
        self.params = params
        self.links = links
        self.boilerplate = boilerplate
        self.store = MemoryStore(centroid_terms=params.centroid_terms)
        self.assigned: dict[int, tuple[float | None, dict]] = {}
        self.seen: dict[int, datetime | None] = {}
        self.previous: dict[int, int | None] = {}

    def add(self, row: tuple, features: Features, embedding: object) -> float:
        """Replay one article row; return its time."""
        key, at = row[0], row[_AT].timestamp()
        self.seen[key] = row[_ENRICHED]
        self.previous[key] = row[_STORY]
        result = doc_assign(
            doc_key=key,
            at=at,
            features=features,
            store=self.store,
            params=self.params,
            embedding=embedding,
            links=self.links,
        )
        self.assigned.pop(key, None)
        self.assigned[key] = (result.score, result.evidence)
        return at

    def withdraw(self, key: int) -> None:
        """Take a replayed article back out (deleted since, or to be replayed again)."""
        docs = self.store.docs([key])
        if docs:
            doc = docs[0]
            df_keys = [*doc.terms, *(GRAM_PREFIX + g for g in doc.grams)]
            self.store.doc_withdraw(key, index_terms=doc.index_terms(self.params.query_terms), df_keys=df_keys)
        self.assigned.pop(key, None)
        self.seen.pop(key, None)
        self.previous.pop(key, None)

    def catch_up(self) -> int:
        """Replay what changed since the replay read it; return how many articles were replayed again.

        Articles assigned live since the read (new ones, or older ones
        enriched meanwhile: their text changed) are replayed as they are
        now, with the editors' decisions as they are now (the articles a
        decision names since are replayed again too); deleted articles are
        taken out. Story-less articles are left to the pipeline: their
        enrichment is under way and assigns them against the rebuilt index.
        """
        rows = Article.objects.values_list("id", "story_id", "enriched_at").iterator(chunk_size=5000)
        now = {key: (story, enriched) for key, story, enriched in rows}
        for key in [k for k in self.seen if k not in now]:
            self.withdraw(key)
        links = links_load()
        renamed = _links_changed(self.links, links)
        self.links = links
        todo = {
            key
            for key, (story, enriched) in now.items()
            if (key not in self.seen and story is not None)
            or (key in self.seen and (self.seen[key] != enriched or key in renamed))
        }
        if not todo:
            return 0
        for key in todo:
            self.withdraw(key)
        articles = list(Article.objects.filter(id__in=sorted(todo)).order_by("published_at", "id"))
        embeddings: dict = {}
        if semantic_enabled():
            from .semantic import articles_embeddings

            embeddings = articles_embeddings(articles, {a.id: self.boilerplate for a in articles})
        for article in articles:
            row = tuple(getattr(article, f) for f in _FIELDS)
            self.add(row, _features_of(row, self.boilerplate), embeddings.get(article.id))
        log.info("event=recluster_caught_up articles=%d", len(articles))
        return len(articles)


def _links_changed(before: Links, after: Links) -> set[int]:
    """The articles whose editors' decisions differ between two readings."""
    return {
        key
        for key in before.keys() | after.keys()
        if before.must_of(key) != after.must_of(key) or before.cannot_of(key) != after.cannot_of(key)
    }


def _coverage_lock() -> None:
    """Hold live assignment (and every other writer of the index) off for the rest of the transaction.

    The index's tables are locked before the last catch-up reads, so a
    transaction that touched them is waited for and its commit is then
    visible to the catch-up. The document counts come first: every
    assignment reads them first (before any row lock), so it waits there
    holding nothing the rebuild needs. The editors' decisions' table is taken
    before them (:func:`~newsdesk.coverage.linkstore.decisions_lock`): an
    editor takes it first too, so a decision is either read by the last
    catch-up or waits, holding no row, until the rebuild has committed.
    SQLite's write transaction (``BEGIN IMMEDIATE``) already excludes every
    other writer.
    """
    decisions_lock(rebuild=True)
    if connection.vendor == "postgresql":
        tables = [m._meta.db_table for m in (CoverageTerm, CoverageDoc, CoveragePosting, CoverageStory)]
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")


def _write(replay: _Replay) -> ReclusterStats:
    """Write the replay's stories, links and index in one transaction, after a last catch-up under its lock."""
    store, params = replay.store, replay.params
    with transaction.atomic():
        _coverage_lock()
        replay.catch_up()
        _index_clear()
        assigned = replay.assigned
        # Stories in the order they were first seen.
        final = {key: store.story_of(key) for key in assigned}
        order: dict[int, int] = {}
        for key in assigned:
            order.setdefault(final[key] or 0, key)
        old = dict(Story.objects.values_list("id", "merged_into_id"))
        story_id = _story_ids_reused(order=order, previous=replay.previous, old=old)
        fresh = [mem for mem in order if mem not in story_id]
        stories = Story.objects.bulk_create([Story() for _ in fresh], batch_size=2000)
        story_id.update({mem: s.id for mem, s in zip(fresh, stories, strict=True)})
        # Every article gets its new link in one pass; only then do the
        # unused old stories go (nothing points at them any more, so no
        # article is written twice).
        # A member a refinement pass moved is explained by its new story's members.
        why = store.moved_why
        _links_write([(key, story_id[final[key] or 0], *why.get(key, sw)) for key, sw in assigned.items()])
        _stories_delete(sorted(set(old) - set(story_id.values())))
        _index_write(store=store, story_id=story_id, params_query_terms=params.query_terms)
        if semantic_enabled():
            from .dbsemantic import story_embeddings_write

            story_embeddings_write((story_id[s], v) for s, v in store.centroid_embedding_items() if s in story_id)
        stories_refresh_counts()
    return ReclusterStats(articles=len(assigned), stories=len(order))


def _story_ids_reused(
    *, order: dict[int, int], previous: dict[int, int | None], old: dict[int, int | None]
) -> dict[int, int]:
    """Keep the id of each rebuilt story's first member's old story, if no earlier story took it.

    A rebuild that finds the same stories (a re-run, a small change of
    settings) then keeps their ids: story pages and per-story feeds stay
    where subscribers found them, and the articles whose link did not change
    are not rewritten (see :func:`_links_write`). Stories are taken in
    timeline order, so the result depends only on the data and the old links.
    """
    reused: dict[int, int] = {}
    taken: set[int] = set()
    for mem, first in order.items():
        was = previous.get(first)
        if was is not None and was in old and old[was] is None and was not in taken:
            reused[mem] = was
            taken.add(was)
    return reused


def _stories_delete(ids: Sequence[int]) -> None:
    """Delete stories no article points at any more (their centroids went with the index)."""
    if connection.vendor == "postgresql":
        # One statement: the ORM's collector would look up every relation of
        # every story first, and no article references these rows any more.
        # Editors' decisions name stories as history only (their pairs of
        # articles are what binds): the references go, as SET_NULL says.
        StoryDecision.objects.filter(story_id__in=ids).update(story=None)
        StoryDecision.objects.filter(target_id__in=ids).update(target=None)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {Story._meta.db_table} WHERE id = ANY(%s)", [list(ids)])  # noqa: S608
        return
    for i in range(0, len(ids), 5000):
        Story.objects.filter(id__in=ids[i : i + 5000]).delete()


def _semantic_vectors(boilerplate: frozenset[str]) -> dict:
    """Article id -> stored embedding when the semantic backend is on (computing missing ones), else {}."""
    if not semantic_enabled():
        return {}
    from .dbsemantic import embeddings_ensure

    return embeddings_ensure(boilerplate=boilerplate)


def _recluster_since(*, since: datetime, progress: Progress | None) -> ReclusterStats:
    ids = list(
        Article.objects.filter(published_at__gte=since).order_by("published_at", "id").values_list("id", flat=True)
    )
    with transaction.atomic():
        touched = set(Article.objects.filter(id__in=ids, story__isnull=False).values_list("story_id", flat=True))
        # Withdraw the newer articles from the index as if they had never arrived.
        docs = CoverageDoc.objects.filter(article_id__in=ids)
        counts: dict[str, int] = {}
        for terms, grams in docs.values_list("terms", "grams").iterator(chunk_size=2000):
            for k in [*terms, *(GRAM_PREFIX + g for g in grams), DOC_COUNT_KEY]:
                counts[k] = counts.get(k, 0) + 1
        for k, c in counts.items():
            CoverageTerm.objects.filter(term=k).update(df=max(0, CoverageTerm.objects.get(term=k).df - c))
        CoveragePosting.objects.filter(article_id__in=ids).delete()
        docs.delete()
        Article.objects.filter(id__in=ids).update(story=None, story_score=None, story_evidence={})
        for story in Story.objects.filter(id__in=touched):
            story_centroid_rebuild(story_id=story.id, keep=coverage_params().centroid_terms)
            story_refresh_counts(story=story)
        if semantic_enabled():
            from .dbsemantic import story_embeddings_rebuild

            story_embeddings_rebuild(touched)
        Story.objects.filter(id__in=touched, article_count=0, merged_into__isnull=True).delete()
    # Their leads are counted again (rows missing for articles enriched before the counts existed,
    # or pruned since); each assignment below then reads its article's boilerplate.
    boilerplate_recount(Article.objects.filter(id__in=ids).order_by("fetched_at", "id").iterator(chunk_size=2000))
    stories = set()
    links = links_load()
    for n, article in enumerate(Article.objects.filter(id__in=ids).order_by("published_at", "id").iterator(), 1):
        stories.add(article_assign_story(article=article, links=links).id)
        if progress:
            progress(n, len(ids))
    if ids:
        from .dbrefine import stories_refine_recent  # beat's pass, over the window ending now

        stories_refine_recent()
    return ReclusterStats(articles=len(ids), stories=len(stories))


def _index_clear() -> None:
    if connection.vendor == "postgresql":
        tables = [m._meta.db_table for m in (CoveragePosting, CoverageDoc, CoverageStory, CoverageTerm)]
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(tables)}")
        return
    CoveragePosting.objects.all().delete()
    CoverageDoc.objects.all().delete()
    CoverageStory.objects.all().delete()
    CoverageTerm.objects.all().delete()


def _links_write(rows: Sequence[tuple[int, int, float | None, dict]]) -> None:
    table = Article._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE coverage_links (id bigint, story bigint, score float8, ev jsonb) ON COMMIT DROP"
            )
            pg_copy(
                cursor,
                "coverage_links",
                ("id", "story", "score", "ev"),
                ((a, s, sc, json.dumps(e)) for a, s, sc, e in rows),
            )
            # Only rows whose link changed: a rewritten article row costs an
            # entry in every one of its indexes (full-text included).
            cursor.execute(
                f"UPDATE {table} a SET story_id = l.story, story_score = l.score, story_evidence = l.ev "  # noqa: S608
                "FROM coverage_links l WHERE a.id = l.id "
                "AND (a.story_id, a.story_score, a.story_evidence) IS DISTINCT FROM (l.story, l.score, l.ev)"
            )
        return
    objs = [Article(id=a, story_id=s, story_score=sc, story_evidence=e) for a, s, sc, e in rows]
    Article.objects.bulk_update(objs, ["story", "story_score", "story_evidence"], batch_size=500)


def _index_write(*, store: MemoryStore, story_id: dict[int, int], params_query_terms: int) -> None:
    docs = store.all_docs()
    postings = ((term, d.key, utc_datetime(d.at)) for d in docs for term in d.index_terms(params_query_terms))
    doc_rows = (
        (
            d.key,
            d.at,
            json.dumps(d.terms),
            json.dumps(d.names),
            json.dumps(d.grams),
            doc_pack(d.terms, d.names),
            PARTICULARS_VERSION,
        )
        for d in docs
    )
    term_rows = [(DOC_COUNT_KEY, store.doc_count()), *sorted(store.df_items())]
    cent_rows = ((story_id[s], json.dumps(c), centroid_pack(c)) for s, c in store.centroid_items() if s in story_id)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            copy_columns = ("article_id", "at", "terms", "names", "grams", "packed", "particulars_version")
            pg_copy(cursor, CoverageDoc._meta.db_table, copy_columns, doc_rows)
            with _indexes_built_after(cursor, CoveragePosting._meta.db_table):
                pg_copy(cursor, CoveragePosting._meta.db_table, ("term", "article_id", "published_at"), postings)
            pg_copy(cursor, CoverageTerm._meta.db_table, ("term", "df"), term_rows)
            pg_copy(cursor, CoverageStory._meta.db_table, ("story_id", "centroid", "centroid_packed"), cent_rows)
        return
    CoverageDoc.objects.bulk_create(
        [CoverageDoc(article_id=d.key, **doc_columns(d)) for d in docs],
        batch_size=500,
    )
    CoveragePosting.objects.bulk_create(
        [CoveragePosting(term=t, article_id=a, published_at=p) for t, a, p in postings], batch_size=2000
    )
    CoverageTerm.objects.bulk_create([CoverageTerm(term=t, df=n) for t, n in term_rows], batch_size=2000)
    CoverageStory.objects.bulk_create(
        [CoverageStory(story_id=s, centroid=json.loads(c), centroid_packed=p) for s, c, p in cent_rows], batch_size=500
    )


@contextmanager
def _indexes_built_after(cursor, table: str) -> Iterator[None]:
    """Drop a table's plain indexes for a bulk load and build them once after it.

    One sort beats a million index insertions. The table was emptied in this
    transaction, which holds its exclusive lock, so nobody reads it meanwhile;
    the DDL is transactional, so a failure leaves the indexes as they were.
    """
    rebuild = pg_indexes_drop(cursor, [table])
    yield
    for ddl in rebuild:
        cursor.execute(ddl)
