"""Grouping articles into stories ("Similar Coverage").

Foundation version: word overlap of English titles against recent articles.
The coverage issue replaces it with an indexed, multilingual method behind
the same entry point, ``article_assign_story``.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Min

from newsdesk.models import Article, Story

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "to",
        "was",
        "were",
        "will",
        "with",
        "after",
        "over",
        "new",
        "says",
        "said",
    ]
)
THRESHOLD = 0.5


def _terms(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def story_refresh_counts(*, story: Story) -> None:
    agg = story.articles.aggregate(
        n=Count("id"),
        sources=Count("source", distinct=True),
        countries=Count("country", distinct=True),
        languages=Count("language", distinct=True),
        first=Min("published_at"),
        last=Max("published_at"),
    )
    story.article_count = agg["n"]
    story.source_count = agg["sources"]
    story.country_count = agg["countries"]
    story.language_count = agg["languages"]
    story.first_published_at = agg["first"]
    story.last_published_at = agg["last"]
    story.save()


def article_assign_story(*, article: Article) -> Story:
    terms = _terms(article.display_title)
    window = timedelta(hours=settings.NEWSDESK_COVERAGE_WINDOW_HOURS)
    best: tuple[float, Article | None] = (0.0, None)
    candidates = (
        Article.objects.filter(
            story__isnull=False,
            published_at__gte=article.published_at - window,
            published_at__lte=article.published_at + window,
        )
        .exclude(id=article.id)
        .only("id", "title_en", "title_orig", "story_id")
        .order_by("-published_at")[:500]
    )
    for other in candidates:
        other_terms = _terms(other.display_title)
        if not terms or not other_terms:
            continue
        score = len(terms & other_terms) / len(terms | other_terms)
        if score > best[0]:
            best = (score, other)
    with transaction.atomic():
        if best[1] is not None and best[0] >= THRESHOLD:
            story = Story.objects.get(id=best[1].story_id)
            article.story_score = best[0]
            article.story_evidence = {"shared_terms": sorted(terms & _terms(best[1].display_title)), "score": best[0]}
        else:
            story = Story.objects.create(headline=article.display_title)
            article.story_score = None
            article.story_evidence = {}
        article.story = story
        article.save(update_fields=["story", "story_score", "story_evidence"])
        story_refresh_counts(story=story)
    return story
