"""Enriching one article: language, English text, then its story."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from newsdesk.coverage.cluster import article_assign_story
from newsdesk.models import Article, TranslationStatus

from .language import choose_language, detect_language
from .translate import TranslationFailed, translate_text

log = logging.getLogger(__name__)


def article_detect_language(*, article: Article) -> None:
    detected, confidence = detect_language(text=f"{article.title_orig}\n{article.summary_orig}")
    article.language_detected = detected
    article.language_confidence = confidence
    article.language = choose_language(declared=article.language_declared, detected=detected, confidence=confidence)


def article_translate(*, article: Article) -> None:
    """Fill the English title and summary; on failure keep the original and say why."""
    target = settings.NEWSDESK_TARGET_LANGUAGE
    if article.language == target or not article.language:
        article.title_en = article.title_orig
        article.summary_en = article.summary_orig
        article.translation_status = TranslationStatus.NOT_NEEDED
        article.translation_error = ""
        return
    article.translation_attempts += 1
    try:
        title = translate_text(text=article.title_orig, source_language=article.language, target_language=target)
        summary = translate_text(text=article.summary_orig, source_language=article.language, target_language=target)
    except TranslationFailed as exc:
        article.translation_status = TranslationStatus.FAILED
        article.translation_error = str(exc)[:1000]
        return
    article.title_en = title.text
    article.summary_en = summary.text
    article.translation_provider = title.provider or summary.provider
    article.translation_status = TranslationStatus.DONE
    article.translation_error = ""


def article_enrich(*, article_id: int) -> Article | None:
    article = Article.objects.select_related("source").filter(id=article_id).first()
    if article is None:
        log.info("event=enrich_skipped article_id=%s reason=gone", article_id)
        return None
    article_detect_language(article=article)
    article_translate(article=article)
    article.enriched_at = timezone.now()
    article.save()
    article_assign_story(article=article)
    log.info(
        "event=enriched article_id=%s language=%s translation=%s story_id=%s",
        article.id,
        article.language,
        article.translation_status,
        article.story_id,
    )
    return article
