"""An in-memory :class:`~newsdesk.coverage.engine.Store` for evaluation and tests.

It keeps exactly what the database keeps (postings of each article's index
terms, document frequencies, stored vectors, story membership), so streaming a
corpus through it runs the production algorithm without a database round trip.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from .engine import Candidate, Doc, Params, centroid_add
from .links import NO_LINKS, Links
from .refine import RefineCache, Refinement, RefineParams, members_evidence, stories_refine


class MemoryStore:
    def __init__(self, *, centroid_terms: int = 200) -> None:
        self._centroid_terms = centroid_terms
        self._centroids: dict[int, dict[str, float]] = {}
        self._centroid_embeddings: dict[int, Any] = {}  # story -> sum of its members' embeddings
        self._df: dict[str, int] = defaultdict(int)
        self._docs: dict[int, Doc] = {}
        # term -> postings sorted by (time, key)
        self._postings: dict[str, list[tuple[float, int]]] = defaultdict(list)
        self._members: dict[int, set[int]] = {}
        self._timeline: list[tuple[float, int]] = []  # (time, key) of every document, in time order
        self._next_story = 1
        self._count = 0
        # What ties each article a refinement pass moved to its new story (score, evidence).
        self.moved_why: dict[int, tuple[float | None, dict]] = {}

    def doc_count(self) -> int:
        return self._count

    def df(self, keys: Sequence[str]) -> dict[str, int]:
        return {k: self._df[k] for k in keys if k in self._df}

    def df_add(self, keys: Sequence[str]) -> None:
        """Count one more document holding ``keys``."""
        self._count += 1
        for k in set(keys):
            self._df[k] += 1

    def candidates(
        self,
        *,
        terms: Sequence[str],
        since: float,
        until: float,
        per_term: int,
        near: tuple[float, float] | None = None,
    ) -> list[Candidate]:
        hits: dict[int, float] = defaultdict(float)
        for rank, term in enumerate(terms):
            plist = self._postings.get(term)
            if not plist:
                continue
            lo = bisect.bisect_left(plist, (since, -1))
            hi = bisect.bisect_right(plist, (until, float("inf")))
            # The most recent ones, as the database reads them.
            for _, key in plist[max(lo, hi - per_term) : hi]:
                hits[key] += 1.0 / (1 + rank)
        lo_near, hi_near = near if near is not None else (since, until)
        return [
            Candidate(key=k, story=d.story or 0, hits=h, late=not lo_near <= d.at <= hi_near)
            for k, h in hits.items()
            for d in (self._docs[k],)
        ]

    def docs(self, keys: Sequence[int]) -> list[Doc]:
        return [self._docs[k] for k in keys if k in self._docs]

    def doc_save(self, *, doc: Doc, index_terms: Sequence[str], df_keys: Sequence[str]) -> None:
        assert doc.story is not None
        previous = self._docs.get(doc.key)
        if previous is None:
            bisect.insort(self._timeline, (doc.at, doc.key))
        if previous is not None and previous.story in self._members:
            self._members[previous.story].discard(doc.key)
        self._docs[doc.key] = doc
        self._members.setdefault(doc.story, set()).add(doc.key)
        self._centroids[doc.story] = centroid_add(
            self._centroids.get(doc.story, {}), doc.terms, keep=self._centroid_terms
        )
        if doc.embedding is not None:
            previous_sum = self._centroid_embeddings.get(doc.story)
            self._centroid_embeddings[doc.story] = (
                doc.embedding.copy() if previous_sum is None else previous_sum + doc.embedding
            )
        for term in index_terms:
            bisect.insort(self._postings[term], (doc.at, doc.key))
        self.df_add(df_keys)

    def doc_withdraw(self, key: int, *, index_terms: Sequence[str], df_keys: Sequence[str]) -> None:
        """Take a document out as if it had never arrived (``recluster``: its article was deleted, or
        enriched again, after the replay read it); its story's centroid is rebuilt from the others.

        ``index_terms`` and ``df_keys``: what :meth:`doc_save` was given for it.
        """
        doc = self._docs.pop(key, None)
        if doc is None:
            return
        _sorted_discard(self._timeline, (doc.at, key))
        for term in index_terms:
            plist = self._postings.get(term)
            if plist is not None:
                _sorted_discard(plist, (doc.at, key))
                if not plist:
                    del self._postings[term]
        self._count -= 1
        for k in set(df_keys):
            if self._df.get(k, 0) > 1:
                self._df[k] -= 1
            else:
                self._df.pop(k, None)
        self.moved_why.pop(key, None)
        if doc.story is not None:
            self._members.get(doc.story, set()).discard(key)
            self._story_rebuild(doc.story)

    def story_create(self, *, doc: Doc) -> int:
        story = self._next_story
        self._next_story += 1
        self._members[story] = set()
        return story

    def story_merge(self, *, source: int, target: int) -> None:
        for key in self._members.pop(source, set()):
            self._docs[key].story = target
            self._members[target].add(key)
        self._centroids[target] = centroid_add(
            self._centroids.get(target, {}), self._centroids.pop(source, {}), keep=self._centroid_terms
        )
        moved = self._centroid_embeddings.pop(source, None)
        if moved is not None:
            kept = self._centroid_embeddings.get(target)
            self._centroid_embeddings[target] = moved if kept is None else kept + moved

    def window_docs(self, *, since: float, limit: int) -> list[Doc]:
        """The latest ``limit`` documents published at ``since`` or later (what a refinement pass reads)."""
        lo = bisect.bisect_left(self._timeline, (since, -1))
        lo = max(lo, len(self._timeline) - limit)
        return [self._docs[key] for _, key in self._timeline[lo:]]

    def window_refine(
        self,
        *,
        now: float,
        params: Params,
        refine: RefineParams,
        links: Links = NO_LINKS,
        cache: RefineCache | None = None,
        touched: set[int] | None = None,
    ) -> Refinement:
        """One refinement pass over the recent window (as beat runs it), applied to this store; with
        ``touched``, over those stories and their neighbours only (the pass after a burst, burst.py)."""
        docs = self.window_docs(since=now - refine.window_hours * 3600.0, limit=refine.window_articles)
        if touched is not None:
            from .burst import refine_scope

            docs = refine_scope(docs, touched, refine)
        sizes = {d.story: len(self._members.get(d.story, ())) for d in docs if d.story is not None}
        inside: dict[int, int] = defaultdict(int)
        for d in docs:
            inside[d.story or 0] += 1
        seen = {d.key for d in docs}
        anchors: dict[int, list[Doc]] = {}
        if refine.revive_anchors:
            for story, n in sizes.items():
                if n > inside[story]:
                    older = sorted(
                        (self._docs[k] for k in self._members[story] if k not in seen),
                        key=lambda d: (d.at, d.key),
                    )
                    anchors[story] = older[-refine.revive_anchors :]
        result = stories_refine(
            docs=docs, params=params, refine=refine, links=links, cache=cache, story_sizes=sizes, anchors=anchors
        )
        if result.changed:
            self.stories_apply(moves=result.moves)
            self.moved_why.update(members_evidence(docs=docs, moves={}, keys=result.moves, params=params))
        return result

    def stories_apply(self, *, moves: dict[int, int]) -> dict[int, int]:
        """Move documents between stories (a negative story: a new one); return placeholder -> new story.

        The touched stories' summed vectors are rebuilt from their members.
        """
        created: dict[int, int] = {}
        touched: set[int] = set()
        for key, story in sorted(moves.items()):
            if story < 0 and story not in created:
                created[story] = self.story_create(doc=self._docs[key])
            target = created.get(story, story)
            doc = self._docs[key]
            if doc.story is not None:
                self._members.get(doc.story, set()).discard(key)
                touched.add(doc.story)
            doc.story = target
            self._members.setdefault(target, set()).add(key)
            touched.add(target)
        for story in touched:
            self._story_rebuild(story)
        return created

    def _story_rebuild(self, story: int) -> None:
        """A story's centroid and summed vector from its members (dropped when it has none left)."""
        members = [self._docs[k] for k in sorted(self._members.get(story, ()))]
        if not members:
            self._members.pop(story, None)
            self._centroids.pop(story, None)
            self._centroid_embeddings.pop(story, None)
            return
        centroid: dict[str, float] = {}
        for m in members:
            centroid = centroid_add(centroid, m.terms, keep=self._centroid_terms)
        self._centroids[story] = centroid
        vectors = [m.embedding for m in members if m.embedding is not None]
        if vectors:
            total = vectors[0].copy()
            for v in vectors[1:]:
                total = total + v
            self._centroid_embeddings[story] = total
        else:
            self._centroid_embeddings.pop(story, None)

    def centroid_embeddings(self, keys: Sequence[int]) -> dict[int, Any]:
        return {k: self._centroid_embeddings[k] for k in keys if k in self._centroid_embeddings}

    def centroids(self, keys: Sequence[int]) -> dict[int, dict[str, float]]:
        return {k: self._centroids[k] for k in keys if k in self._centroids}

    def stories_of(self, keys: Sequence[int]) -> dict[int, int]:
        return {k: d.story for k in keys if (d := self._docs.get(k)) is not None and d.story is not None}

    def story_of(self, key: int) -> int | None:
        doc = self._docs.get(key)
        return doc.story if doc else None

    def all_docs(self) -> list[Doc]:
        return list(self._docs.values())

    def df_items(self) -> list[tuple[str, int]]:
        return list(self._df.items())

    def centroid_items(self) -> list[tuple[int, dict[str, float]]]:
        return list(self._centroids.items())

    def centroid_embedding_items(self) -> list[tuple[int, Any]]:
        return list(self._centroid_embeddings.items())


def _sorted_discard(items: list[tuple[float, int]], item: tuple[float, int]) -> None:
    i = bisect.bisect_left(items, item)
    if i < len(items) and items[i] == item:
        del items[i]
