"""Keyset pagination for both sort orders. No OFFSET, no COUNT.

A cursor names the last row shown: ``<published>_<id>`` for newest-first,
``<coverage>_<story>_<published>_<id>`` for most-covered (which lists only
articles that belong to a story, grouped by story). A malformed cursor is treated as
"first page" rather than an error: it is only ever a link we printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Q, QuerySet

from newsdesk.models import Article

_NEWEST = re.compile(r"^(\d{1,12}\.\d{6})_(\d{1,18})$")
_COVERED = re.compile(r"^(\d{1,9}|n)_(\d{1,18})_(\d{1,12}\.\d{6})_(\d{1,18})$")


@dataclass
class Page:
    items: list  # Articles, or the rows of the queryset given
    next_cursor: str

    @property
    def has_next(self) -> bool:
        return bool(self.next_cursor)


def _ts(value: datetime) -> str:
    return f"{value.timestamp():.6f}"


def _dt(raw: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(raw), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _coverage(item) -> int | None:
    """The story's outlet count of an Article or of a row with ``story__source_count``."""
    if not item.story_id:
        return None
    if isinstance(item, Article):
        return item.story.source_count if item.story else None
    return item.story__source_count


def cursor_encode(article, *, sort: str) -> str:
    """The cursor after ``article`` (an Article, or a row of ArticleFilter.card_rows)."""
    if sort == "covered":
        count = _coverage(article)
        return f"{'n' if count is None else count}_{article.story_id or 0}_{_ts(article.published_at)}_{article.id}"
    return f"{_ts(article.published_at)}_{article.id}"


def cursor_condition(raw: str, *, sort: str) -> Q | None:
    """The WHERE clause selecting rows after ``raw``; None for a bad cursor."""
    if sort == "covered":
        m = _COVERED.match(raw)
        if not m or m.group(1) == "n":
            return None
        count, story, published, ident = int(m.group(1)), int(m.group(2)), _dt(m.group(3)), int(m.group(4))
        if published is None:
            return None
        later = Q(published_at__lt=published) | Q(published_at=published, id__lt=ident)
        same_count = Q(story_id__lt=story) | (Q(story_id=story) & later)
        return Q(story__source_count__lt=count) | (Q(story__source_count=count) & same_count)
    m = _NEWEST.match(raw)
    if not m:
        return None
    published, ident = _dt(m.group(1)), int(m.group(2))
    if published is None:
        return None
    return Q(published_at__lt=published) | Q(published_at=published, id__lt=ident)


def keyset_page(qs: QuerySet, *, cursor: str, size: int, sort: str = "newest") -> Page:
    """One page of ``qs`` (articles or their rows, already ordered for ``sort``) after ``cursor``."""
    condition = cursor_condition(cursor, sort=sort) if cursor else None
    if condition is not None:
        qs = qs.filter(condition)
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(items=rows, next_cursor=cursor_encode(rows[-1], sort=sort) if more and rows else "")
