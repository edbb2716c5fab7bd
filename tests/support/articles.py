"""Small builders for sources, stories and articles used by the web tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from newsdesk.models import Article, Source, Story, TranslationStatus

_seq = itertools.count(1)
BASE_TIME = datetime(2026, 2, 9, 11, 0, tzinfo=UTC)


def make_source(*, name: str = "", country: str = "MX", language: str = "es", **extra) -> Source:
    n = next(_seq)
    return Source.objects.create(
        name=name or f"Outlet {n}",
        url=extra.pop("url", f"https://outlet{n}.example/feed.xml"),
        country=country,
        language=language,
        **extra,
    )


def make_story(*, sources: int = 1, headline: str = "A story") -> Story:
    return Story.objects.create(headline=headline, source_count=sources, article_count=sources)


def make_article(
    *,
    source: Source,
    title_en: str = "Critical minerals should not be negotiated separately",
    summary_en: str = "The U.S. government emphasizes the importance of securing critical minerals.",
    title_orig: str = "Los minerales críticos no deben negociarse por separado",
    summary_orig: str = "El gobierno de Estados Unidos destaca la importancia de los minerales críticos.",
    minutes_ago: int = 0,
    status: str = TranslationStatus.DONE,
    **extra,
) -> Article:
    n = next(_seq)
    return Article.objects.create(
        source=source,
        dedupe_key=extra.pop("dedupe_key", f"key-{n}"),
        url=extra.pop("url", f"https://outlet.example/a/{n}"),
        title_en=title_en,
        summary_en=summary_en,
        title_orig=title_orig,
        summary_orig=summary_orig,
        language=extra.pop("language", source.language),
        country=extra.pop("country", source.country),
        translation_status=status,
        published_at=extra.pop("published_at", BASE_TIME - timedelta(minutes=minutes_ago)),
        **extra,
    )


def make_english_article(*, source: Source, title: str, summary: str = "", **extra) -> Article:
    """An article written in English: its English text is its original, and nothing needs translating."""
    extra.setdefault("language", "en")
    return make_article(
        source=source,
        title_en=title,
        title_orig=title,
        summary_en=summary,
        summary_orig=summary,
        status=TranslationStatus.NOT_NEEDED,
        **extra,
    )
