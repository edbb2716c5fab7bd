"""Keyset pagination over (published_at, id), newest first. No OFFSET, no COUNT."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from newsdesk.models import Article


@dataclass
class Page:
    items: list[Article]
    next_cursor: str


def encode_cursor(article: Article) -> str:
    return f"{article.published_at.timestamp():.6f}_{article.id}"


def decode_cursor(raw: str) -> tuple[datetime, int] | None:
    try:
        ts, _, ident = raw.partition("_")
        from datetime import UTC

        return datetime.fromtimestamp(float(ts), tz=UTC), int(ident)
    except (ValueError, OverflowError, OSError):
        return None


def keyset_page(qs: QuerySet[Article], *, cursor: str, size: int) -> Page:
    position = decode_cursor(cursor) if cursor else None
    if position is not None:
        published, ident = position
        qs = qs.filter(Q(published_at__lt=published) | Q(published_at=published, id__lt=ident))
    rows = list(qs.order_by("-published_at", "-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(items=rows, next_cursor=encode_cursor(rows[-1]) if more and rows else "")
