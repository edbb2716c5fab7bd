"""What a dashboard card shows, computed once in Python.

The template only prints these fields: template filters such as
``truncatechars`` cost far more per call than the string work here, and a
page has thirty cards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.dispatch import receiver
from django.template.loader import get_template
from django.urls import reverse
from django.utils.autoreload import file_changed
from django.utils.safestring import SafeString, mark_safe

from newsdesk.countries import country_name, flag
from newsdesk.enrich.status import provider_statuses, translation_degraded_reason, translation_retry_note
from newsdesk.ingest.urls import url_is_http
from newsdesk.languages import display_summary, display_title, language_name, language_note, original_language
from newsdesk.models import TranslationStatus

from .lru import LockedLRU

SUMMARY_CHARS = 600
_BADGES = {TranslationStatus.PENDING: "Translation pending", TranslationStatus.FAILED: "Translation failed"}


def _clip(text: str, limit: int = SUMMARY_CHARS) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _http(url: str) -> str:
    # Autoescape does not stop a javascript: URL; only http(s) is linked.
    url = (url or "").strip()
    return url if url_is_http(url) else ""


CARD_TEMPLATE = "newsdesk/_card.html"


@dataclass(slots=True, frozen=True)
class Card:
    id: int
    time_iso: str
    time_label: str
    country: str
    flag: str
    country_name: str
    outlet: str
    language: str
    language_name: str
    language_note: str  # declared and detected disagree: says so
    badge: str
    badge_class: str
    translation_note: str  # why it is not translated, and when it is tried again
    title: str
    title_lang: str
    summary: str
    summary_lang: str
    original_title: str
    original_summary: str
    story_url: str
    similar: int
    href: str
    permalink: str = ""  # the article's own page on this site ('' on that page itself)

    @property
    def html(self) -> SafeString:
        return card_html(self)


# A small LRU of rendered cards, per process.
#
# The key is the whole :class:`Card` (every value the template prints), so
# an entry can never be stale: an article that changes makes a different
# card. Rendering thirty cards through the template engine is most of a
# dashboard page's time; the first page of a busy desk is the same thirty
# cards for every editor until the next article arrives.
rendered_cards: LockedLRU[Card, SafeString] = LockedLRU()


def card_html(card: Card) -> SafeString:
    """The card's HTML (autoescaped by the template), from the cache when it holds it."""
    size = settings.NEWSDESK_CARD_CACHE
    if size > 0 and (html := rendered_cards.get(card)) is not None:
        return html
    html = mark_safe(get_template(CARD_TEMPLATE).render({"card": card}))  # noqa: S308 - the template escapes
    if size > 0:
        rendered_cards.put(card, html, size=size)
    return html


@receiver(file_changed, dispatch_uid="newsdesk-card-cache-template-changed")
def _template_changed(sender, file_path: Path, **kwargs) -> None:
    # runserver reloads templates without restarting: drop cards rendered by the old one.
    if file_path.suffix == ".html":
        rendered_cards.clear()


@dataclass(slots=True, frozen=True)
class TranslationContext:
    """What the cards of one page say about untranslated articles (one look at the providers)."""

    blocked: str  # why no provider can translate now ('' when one can)
    retry: str  # 'tried again every 5 minutes' / 'next try after 11:05 UTC'

    @classmethod
    def now(cls) -> TranslationContext:
        try:
            statuses = provider_statuses()
        except Exception:  # the database or Redis failing must not take the cards down
            return cls(blocked="", retry="tried again automatically")
        return cls(blocked=translation_degraded_reason(statuses), retry=translation_retry_note(statuses))


def translation_note(*, status: str, error: str, context: TranslationContext | None) -> str:
    """The sentence under an untranslated card's headline."""
    if status == TranslationStatus.FAILED:
        return f"Translation failed: {error or 'no provider could translate it'}. An admin can retry it."
    if status != TranslationStatus.PENDING:
        return ""
    context = context or TranslationContext(blocked="", retry="tried again automatically")
    why = context.blocked or error or "waiting for a translation worker"
    return f"Not translated yet: {why}; {context.retry}."


def time_label(value: datetime) -> str:
    """'Feb 9 • 11:00 UTC', as the seed card shows the time (always in UTC)."""
    value = value.astimezone(UTC)
    return f"{value:%b} {value.day} • {value:%H:%M} UTC"


def card_from(
    row, *, story_prefix: str, translation: TranslationContext | None = None, article_prefix: str = ""
) -> Card:
    """The card of a row of :meth:`ArticleFilter.card_rows <newsdesk.web.filters.ArticleFilter.card_rows>`.

    ``story_prefix`` empty: no "Similar Coverage" link (the story page's own members);
    ``article_prefix`` empty: no permalink (the article's own page).
    """
    published = row.published_at.astimezone(UTC)
    lang = original_language(language=row.language, declared=row.language_declared) or ""
    show_original = bool(row.title_en) and row.title_orig != row.title_en
    in_story = bool(story_prefix) and bool(row.story_id) and row.story__source_count is not None
    return Card(
        id=row.id,
        time_iso=published.isoformat(),
        time_label=time_label(published),
        country=row.country,
        flag=flag(row.country),
        country_name=country_name(row.country) if row.country else "",
        outlet=row.source__name,
        language=lang.upper(),
        language_name=language_name(lang) if lang else "",
        language_note=language_note(
            language=row.language, declared=row.language_declared, detected=row.language_detected
        ),
        badge=_BADGES.get(row.translation_status, ""),
        badge_class=f"badge-{row.translation_status}",
        translation_note=translation_note(
            status=row.translation_status, error=row.translation_error, context=translation
        ),
        title=display_title(row),
        title_lang="" if row.title_en else (lang or "und"),
        summary=_clip(display_summary(row)),
        summary_lang="" if row.summary_en else (lang or "und"),
        original_title=row.title_orig if show_original else "",
        original_summary=_clip(row.summary_orig) if show_original else "",
        story_url=f"{story_prefix}{row.story_id}/" if in_story else "",
        similar=max((row.story__source_count or 0) - 1, 0) if in_story else 0,
        href=_http(row.url),
        permalink=f"{article_prefix}{row.id}/" if article_prefix else "",
    )


def cards_from(rows: list, *, story_links: bool = True, permalinks: bool = True) -> list[Card]:
    # reverse() once: every story (article) URL shares the prefix.
    prefix = reverse("story", args=[0]).removesuffix("0/") if story_links else ""
    article_prefix = reverse("article", args=[0]).removesuffix("0/") if permalinks else ""
    # Providers are looked at once per page, and only when a card needs to say why.
    waiting = any(r.translation_status == TranslationStatus.PENDING for r in rows)
    translation = TranslationContext.now() if waiting else None
    return [card_from(r, story_prefix=prefix, translation=translation, article_prefix=article_prefix) for r in rows]
