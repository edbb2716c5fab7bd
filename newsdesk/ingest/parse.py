"""Parsing feed bytes into normalised items.

Foundation version; the polling-engine issue hardens normalisation
(sanitising, entity refusal, control characters, caps) behind the same
interface.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import feedparser


class FeedRejected(Exception):
    """The bytes are not a feed we accept; the message says why."""


@dataclass
class ParsedItem:
    dedupe_key: str
    title: str
    url: str = ""
    guid: str = ""
    summary: str = ""  # plain text
    content: str = ""  # sanitised HTML
    author: str = ""
    category: str = ""
    language: str = ""  # declared, ISO 639-1, lower case
    published_at: datetime | None = None


@dataclass
class ParsedFeed:
    title: str = ""
    link: str = ""
    language: str = ""
    items: list[ParsedItem] = field(default_factory=list)
    bozo: bool = False
    bozo_reason: str = ""
    ttl_seconds: int | None = None


_TAG_RE = re.compile(r"<[^>]+>")
_WS_RE = re.compile(r"\s+")


def html_to_text(value: str) -> str:
    return _WS_RE.sub(" ", html.unescape(_TAG_RE.sub(" ", value or ""))).strip()


def _language(value: str) -> str:
    return (value or "").split("-")[0].split("_")[0].strip().lower()[:8]


def _date(entry: Mapping) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
            except (OverflowError, ValueError):
                continue
    return None


def dedupe_key_for(*, guid: str, link: str, title: str, published: datetime | None) -> str:
    if guid:
        key = guid
    elif link:
        key = link
    else:
        key = "sha256:" + hashlib.sha256(f"{title}\n{published.isoformat() if published else ''}".encode()).hexdigest()
    if len(key) > 255:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def parse_feed(*, body: bytes, headers: Mapping[str, str] | None = None, base_url: str = "") -> ParsedFeed:
    parsed = feedparser.parse(body, response_headers=dict(headers or {}))
    if not parsed.entries and parsed.bozo and not parsed.feed:
        raise FeedRejected(f"not a feed: {parsed.get('bozo_exception')}")
    feed_language = _language(parsed.feed.get("language", ""))
    result = ParsedFeed(
        title=html_to_text(parsed.feed.get("title", "")),
        link=parsed.feed.get("link", ""),
        language=feed_language,
        bozo=bool(parsed.bozo),
        bozo_reason=str(parsed.get("bozo_exception", "")) if parsed.bozo else "",
    )
    for entry in parsed.entries:
        title = html_to_text(entry.get("title", ""))
        link = entry.get("link", "")
        published = _date(entry)
        content = ""
        if entry.get("content"):
            content = entry["content"][0].get("value", "")
        summary = html_to_text(entry.get("summary", "")) or html_to_text(content)
        if not title and not summary:
            continue
        result.items.append(
            ParsedItem(
                dedupe_key=dedupe_key_for(guid=entry.get("id", ""), link=link, title=title, published=published),
                title=title or summary[:120],
                url=link,
                guid=entry.get("id", ""),
                summary=summary,
                content=content,
                author=entry.get("author", ""),
                category=(entry.get("tags") or [{}])[0].get("term", "") or "",
                language=_language(entry.get("language", "")) or feed_language,
                published_at=published,
            )
        )
    return result
