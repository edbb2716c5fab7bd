"""Enriching articles: their language and English text.

The story comes after, from coverage/; newsdesk/flow.py runs the two in
order (this stage knows nothing of coverage).
"""

from __future__ import annotations

import logging
from html.parser import HTMLParser

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from newsdesk.changes import articles_changed
from newsdesk.models import Article, TranslationStatus

from .language import choose_language, detect_language
from .translate import TranslationFailed, TranslationPending, translate_text, translate_texts, translation_as_original

log = logging.getLogger(__name__)


def article_detect_language(*, article: Article) -> None:
    detected, confidence = detect_language(text=f"{article.title_orig}\n{article.summary_orig}")
    article.language_detected = detected
    article.language_confidence = confidence
    article.language = choose_language(declared=article.language_declared, detected=detected, confidence=confidence)


def article_translate(*, article: Article, force: bool = False) -> None:
    """Fill the English title and summary; on failure keep the original and say why.

    A done translation is kept unless ``force`` (ingest resets the status when
    the original text changes). Pending means "try again later" (outage,
    open breaker, spent budget); after NEWSDESK_TRANSLATION_MAX_ATTEMPTS, or
    when no provider can ever do it, the article is failed.
    """
    target = settings.NEWSDESK_TARGET_LANGUAGE
    if article.language == target or not article.language:
        article.title_en = article.title_orig
        article.summary_en = article.summary_orig
        article.translation_status = TranslationStatus.NOT_NEEDED
        article.translation_provider = ""
        article.translation_error = "" if article.language else "language unknown"
        return
    if article.translation_status == TranslationStatus.DONE and article.title_en and not force:
        return
    article.translation_attempts += 1
    try:
        title, summary = translate_texts(
            texts=[article.title_orig, article.summary_orig], source_language=article.language, target_language=target
        )
    except TranslationPending as exc:
        out_of_attempts = article.translation_attempts >= settings.NEWSDESK_TRANSLATION_MAX_ATTEMPTS
        article.translation_status = TranslationStatus.FAILED if out_of_attempts else TranslationStatus.PENDING
        article.translation_error = str(exc)[:1000]
        return
    except TranslationFailed as exc:
        article.translation_status = TranslationStatus.FAILED
        article.translation_error = str(exc)[:1000]
        return
    # Empty results keep the original (translate_text never returns "" for a non-empty text).
    article.title_en = translation_as_original(text=title.text) or article.title_orig
    article.summary_en = translation_as_original(text=summary.text) or article.summary_orig
    article.translation_provider = title.provider or summary.provider
    article.translation_status = TranslationStatus.DONE
    article.translation_error = ""


def article_translate_content(*, article: Article, retries: int | None = None) -> str:
    """The English full content, translated on demand and stored on the article.

    The content is sanitised HTML; it is reduced to paragraphs of plain text
    (providers return plain text, and the page escapes it), translated with
    the same cache, and kept in ``content_en`` as paragraphs split by blank lines.
    Raises TranslationPending / TranslationFailed like ``translate_text``.
    """
    if article.content_en:
        return article.content_en
    text = content_plain_text(html=article.content_orig)
    if not text:
        return ""
    language = article.language or article.language_declared
    if not language or language == settings.NEWSDESK_TARGET_LANGUAGE:
        return text
    result = translate_text(
        text=text, source_language=language, target_language=settings.NEWSDESK_TARGET_LANGUAGE, retries=retries
    )
    english = translation_as_original(text=result.text, source=text)
    Article.objects.filter(id=article.id, content_orig=article.content_orig).update(content_en=english)
    article.content_en = english
    return english


class _Paragraphs(HTMLParser):
    BLOCKS = frozenset(
        {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "section", "article", "br"}
    )
    SKIP = frozenset({"script", "style", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def content_plain_text(*, html: str) -> str:
    """Paragraphs of plain text from sanitised HTML, separated by blank lines."""
    if not (html or "").strip():
        return ""
    parser = _Paragraphs()
    parser.feed(html)
    parser.close()
    paragraphs = (" ".join(part.split()) for part in "".join(parser.parts).split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p)


_ENRICH_FIELDS = [
    "language_detected",
    "language_confidence",
    "language",
    "title_en",
    "summary_en",
    "content_en",
    "translation_status",
    "translation_provider",
    "translation_error",
    "translation_attempts",
    "enriched_at",
    "updated_at",
]


def articles_enrich(*, articles: list[Article], force_translation: bool = False) -> dict[int, Exception]:
    """Detect the language of each article and translate its title and summary, in memory.

    Nothing is saved here (:func:`article_enrichment_save` does, in the
    caller's transaction). Translation may wait on a provider, so no
    transaction is held while it runs. Returns the articles that raised, by
    id: one article's trouble never stops its batch-mates.
    """
    failed: dict[int, Exception] = {}
    now = timezone.now()
    for article in articles:
        try:
            article_detect_language(article=article)
            if force_translation:
                article.content_en = ""
            article_translate(article=article, force=force_translation)
            article.enriched_at = now
        except Exception as exc:
            failed[article.id] = exc
    return failed


def article_enrichment_save(*, article: Article) -> bool:
    """Write the enrichment of ``article`` unless its text changed meanwhile (or it is gone).

    One UPDATE guarded by the title and summary it was enriched from: an
    update of the text re-queues its own enrichment, and this stale result
    must not overwrite it. Runs in the caller's transaction.
    """
    article.updated_at = timezone.now()
    values = {name: getattr(article, name) for name in _ENRICH_FIELDS}
    rows = Article.objects.filter(id=article.id, title_orig=article.title_orig, summary_orig=article.summary_orig)
    # The plain update, and the feeds' version moved once, at commit: readers
    # need only that bump, and the caller's assignment asks for the same one.
    saved = QuerySet.update(rows, **values)
    if saved:
        articles_changed(at_commit_only=True)
    if not saved:
        gone = not Article.objects.filter(id=article.id).exists()
        log.info("event=enrich_skipped article_id=%s reason=%s", article.id, "gone" if gone else "changed_meanwhile")
    return bool(saved)


def article_enrichment_values(*, article: Article) -> tuple[dict[str, object], dict[str, object]]:
    """The enrichment of ``article`` as (columns it was computed from, columns to set), database values.

    For a caller that saves it in a statement of its own (see
    :func:`newsdesk.coverage.cluster.article_assign_story`'s ``save``): the
    row is written only while it still holds the first (the text it was
    enriched from; an update of the text re-queues its own enrichment, and
    this stale result must not overwrite it). The caller moves the feeds'
    version (``articles_changed(at_commit_only=True)``) when it saved.
    """
    article.updated_at = timezone.now()
    meta = Article._meta
    match = {meta.get_field(n).column: getattr(article, n) for n in ("title_orig", "summary_orig")}
    values = {}
    for name in _ENRICH_FIELDS:
        f = meta.get_field(name)
        values[f.column] = f.get_db_prep_save(getattr(article, f.attname), connection)
    return match, values


def article_enrichment_skipped(*, article: Article) -> None:
    """Log why an enrichment was not saved (its text changed meanwhile, or it is gone)."""
    gone = not Article.objects.filter(id=article.id).exists()
    log.info("event=enrich_skipped article_id=%s reason=%s", article.id, "gone" if gone else "changed_meanwhile")
