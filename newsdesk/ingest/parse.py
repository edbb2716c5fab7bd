"""Parsing feed bytes into normalised items: plain RSS 2.0 via the fast reader
(fastfeed.py), whatever it declines (Atom, RDF, ill-formed XML...) via feedparser,
JSON Feed by hand (jsonfeed.py), NewsML 1.x and Slashdot's backslash by hand (xmlformats.py),
all through the same normaliser.

What every caller can rely on (polling, preview, drops, check_corpus):

- feedparser only ever sees a stream of the bytes plus the response headers.
  Given a ``str`` or ``bytes`` it would try to open it as a local path (a
  body that *is* ``/etc/passwd`` would read the file) or fetch it as a URL.
- A document that declares entities (``<!ENTITY``) is refused before any
  XML parser sees it: that closes billion-laughs, quadratic blow-up and
  external-entity (XXE) attacks in one check.
- An HTML page served instead of a feed is refused with a reason that says so.
- A bozo (ill-formed) feed keeps its entries; the reason is on ``bozo_reason``.
- Every text field is free of control characters and non-characters and
  capped in length; items per feed are capped (NEWSDESK_MAX_ITEMS_PER_POLL).
- Summaries are plain text; content is HTML cleaned by nh3 (sanitize.py);
  every URL field passes the http/https/mailto allowlist (urls.py).
- The dedupe key is the guid, else the canonical link without tracking
  parameters, else a hash of title and date.

feedparser's own sanitizer and relative-URI resolver are switched off:
nh3 is the sanitizer we trust, and the two feedparser passes re-parse every
HTML field in pure Python, costing more than the parse itself.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from feedparser.encodings import convert_to_utf8

from .fastfeed import fast_feed
from .sanitize import html_clean, html_to_text, plain_text, text_clean, text_truncate
from .urls import url_canonical, url_safe


class FeedRejected(Exception):
    """The bytes are not a feed we accept; the message says why."""


# Field caps, in characters. Generous for real feeds, small enough that one
# hostile item cannot fill the database or a page.
MAX_TITLE = 1000
MAX_SUMMARY = 10_000
MAX_CONTENT = 200_000
MAX_AUTHOR = 300
MAX_CATEGORY = 200
MAX_GUID = 2000
MAX_KEY = 255
MAX_REASON = 500


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
    updated_at: datetime | None = None
    author_url: str = ""
    enclosure_url: str = ""
    enclosure_type: str = ""
    image_url: str = ""


@dataclass
class ParsedFeed:
    title: str = ""
    link: str = ""
    language: str = ""
    items: list[ParsedItem] = field(default_factory=list)
    bozo: bool = False
    bozo_reason: str = ""
    ttl_seconds: int | None = None
    # "rss20", "atom10", "rss10", "json11"...; feedparser's version names.
    format: str = ""
    description: str = ""
    image_url: str = ""
    # Entries in the document, and how many of them were not kept (over the
    # cap, or with neither title nor text, or repeating a key).
    entries_total: int = 0
    entries_dropped: int = 0
    # WebSub discovery: the feed's hub and its own canonical URL (rel="hub", rel="self"; JSON Feed hubs).
    hub_url: str = ""
    self_url: str = ""


# --- Sniffing -----------------------------------------------------------------

_ENTITY_RE = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\xff\xfe", b"\xfe\xff")
# Skip an XML declaration, comments, processing instructions and whitespace
# to reach the first real markup.
_PROLOG_RE = re.compile(
    rb"\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>\s*)*", re.DOTALL | re.IGNORECASE
)
# Whitespace before the XML declaration (bbc, cnn, theguardian, slashdot serve a newline or
# indent first): expat refuses it, so feedparser fell back to its loose parser (bozo) or found
# no feed at all. Dropped, behind a UTF-8 byte order mark too, for ASCII-compatible encodings.
_LEADING_SPACE_RE = re.compile(rb"(\xef\xbb\xbf)?[ \t\r\n]+(?=<\?xml[ \t\r\n])")
_HTML_START_RE = re.compile(rb"<(?:html|head|body)[\s>]", re.IGNORECASE)
# Character references that feedparser turns into a crash (lone surrogates
# such as &#xD800;, code points past U+10FFFF). Candidates only: the
# callback decides.
_SUSPECT_CHARREF_RE = re.compile(
    rb"&#(?:[xX]0*([dD][89a-fA-F][0-9a-fA-F]{2}|[1-9a-fA-F][0-9a-fA-F]{5,})|0*(5[5-7][0-9]{3}|[1-9][0-9]{6,}));"
)


def _charref_fix(match: re.Match[bytes]) -> bytes:
    hex_digits, decimal = match.group(1), match.group(2)
    value = int(hex_digits, 16) if hex_digits else int(decimal)
    if 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
        return b""
    return match.group(0)


def _without_bom(body: bytes) -> bytes:
    for bom in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :]
    return body


def _declares_entities(body: bytes, headers: Mapping[str, str]) -> bool:
    """Look for ``<!ENTITY`` in the raw bytes and in the text feedparser will
    actually parse: a UTF-7, UTF-16 or EBCDIC document spells it in other bytes."""
    if _ENTITY_RE.search(body):
        return True
    try:
        as_parsed = convert_to_utf8(dict(headers), body, {})
    except Exception:  # undecodable: the parser will refuse it as well
        return False
    return as_parsed is not body and bool(_ENTITY_RE.search(as_parsed))


def _after_prolog(head: bytes) -> bytes:
    prolog = _PROLOG_RE.match(head)
    return head[prolog.end() :] if prolog else head


def _looks_like_html(head: bytes) -> bool:
    return bool(_HTML_START_RE.match(_after_prolog(head)))


# --- Field helpers ---------------------------------------------------------------


def _language(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    return text_clean(value).split("-")[0].split("_")[0].strip().lower()[:8]


def _struct_to_datetime(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, TypeError, OSError):
        return None


def _s(value: Any) -> str:
    """A string from a JSON or feedparser value of unknown type."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def dedupe_key_for(*, guid: str, link: str, title: str, published: datetime | None) -> str:
    """guid; else the canonical link (tracking parameters removed); else a hash of title and date."""
    if guid:
        key = guid
    elif link:
        key = url_canonical(link)
    else:
        stamp = published.isoformat() if published else ""
        key = "sha256:" + hashlib.sha256(f"{title}\n{stamp}".encode("utf-8", "surrogatepass")).hexdigest()
    if len(key) > MAX_KEY:
        key = "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return key


class _Normaliser:
    """Builds ParsedItems from raw field values, whatever format they came from."""

    def __init__(self, *, base_url: str, feed_language: str, limit: int) -> None:
        self.base_url = base_url
        self.feed_language = feed_language
        self.limit = limit
        self.items: list[ParsedItem] = []
        self.keys: set[str] = set()
        self.dropped = 0

    def add(
        self,
        *,
        title: str,
        title_is_html: bool,
        link: str,
        guid: str,
        summary: str,
        summary_is_html: bool,
        content: str,
        content_is_html: bool,
        content_base: str = "",
        author: str = "",
        author_url: str = "",
        category: str = "",
        language: str = "",
        published: datetime | None = None,
        updated: datetime | None = None,
        enclosure_url: str = "",
        enclosure_type: str = "",
        image_url: str = "",
    ) -> None:
        if len(self.items) >= self.limit:
            self.dropped += 1
            return
        title = text_truncate(html_to_text(title) if title_is_html else plain_text(title), MAX_TITLE)
        # Summaries are plain text whatever the feed sent.
        summary = text_truncate(html_to_text(summary) if summary_is_html else plain_text(summary), MAX_SUMMARY)
        if content:
            if not content_is_html:
                content = html.escape(content)
            # xml:base of the content element, itself relative to the document.
            base = url_safe(content_base, base=self.base_url) if content_base else self.base_url
            content = html_clean(content, base_url=base)
            if len(content) > MAX_CONTENT:
                # Truncating HTML can cut a tag; clean again to close it.
                content = html_clean(content[:MAX_CONTENT], base_url="")
            if not summary:
                summary = text_truncate(html_to_text(content), MAX_SUMMARY)
        if not title and not summary:
            self.dropped += 1
            return
        link = url_safe(link, base=self.base_url)
        guid = plain_text(guid)[:MAX_GUID]
        key = dedupe_key_for(guid=guid, link=link, title=title, published=published or updated)
        if key in self.keys:
            # A feed repeating a guid for different stories (broken CMSes do):
            # tell them apart by link and title, so neither is lost.
            key = dedupe_key_for(guid="", link="", title=f"{key}\n{link}\n{title}", published=published or updated)
            if key in self.keys:
                self.dropped += 1
                return
        self.keys.add(key)
        self.items.append(
            ParsedItem(
                dedupe_key=key,
                title=title or text_truncate(summary, 120),
                url=link,
                guid=guid,
                summary=summary,
                content=content,
                author=text_truncate(plain_text(author), MAX_AUTHOR),
                category=text_truncate(plain_text(category), MAX_CATEGORY),
                language=_language(language) or self.feed_language,
                published_at=published,
                updated_at=updated,
                author_url=url_safe(author_url, base=self.base_url),
                enclosure_url=url_safe(enclosure_url, base=self.base_url),
                enclosure_type=plain_text(enclosure_type)[:100],
                image_url=url_safe(image_url, base=self.base_url),
            )
        )


# --- feedparser path ------------------------------------------------------------------

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})


def _is_html(detail: Any) -> bool:
    if not detail:
        return True
    return detail.get("type", "text/html") in _HTML_TYPES


def _entry_image(entry: Mapping[str, Any]) -> str:
    for key in ("media_thumbnail", "media_content"):
        for media in entry.get(key) or ():
            if not isinstance(media, Mapping):
                continue
            medium = media.get("medium", "")
            mime = media.get("type", "")
            if (key == "media_thumbnail" or medium == "image" or _s(mime).startswith("image/")) and media.get("url"):
                return _s(media["url"])
    image = entry.get("image")
    if isinstance(image, Mapping):
        return _s(image.get("href", ""))
    return ""


def _entry_add(normaliser: _Normaliser, entry: Mapping[str, Any]) -> None:
    content_value = content_base = ""
    content_is_html = True
    for part in entry.get("content") or ():
        if isinstance(part, Mapping) and part.get("value"):
            content_value = _s(part["value"])
            content_base = _s(part.get("base", ""))
            content_is_html = _is_html(part)
            if content_is_html:
                break
    enclosure_url = enclosure_type = ""
    for link in entry.get("links") or ():
        if isinstance(link, Mapping) and link.get("rel") == "enclosure" and link.get("href"):
            enclosure_url = _s(link["href"])
            enclosure_type = _s(link.get("type", ""))
            break
    author_detail = entry.get("author_detail") or {}
    tags = entry.get("tags") or ()
    category = ""
    if tags and isinstance(tags[0], Mapping):
        category = _s(tags[0].get("term") or tags[0].get("label") or "")
    normaliser.add(
        title=_s(entry.get("title", "")),
        # RSS titles are "text/plain" to feedparser, yet feeds put escaped
        # markup in them all the time: strip tags from every title.
        title_is_html=True,
        link=_s(entry.get("link", "")),
        guid=_s(entry.get("id", "")),
        summary=_s(entry.get("summary", "")),
        summary_is_html=_is_html(entry.get("summary_detail")),
        content=content_value,
        content_is_html=content_is_html,
        content_base=content_base,
        author=_s(entry.get("author", "")),
        author_url=_s(author_detail.get("href", "")) if isinstance(author_detail, Mapping) else "",
        category=category,
        language=_s(entry.get("language", "")),
        published=_struct_to_datetime(entry.get("published_parsed") or entry.get("created_parsed")),
        updated=_struct_to_datetime(dict.get(entry, "updated_parsed")),  # no feedparser key fallback
        enclosure_url=enclosure_url,
        enclosure_type=enclosure_type,
        image_url=_entry_image(entry),
    )


def _bozo_reason(exception: Any) -> str:
    if exception is None:
        return "ill-formed feed"
    return text_truncate(text_clean(f"{type(exception).__name__}: {exception}"), MAX_REASON)


def _ttl_seconds(value: Any) -> int | None:
    text = _s(value).strip()
    if not text.isdigit():
        return None
    return min(int(text), 60 * 24 * 365) * 60


def _feedparser_parse(*, body: bytes, headers: Mapping[str, str]) -> tuple[Mapping[str, Any], list, str, str, bool]:
    """(feed values, entries, version, bozo reason, bozo) from feedparser."""
    try:
        parsed = feedparser.parse(
            io.BytesIO(body),
            response_headers=dict(headers),
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except RecursionError as exc:
        raise FeedRejected("nesting too deep for the feed parser") from exc
    except (MemoryError, SoftTimeLimitExceeded):
        raise  # the worker's problem, not the feed's: the caller ends its batch
    except Exception as exc:  # a parser bug must not take the worker down
        raise FeedRejected(f"the feed parser failed: {type(exc).__name__}: {exc}"[:MAX_REASON]) from exc
    entries = parsed.get("entries") or []
    version = parsed.get("version") or ""
    bozo_reason = _bozo_reason(parsed.get("bozo_exception")) if parsed.get("bozo") else ""
    if not entries and not version:
        content_type = (headers.get("content-type") or "").lower()
        if "html" in content_type and "xhtml" not in content_type:
            raise FeedRejected(f"an HTML page ({content_type}), not a feed")
        raise FeedRejected(f"not a feed: {bozo_reason or 'no RSS, Atom or JSON Feed document found'}")
    return parsed.get("feed") or {}, entries, version, bozo_reason, bool(parsed.get("bozo"))


def _xml_parse(*, body: bytes, headers: Mapping[str, str], base_url: str, limit: int, fast: bool = True) -> ParsedFeed:
    """RSS, Atom or RDF: a plain RSS 2.0 document through the fast reader (fastfeed.py), the rest,
    and any document it has doubts about, through feedparser; both give the same entry values."""
    if b"&#" in body:
        body = _SUSPECT_CHARREF_RE.sub(_charref_fix, body)
    quick = fast_feed(body=body, headers=headers) if fast else None
    if quick is not None:
        meta, entries, version = quick
        bozo_reason, bozo = "", False
    else:
        meta, entries, version, bozo_reason, bozo = _feedparser_parse(body=body, headers=headers)
    link = url_safe(_s(meta.get("link", "")), base=base_url)
    feed_language = _language(meta.get("language", ""))
    image = meta.get("image")
    normaliser = _Normaliser(base_url=base_url or link, feed_language=feed_language, limit=limit)
    for entry in entries:
        _entry_add(normaliser, entry)
    return ParsedFeed(
        title=text_truncate(html_to_text(_s(meta.get("title", ""))), MAX_TITLE),
        link=link,
        language=feed_language,
        items=normaliser.items,
        bozo=bozo,
        bozo_reason=bozo_reason,
        ttl_seconds=_ttl_seconds(meta.get("ttl")),
        format=version,
        description=text_truncate(html_to_text(_s(meta.get("subtitle", ""))), MAX_SUMMARY),
        image_url=url_safe(_s(image.get("href", "")), base=base_url) if isinstance(image, Mapping) else "",
        entries_total=len(entries),
        entries_dropped=normaliser.dropped,
        hub_url=_rel_link(meta, "hub", base_url),
        self_url=_rel_link(meta, "self", base_url),
    )


def _rel_link(meta: Mapping[str, Any], rel: str, base_url: str) -> str:
    links = meta.get("links") or ()
    href = next(
        (_s(link.get("href", "")) for link in links if isinstance(link, Mapping) and link.get("rel") == rel), ""
    )
    return url_safe(href, base=base_url) if href else ""


# --- Entry point ------------------------------------------------------------------------------


def parse_feed(
    *,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    base_url: str = "",
    max_items: int | None = None,
    fast: bool = True,
) -> ParsedFeed:
    """Parse and normalise a feed document; raise FeedRejected with a reason if it is not one we take.

    ``max_items`` defaults to NEWSDESK_MAX_ITEMS_PER_POLL (a poll stores the newest items);
    a dropped feed file passes its own larger cap so a backfill keeps every item.
    ``fast=False`` sends every XML document through feedparser (tests compare the two ways).
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError("parse_feed takes the body as bytes")
    body = bytes(body)
    headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    if not body.strip():
        raise FeedRejected("empty document")
    max_bytes = int(settings.NEWSDESK_FETCH_MAX_BYTES)
    if len(body) > max_bytes:
        raise FeedRejected(f"document of {len(body)} bytes exceeds the {max_bytes} byte cap")
    limit = int(settings.NEWSDESK_MAX_ITEMS_PER_POLL if max_items is None else max_items)
    base_url = url_safe(base_url) if base_url else ""
    head = _without_bom(body[:4096]).lstrip()
    if head.startswith((b"{", b"[")):
        from .jsonfeed import json_feed_parse  # below: it builds on this module's normaliser

        return json_feed_parse(body=_without_bom(body), base_url=base_url, limit=limit)
    if _declares_entities(body, headers):
        raise FeedRejected("the document declares XML entities (<!ENTITY); refused to prevent entity expansion attacks")
    if _looks_like_html(head):
        raise FeedRejected("an HTML page, not a feed (the site may link its feed with <link rel=alternate>)")
    leading = _LEADING_SPACE_RE.match(body)
    if leading:
        body = (leading.group(1) or b"") + body[leading.end() :]
    from .xmlformats import ROOT_RE, xml_format_parse  # below: it builds on this module's normaliser

    if ROOT_RE.match(_after_prolog(head)):
        return xml_format_parse(body=body, headers=headers, base_url=base_url, limit=limit)
    return _xml_parse(body=body, headers=headers, base_url=base_url, limit=limit, fast=fast)
