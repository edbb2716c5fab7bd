"""Storing parsed items as articles, idempotently.

A unique constraint on (source, dedupe_key) backs every dedupe: a repeated
poll or a redelivered task finds the existing row and reports it unchanged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.utils import timezone

from newsdesk.models import Article, Source, TranslationStatus

from .parse import ParsedItem


class UpsertOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass
class StoreCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    # Articles that need (re-)enrichment, to be queued after commit.
    to_enrich: list[int] = field(default_factory=list)

    def add(self, outcome: UpsertOutcome, article_id: int) -> None:
        if outcome is UpsertOutcome.CREATED:
            self.new += 1
            self.to_enrich.append(article_id)
        elif outcome is UpsertOutcome.UPDATED:
            self.updated += 1
            self.to_enrich.append(article_id)
        else:
            self.unchanged += 1


def item_content_hash(item: ParsedItem) -> str:
    digest = hashlib.sha256()
    for part in (item.title, item.summary, item.content):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def _published(item: ParsedItem, now: datetime) -> datetime:
    # An undated item, or one dated in the future (bad clocks, embargo
    # mistakes), is shown as of when we saw it, so it cannot pin the top.
    if item.published_at is None or item.published_at > now:
        return now
    return item.published_at


def article_upsert(*, source: Source, item: ParsedItem, now: datetime | None = None) -> tuple[UpsertOutcome, Article]:
    """Create or update the article for ``item``; report what happened.

    An edited item (same key, changed title/summary/content) is updated in
    place and its English text reset, so enrichment translates it again.
    """
    now = now or timezone.now()
    content_hash = item_content_hash(item)
    existing = Article.objects.filter(source=source, dedupe_key=item.dedupe_key).first()
    if existing is not None:
        if existing.content_hash == content_hash:
            return UpsertOutcome.UNCHANGED, existing
        existing.title_orig = item.title
        existing.summary_orig = item.summary
        existing.content_orig = item.content
        existing.content_hash = content_hash
        existing.url = item.url or existing.url
        existing.title_en = existing.summary_en = existing.content_en = ""
        existing.translation_status = TranslationStatus.PENDING
        existing.save()
        return UpsertOutcome.UPDATED, existing
    article = Article(
        source=source,
        dedupe_key=item.dedupe_key,
        url=item.url,
        author=item.author[:300],
        category=item.category[:200],
        title_orig=item.title,
        summary_orig=item.summary,
        content_orig=item.content,
        content_hash=content_hash,
        language_declared=item.language or source.language,
        language=item.language or source.language,
        country=source.country,
        published_at=_published(item, now),
        fetched_at=now,
        translation_status=TranslationStatus.PENDING,
    )
    try:
        with transaction.atomic():
            article.save()
    except IntegrityError:
        # A concurrent worker stored the same item between our read and write.
        return UpsertOutcome.UNCHANGED, Article.objects.get(source=source, dedupe_key=item.dedupe_key)
    return UpsertOutcome.CREATED, article
