"""The semantic backend's part of the database index (only used when it is enabled).

:class:`SemanticDbStore` wraps the production :class:`~newsdesk.coverage.dbstore.DbStore`:
candidates get their stored embeddings, stories their summed embeddings, and a
merge folds the sums. On PostgreSQL both come with the candidate read (its
statement returns them beside the docs and centroids, the sums from the rows it
locks); elsewhere, and for a doc the read did not return, one extra read
fetches them. Everything else is the wrapped store's.
The summed embedding of a story (``CoverageStory.embedding``) is kept
incrementally: a first assignment adds the article's vector under the lock
its join already holds; a re-assignment, rare, recomputes the two stories'
sums from their members.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Value

from newsdesk.models import Article, CoverageEmbedding, CoverageStory

from .dbstore import DbStore
from .engine import Doc
from .semantic import vector_bytes, vector_from, vectors_from
from .sql import pg_cursor, pg_execute

SUM_DTYPE = "float32"  # a sum of many unit vectors: float16 would round its small components away


class SemanticDbStore:
    def __init__(self, inner: DbStore) -> None:
        self.inner = inner
        inner.with_vectors = True
        # story -> summed embedding (None: the story has none), as read in this transaction
        # after the candidate read locked the stories' rows.
        self._sums: dict[int, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def docs(self, keys: Sequence[int]) -> list[Doc]:
        """The wrapped store's docs with their embeddings; their stories' sums come in the same read."""
        docs = self.inner.docs(keys)
        # What the candidate read returned (PostgreSQL): vectors and the locked stories' sums.
        read, sums = self.inner.vectors, self.inner.sums
        if read:
            given = [d for d in docs if d.embedding is None and read.get(d.key) is not None]
            for d, vec in zip(given, vectors_from([read[d.key] for d in given]), strict=True):
                d.embedding = vec
            new = sorted({d.story for d in docs if d.story is not None and d.key in read} - set(self._sums))
            self._sums.update(dict.fromkeys(new))
            summed = [s for s in new if sums.get(s) is not None]
            self._sums.update(zip(summed, vectors_from([sums[s] for s in summed], dtype=SUM_DTYPE), strict=True))
        missing = [d.key for d in docs if d.embedding is None and d.key not in read]
        stories = sorted({d.story for d in docs if d.story is not None} - set(self._sums))
        if missing or stories:
            found: dict[int, Any] = {}
            self._sums.update(dict.fromkeys(stories))
            for kind, key, data in _vectors_and_sums(articles=missing, stories=stories):
                if kind:
                    self._sums[key] = vector_from(data, dtype=SUM_DTYPE)
                else:
                    found[key] = vector_from(data)
            for d in docs:
                if d.key in found:
                    d.embedding = found[d.key]
        return docs

    def centroid_embeddings(self, keys: Sequence[int]) -> dict[int, Any]:
        missing = [k for k in keys if k not in self._sums]
        if missing:
            self._sums.update(dict.fromkeys(missing))
            rows = CoverageStory.objects.filter(story_id__in=missing, embedding__isnull=False)
            for story, data in rows.values_list("story_id", "embedding"):
                self._sums[story] = vector_from(data, dtype=SUM_DTYPE)
        return {k: v for k in keys if (v := self._sums.get(k)) is not None}

    def sum_read(self, story: int) -> tuple[bool, Any]:
        """Whether this transaction read the story's sum (under its lock, no merge since), and the sum."""
        return (story in self._sums, self._sums.get(story))

    def story_merge(self, *, source: int, target: int) -> None:
        # The stories' rows are locked by the read that found them (PostgreSQL)
        # or by SQLite's single writer; the wrapped merge deletes the source's row.
        moved = CoverageStory.objects.filter(story_id=source).values_list("embedding", flat=True).first()
        self.inner.story_merge(source=source, target=target)
        self._sums.pop(source, None)
        self._sums.pop(target, None)
        if moved is not None:
            story_embedding_add(story=target, vec=vector_from(moved, dtype=SUM_DTYPE))


def _vectors_and_sums(*, articles: list[int], stories: list[int]) -> list[tuple[int, int, Any]]:
    """(0, article, vector) and (1, story, summed embedding) rows in one read."""
    if connection.vendor == "postgresql":
        # Bound server-side and prepared once per connection, like the store's other reads.
        emb, sto = CoverageEmbedding._meta.db_table, CoverageStory._meta.db_table
        sql = (
            f"SELECT 0, article_id, vector FROM {emb} WHERE article_id = ANY(%s::bigint[]) UNION ALL "  # noqa: S608
            f"SELECT 1, story_id, embedding FROM {sto} WHERE story_id = ANY(%s::bigint[]) AND embedding IS NOT NULL"
        )
        with pg_cursor() as cursor:
            pg_execute(cursor, sql, [articles, stories])
            return cursor.fetchall()
    vectors = CoverageEmbedding.objects.filter(article_id__in=articles).annotate(kind=Value(0))
    sums = CoverageStory.objects.filter(story_id__in=stories, embedding__isnull=False).annotate(kind=Value(1))
    return list(
        vectors.values_list("kind", "article_id", "vector").union(
            sums.values_list("kind", "story_id", "embedding"), all=True
        )
    )


def story_embedding_add(*, story: int, vec: Any, store: SemanticDbStore | None = None) -> None:
    """Add one vector to a story's summed embedding (the caller holds the story's lock)."""
    known, current_sum = store.sum_read(story) if store is not None else (False, None)
    if known:  # read under the lock in this transaction: one write, no second read
        total = vec.astype(SUM_DTYPE) if current_sum is None else current_sum + vec
        CoverageStory.objects.filter(story_id=story).update(embedding=vector_bytes(total, dtype=SUM_DTYPE))
        return
    row = CoverageStory.objects.select_for_update().filter(story_id=story).values_list("embedding", flat=True)
    found = list(row)
    if not found:
        return  # no index row for the story (the lexical centroid creates it): nothing to add to
    current = found[0]
    total = vec.astype(SUM_DTYPE) if current is None else vector_from(current, dtype=SUM_DTYPE) + vec
    CoverageStory.objects.filter(story_id=story).update(embedding=vector_bytes(total, dtype=SUM_DTYPE))


def story_embedding_set(*, story: int, vec: Any) -> None:
    """A new story's summed embedding: its first member's vector."""
    CoverageStory.objects.filter(story_id=story).update(embedding=vector_bytes(vec, dtype=SUM_DTYPE))


def story_embeddings_rebuild(stories: Iterable[int]) -> None:
    """Recompute stories' summed embeddings from their members' stored vectors."""
    import numpy as np

    for story in sorted({s for s in stories if s is not None}):
        ids = Article.objects.filter(story_id=story).values_list("id", flat=True)
        total = None
        for data in CoverageEmbedding.objects.filter(article_id__in=ids).values_list("vector", flat=True):
            vec = vector_from(data)
            total = vec.astype(np.float32) if total is None else total + vec
        CoverageStory.objects.filter(story_id=story).update(
            embedding=None if total is None else vector_bytes(total, dtype=SUM_DTYPE)
        )


def embeddings_ensure(
    *, batch: int = 64, progress: Any = None, boilerplate: frozenset[str] = frozenset()
) -> dict[int, Any]:
    """Every article's current embedding (float16), computing the missing and stale ones first.

    For ``recluster``: articles enriched before the backend was installed, or
    whose translation arrived since, or embedded by another model, are
    embedded here in batches; the rest are read as stored. Articles with
    nothing the model reads (MiniLM: no English text yet) have none.
    """
    import numpy as np

    from .semantic import article_semantic_text, embeddings_store, encoder, text_digest

    stored = dict(CoverageEmbedding.objects.values_list("article_id", "digest").iterator(chunk_size=5000))
    todo: list[tuple[int, str, str]] = []
    wanted: dict[int, str] = {}  # what each article's vector must have been computed from
    fields = ("id", "title_en", "summary_en", "translation_status", "title_orig", "summary_orig", "language", "url")
    for row in Article.objects.order_by("id").values_list(*fields).iterator(chunk_size=5000):
        text = article_semantic_text(Article(**dict(zip(fields, row, strict=True))), boilerplate)
        if text is None:
            continue
        wanted[row[0]] = digest = text_digest(text)
        if stored.get(row[0]) != digest:
            todo.append((row[0], digest, text))
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        vectors = encoder().embed([t for _, _, t in chunk])
        embeddings_store([(key, digest, vec) for (key, digest, _), vec in zip(chunk, vectors, strict=True)])
        if progress:
            progress(min(start + batch, len(todo)), len(todo))
    out: dict[int, Any] = {}
    rows = CoverageEmbedding.objects.values_list("article_id", "digest", "vector").iterator(chunk_size=5000)
    for key, digest, data in rows:
        # A vector of another model, or of text the model no longer reads, takes no part.
        if wanted.get(key) == digest:
            out[key] = np.frombuffer(bytes(data), dtype=np.float16)
    return out


def story_embeddings_write(items: Iterable[tuple[int, Any]]) -> None:
    """Store summed embeddings (story id, vector) after a rebuild wrote the stories' index rows."""
    rows = [CoverageStory(story_id=story, embedding=vector_bytes(vec, dtype=SUM_DTYPE)) for story, vec in items]
    CoverageStory.objects.bulk_update(rows, ["embedding"], batch_size=500)
