"""Grouping articles into stories ("Similar Coverage"), in the database.

:func:`article_assign_story` runs the engine (:mod:`newsdesk.coverage.engine`)
on the database store for one enriched article. Two workers enriching two
similar articles at once must not start two stories, so the assignment holds
term locks for its whole transaction: exclusive on the terms the article is
indexed under, shared on the other terms it searches by. Two articles that
could find each other meet on one of those in a conflicting mode, so one
waits for the other and then sees it; two that cannot run side by side.
On PostgreSQL these are transaction-scoped advisory locks taken just before
the candidate read (:mod:`newsdesk.coverage.dbstore` argues why the result is
that of a serial order); SQLite already serialises writers (``BEGIN IMMEDIATE``).

A single lock over a hash of the article's top terms (or of its candidate
stories) would be cheaper but not race-free: two articles whose top-term sets
differ but overlap would hash apart and run at once, and the candidate
stories are only known after the read the lock must protect.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

from newsdesk.models import Article, Story, TranslationStatus
from newsdesk.ops.memory import worker_preload_register

from .boilerplate import lead_strip
from .dbboilerplate import articles_boilerplate
from .dbstore import ArticleChanged, ArticleSave, DbStore, StaleRead
from .engine import Params, Store, doc_assign
from .links import Links
from .linkstore import links_load
from .refine import RefineParams
from .semantic import article_embedding, article_lead_unrelated, semantic_enabled
from .semantic import model as semantic_model
from .storycounts import story_refresh_counts
from .text import Features, page_headline, text_features

__all__ = [
    "ArticleChanged",
    "ArticleSave",
    "article_assign_story",
    "article_features",
    "coverage_params",
    "story_refresh_counts",
]

log = logging.getLogger(__name__)


def coverage_params() -> Params:
    """The shipped defaults, with the window from settings and the semantic model's place in the score."""
    chosen = semantic_model()
    return Params(
        window_hours=settings.NEWSDESK_COVERAGE_WINDOW_HOURS,
        late_window_hours=settings.NEWSDESK_COVERAGE_LATE_WINDOW_HOURS,
        semantic_floor=chosen.floor,
        semantic_weight=chosen.weight,
        semantic_floor_headline=chosen.floor_headline,
    )


def refine_params() -> RefineParams:
    """The refinement pass's shipped defaults, with its window and rhythm from settings."""
    return RefineParams(
        window_hours=settings.NEWSDESK_COVERAGE_REFINE_HOURS,
        every_seconds=max(60.0, settings.NEWSDESK_COVERAGE_REFINE_MINUTES * 60.0),
    )


@worker_preload_register
def _preload_in_worker_master() -> None:
    # The features' place index (CLDR names in 30 languages, about 40 MB) is
    # built on first use: built in the Celery master before the pool forks,
    # the children share one copy instead of building one each.
    text_features(title="Preload", body="Puebla, Mexico, 3 December 2026")


def article_features(
    *, article: Article, grams: bool | None = None, boilerplate: frozenset[str] = frozenset()
) -> Features:
    """English title and lead when we have them, plus the original text.

    Character n-grams only when the scoring weighs them (``grams=None``: as
    the shipped parameters say). ``boilerplate``: lead segments left out
    (:mod:`newsdesk.coverage.boilerplate`); the title is always read, and
    alone when the lead is not about it (:func:`~newsdesk.coverage.semantic.lead_unrelated`).

    The original keeps names and numbers matchable in their own script and
    lets an untranslated article (pending or failed) still meet articles in
    its language; the English side meets every other language.
    """
    translated = article.translation_status == TranslationStatus.DONE and article.title_en
    title = article.title_en if translated else article.title_orig
    if article_lead_unrelated(article, boilerplate):
        # A page that is not the article (semantic.lead_unrelated): the headlines alone, in both languages.
        summary_orig = lead = ""
    else:
        summary_orig = lead_strip(article.summary_orig, boilerplate)
        lead = lead_strip(article.summary_en, boilerplate) if translated else summary_orig
    if translated:
        lead = f"{lead}\n{page_headline(title=article.title_orig, url=article.url)}\n{summary_orig}"
    if grams is None:
        grams = bool(coverage_params().weight_grams)
    # A page under its site's title ("ABC News") is read by its URL's headline (text.page_headline).
    return text_features(title=page_headline(title=title or article.title_en, url=article.url), body=lead, grams=grams)


def _story_embeddings_update(
    *, store: DbStore, engine_store: Store, story: int, created: bool, embedding: object
) -> None:
    """Keep the stories' summed embeddings current after a write (semantic backend only)."""
    from .dbsemantic import story_embedding_add, story_embedding_set, story_embeddings_rebuild

    if store.previous_story is not None:
        # A re-assignment (rare): both stories are recomputed from their members.
        story_embeddings_rebuild([store.previous_story, story])
    elif embedding is not None and created:
        story_embedding_set(story=story, vec=embedding)  # its first member: nothing to read
    elif embedding is not None:
        story_embedding_add(story=story, vec=embedding, store=engine_store if engine_store is not store else None)  # type: ignore[arg-type]


def _embedding_sum(store: Store, embedding: object):
    """For the write: a story's new summed embedding when this transaction read its sum under its lock."""
    from .dbsemantic import SUM_DTYPE
    from .semantic import vector_bytes

    def summed(story: int | None) -> bytes | None:
        if story is None:  # a new story: its first member's vector
            return vector_bytes(embedding, dtype=SUM_DTYPE)
        known, current = store.sum_read(story)  # type: ignore[attr-defined]
        if not known:
            return None
        total = embedding.astype(SUM_DTYPE) if current is None else current + embedding  # type: ignore[attr-defined]
        return vector_bytes(total, dtype=SUM_DTYPE)

    return summed


_COMPUTE = object()


def article_assign_story(
    *,
    article: Article,
    params: Params | None = None,
    refresh: bool = True,
    embedding: object = _COMPUTE,
    links: Links | None = None,
    save: ArticleSave | None = None,
    boilerplate: frozenset[str] | None = None,
    report: dict[str, object] | None = None,
) -> Story:
    """Join the article to the story it belongs to, or start one; record why.

    Inside a caller's transaction it writes in that transaction (no savepoint:
    a failure rolls the caller's work back with it). ``embedding``: the
    article's vector when the caller computed it for a batch
    (:func:`~newsdesk.coverage.semantic.articles_embeddings`). ``links``:
    the editors' decisions the engine respects (read from the database when
    not given). ``save``: the caller's columns of the article, written in
    the same transaction only if the row still holds ``save.match`` (else
    :class:`ArticleChanged` is raised before anything is written and the
    caller rolls back); on PostgreSQL checked in the same round trip as the
    assignment's first read and, for a first assignment, set by the
    assignment's own UPDATE of the article. The enrichment is saved so.
    ``boilerplate``: the article's boilerplate lead segments as enrichment
    counted them (:func:`~newsdesk.coverage.dbboilerplate.articles_boilerplate`;
    read when not given). ``report``: when given, the assignment's outcome
    (``created``, ``score``, ``merged``, ``rescored``) is put in it instead of
    logged, for a caller that logs it in its own line (enrichment's
    ``event=enriched``: one line per article instead of two).
    """
    params = params or coverage_params()
    if boilerplate is None:
        boilerplate = articles_boilerplate([article], record=False)[article.id]
    features = article_features(article=article, grams=bool(params.weight_grams), boilerplate=boilerplate)
    # The model runs before the transaction: no lock is held while it computes.
    if embedding is _COMPUTE:
        embedding = article_embedding(article, boilerplate) if semantic_enabled() else None
    with transaction.atomic(savepoint=False):
        links = links_load() if links is None else links
        store = DbStore(article=article, params=params, save=save)
        while True:
            # Scored from an optimistic read (no story row locks), then settled:
            # once more under the locks if a story it scored changed meanwhile.
            engine_store: Store = store
            if embedding is not None:
                from .dbsemantic import SemanticDbStore

                engine_store = SemanticDbStore(store)  # type: ignore[assignment]
            try:
                result = doc_assign(
                    doc_key=article.id,
                    at=article.published_at.timestamp(),
                    features=features,
                    store=engine_store,
                    params=params,
                    embedding=embedding,
                    links=links,
                )
                if store.settle():  # a join's check is sent with its write: flush() says
                    summed = None
                    if embedding is not None and store.previous_story is None:
                        summed = _embedding_sum(engine_store, embedding)
                    written = store.flush(score=result.score, evidence=result.evidence, embedding_sum=summed)
                    if written is not None:
                        break
            except StaleRead:  # raised by a merge before it wrote anything
                pass
            store.relock()
        story, counted = written
        if semantic_enabled() and not store.embedding_written:
            _story_embeddings_update(
                store=store, engine_store=engine_store, story=story.id, created=result.created, embedding=embedding
            )
        if refresh and not counted:
            story_refresh_counts(story=story)
        if refresh:
            for other in {store.previous_story, *result.merged, *store.merged} - {story.id, None}:
                old = Story.objects.filter(id=other).first()
                if old is not None:
                    story_refresh_counts(story=old)
    outcome = {
        "created": result.created,
        "score": None if result.score is None else round(result.score, 3),
        "merged": result.merged,
        "rescored": store.stale_reads,
    }
    if report is not None:
        report.update(outcome)
    else:
        log.info(
            "event=story_assigned article_id=%s story_id=%s created=%s score=%s merged=%s rescored=%s",
            article.id,
            story.id,
            *outcome.values(),
        )
    return story
