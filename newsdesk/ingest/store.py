"""Storing parsed items as articles, idempotently and in few queries.

A unique constraint on (source, dedupe_key) backs every dedupe: a repeated
poll or a redelivered task finds the existing row and reports it unchanged.

``articles_upsert`` stores a whole poll's items with one SELECT for the
batch's existing (dedupe_key, content_hash), one multi-row INSERT for the
new items and an UPDATE only for items whose text changed, because a
typical poll of a changed 50-item feed brings five new items and 45 old
ones. Per-item queries made storing cost more than parsing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.utils import timezone

from newsdesk.languages import language_code_normalise
from newsdesk.models import Article, Source, TranslationStatus

from .parse import ParsedItem


class UpsertOutcome(StrEnum):
    CREATED = "created"
    # The title or summary changed: the English text is reset and enrichment runs again.
    UPDATED = "updated"
    # Only the content or the link changed: stored, but language, translation
    # and story stand (enrichment reads the title and summary alone).
    REVISED = "revised"
    UNCHANGED = "unchanged"


@dataclass
class StoreCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    # Articles that need (re-)enrichment, to be queued after commit, and their dedupe keys.
    to_enrich: list[int] = field(default_factory=list)
    enrich_keys: set[str] = field(default_factory=set)

    def add(self, outcome: UpsertOutcome, article_id: int, key: str = "") -> None:
        if outcome is UpsertOutcome.UNCHANGED:
            self.unchanged += 1
            return
        if outcome is UpsertOutcome.CREATED:
            self.new += 1
        else:
            self.updated += 1
        if outcome is not UpsertOutcome.REVISED:
            self.to_enrich.append(article_id)
            self.enrich_keys.add(key)


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


def _new_article(*, source: Source, item: ParsedItem, content_hash: str, now: datetime) -> Article:
    declared = language_code_normalise(code=item.language or source.language)
    return Article(
        source=source,
        dedupe_key=item.dedupe_key,
        url=item.url,
        author=(item.author or "")[:300],
        category=(item.category or "")[:200],
        title_orig=item.title,
        summary_orig=item.summary,
        content_orig=item.content,
        content_hash=content_hash,
        # Stored normalised ('es-MX' -> 'es'): the language filter compares codes.
        language_declared=declared,
        language=declared,
        country=source.country,
        published_at=_published(item, now),
        fetched_at=now,
        translation_status=TranslationStatus.PENDING,
    )


# Fields an edit rewrites: the new text, and the English text reset so that
# enrichment translates the edited version.
_EDIT_FIELDS = (
    "title_orig",
    "summary_orig",
    "content_orig",
    "content_hash",
    "url",
    "title_en",
    "summary_en",
    "content_en",
    "translation_status",
    "translation_error",
    "updated_at",
)


# A revision of the content or link only: the English title and summary stand.
_REVISION_FIELDS = ("content_orig", "content_hash", "url", "content_en", "updated_at")


def _apply_revision(article: Article, item: ParsedItem, content_hash: str, now: datetime) -> None:
    article.content_orig = item.content
    article.content_hash = content_hash
    article.url = item.url or article.url
    article.content_en = ""
    article.updated_at = now


def text_changed(*, old_title: str, old_summary: str, item: ParsedItem) -> bool:
    """Whether an edit touches what enrichment reads (language, translation and story come from these)."""
    return (old_title, old_summary) != (item.title, item.summary)


def _apply_edit(article: Article, item: ParsedItem, content_hash: str, now: datetime) -> None:
    article.title_orig = item.title
    article.summary_orig = item.summary
    article.content_orig = item.content
    article.content_hash = content_hash
    article.url = item.url or article.url
    article.title_en = article.summary_en = article.content_en = ""
    article.translation_status = TranslationStatus.PENDING
    article.translation_error = ""
    article.updated_at = now


def article_upsert(*, source: Source, item: ParsedItem, now: datetime | None = None) -> tuple[UpsertOutcome, Article]:
    """Create or update the article for one ``item``; report what happened.

    An edited item (same key, changed title or summary) is updated in place
    and its English text reset, so enrichment translates it again; one whose
    content or link alone changed is revised without that.
    """
    now = now or timezone.now()
    content_hash = item_content_hash(item)
    existing = Article.objects.filter(source=source, dedupe_key=item.dedupe_key).first()
    if existing is not None:
        if existing.content_hash == content_hash:
            return UpsertOutcome.UNCHANGED, existing
        if not text_changed(old_title=existing.title_orig, old_summary=existing.summary_orig, item=item):
            _apply_revision(existing, item, content_hash, now)
            existing.save(update_fields=_REVISION_FIELDS)
            return UpsertOutcome.REVISED, existing
        _apply_edit(existing, item, content_hash, now)
        existing.save(update_fields=_EDIT_FIELDS)
        return UpsertOutcome.UPDATED, existing
    article = _new_article(source=source, item=item, content_hash=content_hash, now=now)
    try:
        with transaction.atomic():
            article.save()
    except IntegrityError:
        # A concurrent writer stored the same item between our read and write.
        return UpsertOutcome.UNCHANGED, Article.objects.get(source=source, dedupe_key=item.dedupe_key)
    return UpsertOutcome.CREATED, article


def articles_upsert(*, source: Source, items: list[ParsedItem], now: datetime | None = None) -> StoreCounts:
    """Store one poll's items: create the new, update the edited, count the rest.

    Items repeating a dedupe key within the batch count once (the first
    wins, as feeds list newest first). Runs in one transaction; if a
    concurrent writer inserted one of our new keys first (only possible
    outside the per-source poll lock, e.g. a preview racing a poll), the
    batch falls back to the per-item path, which reports those as unchanged.
    """
    now = now or timezone.now()
    counts = StoreCounts()
    batch: dict[str, tuple[ParsedItem, str]] = {}
    for item in items:
        if item.dedupe_key not in batch:
            batch[item.dedupe_key] = (item, item_content_hash(item))
    if not batch:
        return counts
    with transaction.atomic():
        existing = {
            key: (article_id, content_hash)
            for key, article_id, content_hash in Article.objects.filter(
                source=source, dedupe_key__in=list(batch)
            ).values_list("dedupe_key", "id", "content_hash")
        }
        new: list[Article] = []
        changed: dict[int, tuple[str, ParsedItem, str]] = {}
        for key, (item, content_hash) in batch.items():
            found = existing.get(key)
            if found is None:
                new.append(_new_article(source=source, item=item, content_hash=content_hash, now=now))
            elif found[1] == content_hash:
                counts.add(UpsertOutcome.UNCHANGED, found[0], key)
            else:
                changed[found[0]] = (key, item, content_hash)
        edited, revised = _edits_split(changed, now)
        if new:
            try:
                with transaction.atomic():
                    Article.objects.bulk_create(new)
            except IntegrityError:
                for article in new:
                    item, _ = batch[article.dedupe_key]
                    outcome, stored = article_upsert(source=source, item=item, now=now)
                    counts.add(outcome, stored.id, article.dedupe_key)
            else:
                for article in new:
                    counts.add(UpsertOutcome.CREATED, article.id, article.dedupe_key)
        for outcome, articles, fields in (
            (UpsertOutcome.UPDATED, edited, _EDIT_FIELDS),
            (UpsertOutcome.REVISED, revised, _REVISION_FIELDS),
        ):
            if articles:
                Article.objects.bulk_update(articles, fields)
            for article in articles:
                counts.add(outcome, article.id, changed[article.id][0])
    return counts


def _edits_split(changed: dict[int, tuple[str, ParsedItem, str]], now: datetime) -> tuple[list[Article], list[Article]]:
    """Articles whose stored hash differs, as (text edits, content-only revisions).

    Reads the old title and summary of just these (edits are rare; the batch's
    first query stays narrow for the common unchanged and new items).
    """
    if not changed:
        return [], []
    edited: list[Article] = []
    revised: list[Article] = []
    for article_id, title, summary in Article.objects.filter(id__in=list(changed)).values_list(
        "id", "title_orig", "summary_orig"
    ):
        _, item, content_hash = changed[article_id]
        article = Article(id=article_id)
        if text_changed(old_title=title, old_summary=summary, item=item):
            _apply_edit(article, item, content_hash, now)
            edited.append(article)
        else:
            _apply_revision(article, item, content_hash, now)
            revised.append(article)
    return edited, revised
