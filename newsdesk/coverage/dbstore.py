"""The production :class:`~newsdesk.coverage.engine.Store`: the index in the database.

Every method runs inside the transaction that :func:`newsdesk.coverage.cluster.
article_assign_story` opens after taking its locks, so what it reads cannot
change under it before it writes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

from django.db import connection

from newsdesk.models import Article, CoverageDoc, CoveragePosting, CoverageStory, CoverageTerm, Story

from .engine import Candidate, Doc, centroid_add

# The CoverageTerm row that counts indexed articles (N).
DOC_COUNT_KEY = ""


def term_lock_keys(terms: Sequence[str]) -> list[int]:
    """Stable signed 64-bit advisory-lock keys for terms, sorted so every worker locks in one order."""
    keys = {int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "big", signed=True) for t in set(terms)}
    return sorted(keys)


def _dt(at: float) -> datetime:
    return datetime.fromtimestamp(at, tz=UTC)


class DbStore:
    """Reads and writes the coverage tables for one assignment.

    ``headline`` names the story when the article starts one; ``previous``
    is the article's index entry from an earlier assignment (re-enrichment,
    recluster), whose contribution is withdrawn before the new one is saved.
    """

    def __init__(self, *, article: Article, centroid_terms: int) -> None:
        self.article = article
        self.centroid_terms = centroid_terms
        self._n = 0
        # An article without a story was never indexed (recluster --since
        # removes the index entry when it detaches one): skip the lookup.
        self.previous = (
            CoverageDoc.objects.filter(article_id=article.id).first() if article.story_id is not None else None
        )
        self.previous_story = article.story_id

    def doc_count(self) -> int:
        return self._n

    def df(self, keys: Sequence[str]) -> dict[str, int]:
        rows = dict(CoverageTerm.objects.filter(term__in=[DOC_COUNT_KEY, *keys]).values_list("term", "df"))
        self._n = rows.pop(DOC_COUNT_KEY, 0)
        return rows

    def candidates(self, *, terms: Sequence[str], since: float, until: float, per_term: int) -> list[Candidate]:
        if not terms:
            return []
        table = CoveragePosting._meta.db_table
        # One bounded, index-ordered read per term: newest postings first, at
        # most per_term of them, so a common term never floods the query.
        # Only the model's table name is interpolated; every value is a parameter.
        part = (
            f"SELECT * FROM (SELECT article_id, %s AS rnk FROM {table} "  # noqa: S608
            f"WHERE term = %s AND published_at >= %s AND published_at <= %s "
            f"ORDER BY published_at DESC LIMIT %s) AS p{{i}}"
        )
        sql = " UNION ALL ".join(part.format(i=i) for i in range(len(terms)))
        params: list[object] = []
        for rank, term in enumerate(terms):
            params += [rank, term, _dt(since), _dt(until), per_term]
        hits: dict[int, float] = {}
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for article_id, rank in cursor.fetchall():
                hits[article_id] = hits.get(article_id, 0.0) + 1.0 / (1 + rank)
        return [Candidate(key=k, story=0, hits=h) for k, h in hits.items()]

    def docs(self, keys: Sequence[int]) -> list[Doc]:
        if not keys:
            return []
        rows = CoverageDoc.objects.filter(article_id__in=keys, article__story__isnull=False).values_list(
            "article_id", "at", "terms", "names", "grams", "article__story_id"
        )
        by_key = {r[0]: r for r in rows}
        out = []
        for key in keys:
            row = by_key.get(key)
            if row is None:
                continue
            out.append(Doc(key=row[0], at=row[1], terms=row[2], names=row[3], grams=row[4], story=row[5]))
        return out

    def centroids(self, keys: Sequence[int]) -> dict[int, dict[str, float]]:
        return dict(CoverageStory.objects.filter(story_id__in=keys).values_list("story_id", "centroid"))

    def story_create(self, *, doc: Doc) -> int:
        return Story.objects.create(headline=self.article.display_title).id

    def story_resolve(self, story: int) -> int:
        """Follow merges, locking the surviving story's row for the join."""
        for _ in range(100):
            row = Story.objects.select_for_update().filter(id=story).values_list("merged_into_id", flat=True).first()
            if row is None:
                return story
            story = row
        return story

    def doc_save(self, *, doc: Doc, index_terms: Sequence[str], df_keys: Sequence[str]) -> None:
        assert doc.story is not None
        doc.story = self.story_resolve(doc.story)
        article_id = self.article.id
        if self.previous is not None:
            # Re-assignment: withdraw the old vector from its old story; the
            # article was already counted in the document frequencies.
            if self.previous_story:
                self._centroid_change(self.previous_story, self.previous.terms, sign=-1.0)
            CoveragePosting.objects.filter(article_id=article_id).delete()
            CoverageDoc.objects.filter(article_id=article_id).update(
                at=doc.at, terms=doc.terms, names=doc.names, grams=doc.grams
            )
        else:
            CoverageDoc.objects.create(
                article_id=article_id, at=doc.at, terms=doc.terms, names=doc.names, grams=doc.grams
            )
            self._df_add([DOC_COUNT_KEY, *set(df_keys)])
        published = _dt(doc.at)
        CoveragePosting.objects.bulk_create(
            [CoveragePosting(term=t, article_id=article_id, published_at=published) for t in index_terms]
        )
        self._centroid_change(doc.story, doc.terms, sign=1.0)
        # The caller writes the link (story, score, evidence) in one UPDATE.
        self.article.story_id = doc.story

    def story_merge(self, *, source: int, target: int) -> None:
        first, second = sorted((source, target))
        # Both rows, in id order, so a concurrent merge cannot deadlock with this one.
        list(Story.objects.select_for_update().filter(id__in=[first, second]).order_by("id").values_list("id"))
        Article.objects.filter(story_id=source).update(story_id=target)
        Story.objects.filter(id=source).update(merged_into_id=target)
        Story.objects.filter(merged_into_id=source).update(merged_into_id=target)
        moved = CoverageStory.objects.filter(story_id=source).values_list("centroid", flat=True).first()
        if moved:
            self._centroid_change(target, moved, sign=1.0)
        CoverageStory.objects.filter(story_id=source).delete()

    def _centroid_change(self, story: int, vec: dict[str, float], *, sign: float) -> None:
        row = CoverageStory.objects.select_for_update().filter(story_id=story).first()
        current = row.centroid if row else {}
        if sign < 0:
            updated = {k: v - vec.get(k, 0.0) for k, v in current.items()}
            updated = {k: v for k, v in updated.items() if v > 1e-9}
        else:
            updated = centroid_add(current, vec, keep=self.centroid_terms)
        if row is None:
            CoverageStory.objects.create(story_id=story, centroid=updated)
        else:
            row.centroid = updated
            row.save(update_fields=["centroid"])

    def _df_add(self, keys: Sequence[str]) -> None:
        """Count one more document for each key: an upsert, so workers never lose an increment."""
        keys = sorted(set(keys))
        table = CoverageTerm._meta.db_table
        values = ", ".join(["(%s, 1)"] * len(keys))
        sql = f"INSERT INTO {table} (term, df) VALUES {values} ON CONFLICT (term) DO UPDATE SET df = {table}.df + 1"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, keys)


def store_reset() -> None:
    """Forget the whole index (recluster rebuilds it)."""
    CoveragePosting.objects.all().delete()
    CoverageDoc.objects.all().delete()
    CoverageStory.objects.all().delete()
    CoverageTerm.objects.all().delete()
