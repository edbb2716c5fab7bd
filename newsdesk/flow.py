"""From a stored article to its finished card: enrichment, then Similar Coverage.

The one place that runs the two stages in order (enrich/ knows nothing of
coverage/, coverage/ nothing of enrich/). Tasks, commands and tests call it.

A batch of articles is read in one query, its languages detected and its
titles translated in memory, its semantic vectors computed in one encoder
call; then each article is written in one transaction of its own: the
enrichment (guarded against a text that changed meanwhile) and its story
together, so each is committed exactly once. One article's failure rolls back
that article alone; the caller retries just the ids in ``failed``. The feeds'
version (newsdesk/changes.py) moves once per batch, after its last commit.

:func:`enrich_batches_plan` decides which queue each batch goes to, so that a
burst from one source never makes another source's few new items wait.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import zip_longest

from django.db import transaction
from django.db.models import Q

from newsdesk.changes import articles_changed, changes_coalesced
from newsdesk.coverage.cluster import ArticleChanged, ArticleSave, article_assign_story
from newsdesk.coverage.dbboilerplate import articles_boilerplate
from newsdesk.coverage.links import Links
from newsdesk.coverage.linkstore import links_load
from newsdesk.coverage.semantic import articles_embeddings, semantic_enabled
from newsdesk.enrich.pipeline import article_enrichment_skipped, article_enrichment_values, articles_enrich
from newsdesk.enrich.translate import translation_chain_available
from newsdesk.models import Article, TranslationStatus

log = logging.getLogger(__name__)

# The queues of enrichment batches: a source's first batch of new items in a
# poll or scan goes to the fresh lane, the rest of a burst to the bulk lane.
# Workers take the fresh lane first (newsdesk/ops/lanes.py), so a burst waits
# instead of holding everyone else's new items.
FRESH_QUEUE = "enrich"
BULK_QUEUE = "enrich_bulk"


@dataclass
class FinishResult:
    finished: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # gone, or its text changed meanwhile
    failed: dict[int, Exception] = field(default_factory=dict)


def articles_finish(*, article_ids: Iterable[int], force_translation: bool = False) -> FinishResult:
    """Enrich and assign a batch of articles; report which finished, were skipped or failed."""
    ids = list(dict.fromkeys(article_ids))
    result = FinishResult()
    articles = list(Article.objects.select_related("source").filter(id__in=ids).order_by("id"))
    found = {article.id for article in articles}
    for article_id in ids:
        if article_id not in found:
            log.info("event=enrich_skipped article_id=%s reason=gone", article_id)
            result.skipped.append(article_id)
    result.failed = articles_enrich(articles=articles, force_translation=force_translation)
    ready = [article for article in articles if article.id not in result.failed]
    # Lead segments repeated under other titles (taglines, blocked pages) are no evidence of a story.
    boilerplate = articles_boilerplate(ready) if ready else {}
    embeddings: Mapping[int, object] = {}
    if ready and semantic_enabled():
        try:
            embeddings = articles_embeddings(ready, boilerplate)
        except Exception:  # one bad text must not fail the batch: each computes its own below
            log.exception("event=embed_batch_failed articles=%d", len(ready))
    # The editors' must-link / cannot-link decisions, read once per batch (a
    # decision taken while a batch runs applies from the next one).
    links = links_load() if ready else None
    # Each article commits on its own; the feeds' version moves once, after the last commit.
    with changes_coalesced():
        for article in ready:
            try:
                finished = _article_write(
                    article=article,
                    embedding=embeddings.get(article.id, _OWN),
                    links=links,
                    boilerplate=boilerplate[article.id],
                )
            except Exception as exc:
                result.failed[article.id] = exc
                log.exception("event=enrich_failed article_id=%s error=%s", article.id, type(exc).__name__)
                continue
            (result.finished if finished else result.skipped).append(article.id)
    for article_id, exc in result.failed.items():
        log.warning("event=enrich_failed article_id=%s error=%r", article_id, str(exc)[:300])
    return result


_OWN = object()


def _article_write(*, article: Article, embedding: object, links: Links | None, boilerplate: frozenset[str]) -> bool:
    # The enrichment is saved with the story, only if the text it was computed
    # from is still the article's (checked in the assignment's first round
    # trip on PostgreSQL); when it changed meanwhile nothing is written.
    match, values = article_enrichment_values(article=article)
    save = ArticleSave(match=match, values=values)
    # The assignment's outcome goes in this function's line (one log line per article, not two).
    report: dict[str, object] = {}
    try:
        with transaction.atomic():
            if embedding is _OWN:
                story = article_assign_story(
                    article=article, links=links, save=save, boilerplate=boilerplate, report=report
                )
            else:
                story = article_assign_story(
                    article=article, embedding=embedding, links=links, save=save, boilerplate=boilerplate, report=report
                )
            articles_changed(at_commit_only=True)
    except ArticleChanged:
        article_enrichment_skipped(article=article)
        return False
    log.info(
        "event=enriched article_id=%s language=%s translation=%s provider=%s story_id=%s "
        "created=%s score=%s merged=%s rescored=%s",
        article.id,
        article.language,
        article.translation_status,
        article.translation_provider,
        story.id,
        report["created"],
        report["score"],
        report["merged"],
        report["rescored"],
    )
    return True


def article_finish(*, article_id: int, force_translation: bool = False) -> Article | None:
    """One article through :func:`articles_finish`; raises what it raised. None when skipped."""
    result = articles_finish(article_ids=[article_id], force_translation=force_translation)
    if article_id in result.failed:
        raise result.failed[article_id]
    if article_id not in result.finished:
        return None
    return Article.objects.select_related("source", "story").get(id=article_id)


def enrich_batches_plan(*, by_source: Mapping[int, list[int]], batch_size: int) -> list[tuple[str, list[int]]]:
    """(queue, article ids) for each enrichment message.

    Each source's first ``batch_size`` new articles share fresh-lane batches
    with other sources' (a quiet feed's single item is never alone in a
    message); the rest of a source's burst goes to the bulk lane, the
    sources' batches interleaved so that two bursts share it too.
    """
    size = max(1, batch_size)
    firsts: list[int] = []
    rests: list[list[list[int]]] = []
    for ids in by_source.values():
        if not ids:
            continue
        firsts += ids[:size]
        rests.append([ids[i : i + size] for i in range(size, len(ids), size)])
    plan = [(FRESH_QUEUE, firsts[i : i + size]) for i in range(0, len(firsts), size)]
    for round_ in zip_longest(*rests):
        plan += [(BULK_QUEUE, batch) for batch in round_ if batch]
    return plan


# Articles left unfinished this long are presumed lost on the way, not in progress.
LOST_AFTER = timedelta(minutes=10)


def articles_in_flight(*, now: datetime) -> bool:
    """Whether an article fetched in the last ``LOST_AFTER`` is in no story yet: its enrichment is
    queued, held by a worker, or running (through the small partial index of story-less articles).
    Older ones are the retry sweep's (:func:`articles_unfinished`), not a burst still running."""
    return Article.objects.filter(story__isnull=True, fetched_at__gte=now - LOST_AFTER).exists()


def articles_unfinished(*, now: datetime, limit: int) -> list[int]:
    """Ids of articles to send through the flow again (the retry sweep), oldest first.

    First those lost on the way: never enriched (a lost message; recluster
    may have put one in a story already), or enriched without joining a
    story (the assignment failed, or its asynchronous commit was lost to a
    database crash; read through the small partial index of story-less
    articles). Then, while some provider can take calls, those whose
    translation is pending (an outage, an open breaker, a spent budget); with
    every breaker open, re-sending them would only churn. Failed
    translations wait for the admin's "re-translate".
    """
    lost_before = now - LOST_AFTER
    lost = Q(enriched_at__isnull=True, fetched_at__lt=lost_before) | Q(story__isnull=True, enriched_at__lt=lost_before)
    ids = list(Article.objects.filter(lost).order_by("id").values_list("id", flat=True)[:limit])
    if len(ids) < limit and translation_chain_available():
        pending = Q(translation_status=TranslationStatus.PENDING, enriched_at__isnull=False)
        more = Article.objects.filter(pending).exclude(id__in=ids).order_by("id").values_list("id", flat=True)
        ids += list(more[: limit - len(ids)])
    return ids
