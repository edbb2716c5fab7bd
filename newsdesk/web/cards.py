"""What a dashboard card shows, computed once in Python.

The template only prints these fields: template filters such as
``truncatechars`` cost far more per call than the string work here, and a
page has thirty cards.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from django.conf import settings
from django.dispatch import receiver
from django.template.loader import get_template
from django.urls import reverse
from django.utils.autoreload import file_changed
from django.utils.safestring import SafeString, mark_safe

from newsdesk.models import Article, TranslationStatus

from .countries import country_name, flag

SUMMARY_CHARS = 600
_BADGES = {TranslationStatus.PENDING: "Translation pending", TranslationStatus.FAILED: "Translation failed"}


def _clip(text: str, limit: int = SUMMARY_CHARS) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _http(url: str) -> str:
    # Autoescape does not stop a javascript: URL; only http(s) is linked.
    url = (url or "").strip()
    return url if url.lower().startswith(("http://", "https://")) else ""


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
    badge: str
    badge_class: str
    title: str
    title_lang: str
    summary: str
    summary_lang: str
    original_title: str
    original_summary: str
    story_url: str
    similar: int
    href: str

    @property
    def html(self) -> SafeString:
        return card_html(self)


class _RenderedCards:
    """A small LRU of rendered cards, per process.

    The key is the whole :class:`Card` (every value the template prints), so
    an entry can never be stale: an article that changes makes a different
    card. Rendering thirty cards through the template engine is most of a
    dashboard page's time; the first page of a busy desk is the same thirty
    cards for every editor until the next article arrives.
    """

    def __init__(self) -> None:
        self._items: OrderedDict[Card, SafeString] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, card: Card) -> SafeString | None:
        with self._lock:
            html = self._items.get(card)
            if html is not None:
                self._items.move_to_end(card)
            return html

    def put(self, card: Card, html: SafeString, *, size: int) -> None:
        with self._lock:
            self._items[card] = html
            while len(self._items) > size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


rendered_cards = _RenderedCards()


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


def card_from(article: Article, *, story_prefix: str) -> Card:
    published = article.published_at.astimezone(UTC)
    lang = article.original_language or ""
    show_original = bool(article.title_en) and article.title_orig != article.title_en
    story = article.story if article.story_id else None
    return Card(
        id=article.id,
        time_iso=published.isoformat(),
        time_label=f"{published:%b} {published.day} • {published:%H:%M} UTC",
        country=article.country,
        flag=flag(article.country),
        country_name=country_name(article.country) if article.country else "",
        outlet=article.source.name,
        language=lang.upper(),
        badge=_BADGES.get(article.translation_status, ""),
        badge_class=f"badge-{article.translation_status}",
        title=article.title_en or article.title_orig,
        title_lang="" if article.title_en else (lang or "und"),
        summary=_clip(article.summary_en or article.summary_orig),
        summary_lang="" if article.summary_en else (lang or "und"),
        original_title=article.title_orig if show_original else "",
        original_summary=_clip(article.summary_orig) if show_original else "",
        story_url=f"{story_prefix}{article.story_id}/" if story else "",
        similar=max((story.source_count or 0) - 1, 0) if story else 0,
        href=_http(article.url),
    )


def cards_from(articles: list[Article]) -> list[Card]:
    # reverse() once: every story URL shares the prefix.
    prefix = reverse("story", args=[0]).removesuffix("0/")
    return [card_from(a, story_prefix=prefix) for a in articles]
