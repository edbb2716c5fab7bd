"""JSON Feed (https://jsonfeed.org/version/1.1), read by hand into parse.py's normalised items.

parse_feed sends a body that starts with ``{`` or ``[`` here; everything a caller can rely
on (caps, plain-text summaries, cleaned HTML, safe URLs, dedupe keys) comes from the same
normaliser as RSS and Atom.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from .parse import MAX_REASON, MAX_SUMMARY, MAX_TITLE, FeedRejected, ParsedFeed, _language, _Normaliser, _s
from .sanitize import plain_text, text_truncate
from .urls import url_safe

_JSON_FEED_VERSION = "https://jsonfeed.org/version/"


def _iso_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def json_feed_parse(*, body: bytes, base_url: str, limit: int) -> ParsedFeed:
    """A JSON Feed document through parse.py's normaliser; FeedRejected when it is not one."""
    try:
        document = json.loads(body)
    except RecursionError as exc:
        raise FeedRejected("JSON nested too deeply") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise FeedRejected(f"invalid JSON: {exc}"[:MAX_REASON]) from exc
    if not isinstance(document, dict):
        raise FeedRejected("JSON, but not a JSON Feed (top level is not an object)")
    version = _s(document.get("version", ""))
    items = document.get("items")
    if not version.startswith(_JSON_FEED_VERSION) or not isinstance(items, list):
        raise FeedRejected("JSON, but not a JSON Feed (no jsonfeed.org version and items list)")
    feed_language = _language(document.get("language", ""))
    link = url_safe(_s(document.get("home_page_url", "")), base=base_url)
    normaliser = _Normaliser(base_url=base_url or link, feed_language=feed_language, limit=limit)
    feed_authors = _json_authors(document)
    hubs = (
        [h for h in document.get("hubs") or () if isinstance(h, dict)] if isinstance(document.get("hubs"), list) else []
    )
    for item in items:
        if not isinstance(item, dict):
            normaliser.dropped += 1
            continue
        authors = _json_authors(item) or feed_authors
        content_html = _s(item.get("content_html", ""))
        content_text = _s(item.get("content_text", ""))
        summary = _s(item.get("summary", ""))
        attachment = next((a for a in item.get("attachments") or () if isinstance(a, dict) and a.get("url")), {})
        tags = item.get("tags") or ()
        normaliser.add(
            title=_s(item.get("title", "")),
            title_is_html=False,
            link=_s(item.get("url", "")) or _s(item.get("external_url", "")),
            guid=_s(item.get("id", "")),
            summary=summary or content_text,
            summary_is_html=False,
            content=content_html or content_text,
            content_is_html=bool(content_html),
            author=_s(authors[0].get("name", "")) if authors else "",
            author_url=_s(authors[0].get("url", "")) if authors else "",
            category=_s(tags[0]) if isinstance(tags, list) and tags else "",
            language=_s(item.get("language", "")),
            published=_iso_datetime(item.get("date_published")),
            updated=_iso_datetime(item.get("date_modified")),
            enclosure_url=_s(attachment.get("url", "")),
            enclosure_type=_s(attachment.get("mime_type", "")),
            image_url=_s(item.get("image", "")) or _s(item.get("banner_image", "")),
        )
    return ParsedFeed(
        title=text_truncate(plain_text(_s(document.get("title", ""))), MAX_TITLE),
        link=link,
        language=feed_language,
        items=normaliser.items,
        format="json" + version.removeprefix(_JSON_FEED_VERSION).replace(".", "").strip("/"),
        description=text_truncate(plain_text(_s(document.get("description", ""))), MAX_SUMMARY),
        image_url=url_safe(_s(document.get("icon", "")), base=base_url),
        entries_total=len(items),
        entries_dropped=normaliser.dropped,
        hub_url=url_safe(
            _s(next((h.get("url") for h in hubs if _s(h.get("type")).lower() == "websub"), "")), base=base_url
        ),
        self_url=url_safe(_s(document.get("feed_url", "")), base=base_url),
    )


def _json_authors(holder: dict) -> list[dict]:
    authors = holder.get("authors")
    if isinstance(authors, list):
        return [a for a in authors if isinstance(a, dict)]
    author = holder.get("author")  # JSON Feed 1.0
    return [author] if isinstance(author, dict) else []
