"""The refinement pass on the database (beat runs it; see :mod:`newsdesk.coverage.refine`).

Reads the window's indexed documents and their stories, runs the engine's
:func:`~newsdesk.coverage.refine.stories_refine` with the editors' standing
decisions, and applies the moves in one transaction. A pass that decides
nothing writes nothing (no story, no link, no feed-version bump).

The pass computes without locks (seconds, over up to 20,000 articles) and
applies under them: each moved article is re-read under ``select_for_update``
and a move is dropped when the article left the story the pass saw (the live
assignment or an editor moved it meanwhile); the next pass looks again.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from newsdesk.models import Article, CoverageDoc, CoverageStory, Story

from .cluster import coverage_params, refine_params
from .engine import Doc, Params
from .linkstore import links_load
from .refine import RefineCache, RefineParams, members_evidence, stories_refine
from .semantic import semantic_enabled

log = logging.getLogger(__name__)

# A worker process keeps what later passes may reuse (similarities of
# documents that do not change, splits of unchanged stories). Bounded.
_CACHE = RefineCache()
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class RefineStats:
    articles: int  # in the window
    moved: int
    created: int  # new stories (splits)
    emptied: int  # stories merged away
    skipped: int  # moves dropped because the article changed story meanwhile
    cpu_s: float


def _window_docs(*, since: datetime, limit: int) -> list[Doc]:
    rows = (
        CoverageDoc.objects.filter(at__gte=since.timestamp(), article__story__isnull=False)
        .order_by("-at", "-article_id")
        .values_list("article_id", "at", "terms", "names", "article__story_id")[:limit]
    )
    docs = [Doc(key=k, at=at, terms=terms, grams={}, names=names, story=story) for k, at, terms, names, story in rows]
    if docs and semantic_enabled():
        from newsdesk.models import CoverageEmbedding

        from .semantic import vector_from

        vectors = dict(
            CoverageEmbedding.objects.filter(article_id__in=[d.key for d in docs]).values_list("article_id", "vector")
        )
        for doc in docs:
            data = vectors.get(doc.key)
            if data is not None:
                doc.embedding = vector_from(data).astype("float32")
    docs.reverse()
    return docs


def stories_refine_recent(
    *, now: datetime | None = None, params: Params | None = None, refine: RefineParams | None = None
) -> RefineStats:
    """One refinement pass over the stories of the last ``refine.window_hours`` (beat's task)."""
    started = time.process_time()
    params = params or coverage_params()
    refine = refine or refine_params()
    now = now or timezone.now()
    since = datetime.fromtimestamp(now.timestamp() - refine.window_hours * 3600.0, tz=now.tzinfo)
    docs = _window_docs(since=since, limit=refine.window_articles)
    seen = {d.key: d.story for d in docs}
    with _CACHE_LOCK:
        result = stories_refine(docs=docs, params=params, refine=refine, links=links_load(), cache=_CACHE)
    if not result.changed:
        return RefineStats(len(docs), 0, 0, 0, 0, time.process_time() - started)
    why = members_evidence(docs=docs, moves=result.moves, keys=result.moves, params=params)
    moved, created, emptied, skipped = _apply(moves=result.moves, seen=seen, why=why)
    stats = RefineStats(len(docs), moved, created, emptied, skipped, time.process_time() - started)
    log.info(
        "event=stories_refined articles=%s moved=%s created=%s emptied=%s skipped=%s cpu_s=%.2f",
        *(stats.articles, stats.moved, stats.created, stats.emptied, stats.skipped, stats.cpu_s),
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
