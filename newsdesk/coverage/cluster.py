"""Grouping articles into stories ("Similar Coverage"), in the database.

:func:`article_assign_story` runs the engine (:mod:`newsdesk.coverage.engine`)
on the database store for one enriched article. Two workers enriching two
similar articles at once must not start two stories, so the assignment holds
locks on every term of the article for its whole transaction: two articles
that could find each other share an indexed term, so one waits for the other
and then sees it. On PostgreSQL these are transaction-scoped advisory locks;
SQLite already serialises writers (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q

from newsdesk.models import Article, Story, TranslationStatus

from .dbstore import DbStore, term_lock_keys
from .engine import Assignment, Params, doc_assign
from .text import Features, text_features

log = logging.getLogger(__name__)


def coverage_params() -> Params:
    """The shipped defaults, with the window from settings."""
    return Params(window_hours=settings.NEWSDESK_COVERAGE_WINDOW_HOURS)


def article_features(*, article: Article) -> Features:
    """English title and lead when we have them, plus the original text.

    The original keeps names and numbers matchable in their own script and
    lets an untranslated article (pending or failed) still meet articles in
    its language; the English side meets every other language.
    """
    translated = article.translation_status == TranslationStatus.DONE and article.title_en
    title = article.title_en if translated else article.title_orig
    lead = article.summary_en if translated else article.summary_orig
    if translated:
        lead = f"{lead}\n{article.title_orig}\n{article.summary_orig}"
    return text_features(title=title or article.title_en, body=lead)


def story_refresh_counts(*, story: Story) -> None:
    """Recount the denormalised coverage figures and pick the English headline."""
    agg = story.articles.aggregate(
        n=Count("id"),
        sources=Count("source", distinct=True),
        countries=Count("country", distinct=True, filter=~Q(country="")),
        languages=Count("language", distinct=True, filter=~Q(language="")),
        first=Min("published_at"),
        last=Max("published_at"),
    )
    story.article_count = agg["n"]
    story.source_count = agg["sources"]
    story.country_count = agg["countries"]
    story.language_count = agg["languages"]
    story.first_published_at = agg["first"]
    story.last_published_at = agg["last"]
    # The first member with an English title names the story.
    english = (
        story.articles.filter(
            translation_status__in=[TranslationStatus.DONE, TranslationStatus.NOT_NEEDED], title_en__gt=""
        )
        .order_by("published_at", "id")
        .values_list("title_en", flat=True)
        .first()
    )
    if english:
        story.headline = english
    elif not story.headline:
        first = story.articles.order_by("published_at", "id").first()
        story.headline = first.display_title if first else ""
    story.save()


def _lock_terms(features: Features) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite: the IMMEDIATE transaction already holds the database write lock.
    keys = term_lock_keys(list(features.terms))
    if not keys:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%s::bigint[]) AS k", [keys])


def article_assign_story(*, article: Article, params: Params | None = None, refresh: bool = True) -> Story:
    """Join the article to the story it belongs to, or start one; record why."""
    params = params or coverage_params()
    features = article_features(article=article)
    with transaction.atomic():
        _lock_terms(features)
        store = DbStore(article=article, centroid_terms=params.centroid_terms)
        result = doc_assign(
            doc_key=article.id,
            at=article.published_at.timestamp(),
            features=features,
            store=store,
            params=params,
        )
        article.story_id = store.article.story_id
        _record(article=article, result=result)
        story = Story.objects.get(id=article.story_id)
        if refresh:
            story_refresh_counts(story=story)
            for other in {store.previous_story, *result.merged} - {story.id, None}:
                old = Story.objects.filter(id=other).first()
                if old is not None:
                    story_refresh_counts(story=old)
    log.info(
        "event=story_assigned article_id=%s story_id=%s created=%s score=%s merged=%s",
        article.id,
        story.id,
        result.created,
        None if result.score is None else round(result.score, 3),
        result.merged,
    )
    return story


def _record(*, article: Article, result: Assignment) -> None:
    article.story_score = result.score
    article.story_evidence = result.evidence
    Article.objects.filter(id=article.id).update(
        story_id=article.story_id, story_score=result.score, story_evidence=result.evidence
    )
