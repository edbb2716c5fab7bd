"""A fast reader for plain, well-formed RSS 2.0 feeds: the same entry values as feedparser, or None.

feedparser walks every element and every run of text through Python-level SAX
callbacks; on a typical 50-item news feed that is most of a poll's CPU. This
module reads the document with ElementTree (expat in C, like feedparser's
strict parser) and builds the few entry values that parse.py's normaliser
reads, as feedparser would have given them: the same text clean-ups (strip,
its UTF-8-read-as-Latin-1 repair, its Windows-1252 mapping), the same date
parser, the same guid-as-link rule and link repairs.

It answers only for documents it fully understands and returns None for
anything else, and parse.py then asks feedparser:

- the bytes as feedparser would see them: its own encoding detection
  (``convert_to_utf8``) and DOCTYPE handling (``replace_doctype``) are called,
  and any doubt they raise (a bozo flag, a Netscape DOCTYPE, entities) is a no;
- ``<rss version="2.x">`` with one ``<channel>``; no ``xml:base``/``xml:lang``,
  no Content-Location header (feedparser would resolve links against them);
- every element of the channel and its items is one this module knows,
  either read (title, link, description, guid, pubDate, category, enclosure,
  author, content:encoded, dc:creator, dc:date, media:thumbnail,
  media:content...) or known to leave those values alone (comments,
  feedburner:origLink, wfw:commentRss...); a read element appears at most
  once per item, without attributes it does not expect and without child
  elements (unescaped markup).

``tests/test_fastfeed.py`` holds it to feedparser over the whole feed corpus
and over crafted edge cases. Hostile input never reaches it unchecked:
parse.py refuses entity declarations and HTML pages before either parser runs.
"""

from __future__ import annotations

import contextlib
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from feedparser.datetimes import _parse_date
from feedparser.encodings import convert_to_utf8
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin as _Mixin
from feedparser.sanitizer import replace_doctype
from feedparser.urls import _urljoin

log = logging.getLogger(__name__)

_ATOM = "{http://www.w3.org/2005/Atom}"

_PREFIXES = {
    "http://purl.org/rss/1.0/modules/content/": "content:",
    "http://purl.org/dc/elements/1.1/": "dc:",
    "http://purl.org/dc/terms/": "dcterms:",
    "http://www.w3.org/2005/Atom": "atom:",
    "http://search.yahoo.com/mrss/": "media:",
    "http://search.yahoo.com/mrss": "media:",
}
_DATES = {
    "pubDate": "published_parsed",
    "dcterms:issued": "published_parsed",
    "dc:date": "updated_parsed",
    "dcterms:modified": "updated_parsed",
    "dcterms:created": "created_parsed",
}
_CATEGORY_ATTRS = {"category": {"domain"}, "dc:subject": set(), "media:category": {"scheme", "label"}}
_MEDIA_CHILDREN = frozenset(
    {"media:title", "media:description", "media:credit", "media:thumbnail", "media:keywords", "media:category"}
)
_GROUP_CHILDREN = _MEDIA_CHILDREN | {"media:content"}
# Item children that set nothing the normaliser reads.
_ITEM_IGNORED = frozenset(
    {
        "comments",
        "media:credit",
        "{http://rssnamespace.org/feedburner/ext/1.0}origLink",
        "{http://wellformedweb.org/CommentAPI/}commentRss",
        "{http://purl.org/rss/1.0/modules/slash/}comments",
        "{com-wordpress:feed-additions:1}post-id",
    }
)
# Channel children that set nothing we read (the feed's own dates, rights, generator...).
_CHANNEL_IGNORED = frozenset(
    {
        "lastBuildDate",
        "pubDate",
        "copyright",
        "generator",
        "webMaster",
        "managingEditor",
        "docs",
        "category",
        "cloud",
        "{http://purl.org/rss/1.0/modules/syndication/}updatePeriod",
        "{http://purl.org/rss/1.0/modules/syndication/}updateFrequency",
        "{http://purl.org/rss/1.0/modules/syndication/}updateBase",
    }
)
_CHANNEL_TEXT = frozenset({"title", "link", "description", "language", "ttl"})
_IMAGE_CHILDREN = frozenset({"title", "link", "url", "width", "height", "description"})
_LINK_ENTITY_RE = re.compile("&([A-Za-z0-9_]+);")
_XML_ATTRS_RE = re.compile(rb"xml:(?:base|lang)\b")
_DTD_RE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


class _Doubt(Exception):
    """Something this reader does not model: feedparser decides."""


def _text(value: str | None, *, uri: bool = False) -> str:
    """A text value as feedparser's ``pop`` leaves it."""
    output = (value or "").strip()
    if uri and output:
        output = _urljoin("", output)
    # feedparser's repair of UTF-8 text that was decoded as Latin-1.
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        output = output.encode("iso-8859-1").decode("utf-8")
    return output.translate(_cp1252)


def _leaf(element: ET.Element, allowed_attrs: frozenset[str] = frozenset()) -> str | None:
    if len(element) or any(name not in allowed_attrs for name in element.attrib):
        raise _Doubt(element.tag)
    return element.text


def _attrs(element: ET.Element) -> dict[str, str]:
    """Attributes as feedparser passes them to its handlers (names lower-cased, rel/type values too)."""
    out = {}
    for name, value in element.attrib.items():
        if name.startswith("{"):
            raise _Doubt(name)
        name = name.lower()
        out[name] = value.lower() if name in ("rel", "type") else value
    return out


def _tag_add(tags: list[dict[str, Any]], term: Any, scheme: Any, label: Any) -> None:
    if not term and not scheme and not label:
        return
    value = {"term": term, "scheme": scheme, "label": label}
    if value not in tags:
        tags.append(value)


def _media_attrs(element: ET.Element, *, children: frozenset[str]) -> dict[str, str]:
    for child in element:
        if child.tag not in children or len(child):
            raise _Doubt(child.tag)
    return _attrs(element)


def _name(tag: str) -> str:
    """``{uri}local`` as ``prefix:local`` for the namespaces this module reads."""
    if tag[:1] != "{":
        return tag
    uri, _, local = tag[1:].partition("}")
    prefix = _PREFIXES.get(uri)
    return prefix + local if prefix else tag


def _text_type(element: ET.Element, default: str) -> tuple[str, str]:
    """(text, content type) of a title or description-like element, as feedparser's push_content/pop set them."""
    attrs = _attrs(element)
    if len(element) or set(attrs) - {"type"}:
        raise _Doubt(element.tag)
    kind = _Mixin.map_content_type(attrs.get("type", default))
    if kind not in ("text/plain", "text/html"):
        raise _Doubt(f"{element.tag} type {kind}")
    value = _text(element.text)
    if kind == "text/plain" and _Mixin.looks_like_html(value):
        kind = "text/html"
    return value, kind


class _Item:
    """One item's entry values, element by element in document order, with feedparser's rules:
    a value stored at one depth is replaced only from the same depth or shallower; the first
    non-empty item title wins over media titles; a second description becomes content."""

    def __init__(self) -> None:
        self.entry: dict[str, Any] = {"tags": [], "links": []}
        self.depths: dict[str, int] = {}
        self.title_depth = -1
        self.has_content = False

    def store(self, key: str, value: Any, depth: int) -> None:
        old = self.depths.get(key)
        if old is None or depth <= old:
            self.depths[key] = depth
            self.entry[key] = value

    def walk(self, element: ET.Element, depth: int, allowed: frozenset[str] | None = None) -> None:
        for child in element:
            name = _name(child.tag)
            if allowed is not None and name not in allowed:
                raise _Doubt(name)
            self.read(child, name, depth)

    def read(self, element: ET.Element, name: str, depth: int) -> None:
        entry = self.entry
        if name in ("title", "media:title"):
            value, _ = _text_type(element, "text/plain")
            if not -1 < self.title_depth <= depth:
                self.store("title", value, depth)
            if name == "title" and value:
                self.title_depth = depth
        elif name in ("description", "media:description"):
            if "summary" in entry and not self.has_content:
                self.has_content = True
                value, kind = _text_type(element, "text/plain")
                entry.setdefault("content", []).append({"type": kind, "value": value, "base": ""})
            else:
                value, kind = _text_type(element, "text/html")
                self.store("summary", value, depth)
                entry["summary_detail"] = {"type": kind}
        elif name == "content:encoded":
            self.has_content = True
            value = _text(_leaf(element))
            entry.setdefault("content", []).append({"type": "text/html", "value": value, "base": ""})
            entry.setdefault("summary", value)  # feedparser copies HTML content to a summary not given (yet)
        elif name == "link":
            entry["links"].append({"rel": "alternate", "type": "text/html"})
            value = _LINK_ENTITY_RE.sub(r"&\g<1>", _text(_leaf(element), uri=True).replace("&amp;", "&"))
            entry["link"] = value
            if value:
                entry["links"][-1]["href"] = value
        elif name == "atom:link":
            attrs = _media_attrs(element, children=frozenset())
            rel = attrs.setdefault("rel", "alternate")
            kind = attrs.setdefault("type", "application/atom+xml" if rel == "self" else "text/html")
            href = _href(attrs)
            if not href:
                raise _Doubt("atom:link without href")
            attrs["href"] = _urljoin("", href)
            entry["links"].append(attrs)
            if rel == "alternate" and _Mixin.map_content_type(kind) in _Mixin.html_types:
                entry["link"] = attrs["href"]
        elif name == "guid":
            is_link = element.attrib.get("isPermaLink", "true") == "true"
            value = _text(_leaf(element, frozenset({"isPermaLink"})), uri=is_link)
            self.store("id", value, depth)
            if is_link:
                entry.setdefault("link", value)
        elif name in _DATES:
            entry[_DATES[name]] = _parse_date(_text(_leaf(element)))
        elif name in ("author", "dc:creator"):
            self.store("author", _text(_leaf(element)), depth)
        elif name in _CATEGORY_ATTRS:
            attrs = _attrs(element)
            if len(element) or set(attrs) - _CATEGORY_ATTRS[name]:
                raise _Doubt(name)
            if name == "media:category":
                attrs.setdefault("scheme", "http://search.yahoo.com/mrss/category_schema")
            tags = entry["tags"]
            _tag_add(tags, attrs.get("term"), attrs.get("scheme", attrs.get("domain")), attrs.get("label"))
            value = _text(element.text)
            if value:
                if tags and not tags[-1]["term"]:
                    tags[-1]["term"] = value
                else:
                    _tag_add(tags, value, None, None)
        elif name == "media:keywords":
            for term in _text(_leaf(element)).split(","):
                if term.strip():
                    _tag_add(entry["tags"], term.strip(), None, None)
        elif name == "enclosure":
            attrs = _media_attrs(element, children=frozenset())
            href = _href(attrs)
            if href:
                attrs["href"] = href
            attrs["rel"] = "enclosure"
            entry["links"].append(attrs)
        elif name == "media:thumbnail":
            attrs = _media_attrs(element, children=frozenset())
            url = _text(element.text, uri=True)
            if url and "url" not in attrs:
                attrs["url"] = url
            entry.setdefault("media_thumbnail", []).append(attrs)
        elif name == "media:content":
            entry.setdefault("media_content", []).append(_attrs(element))
            self.walk(element, depth + 1, _MEDIA_CHILDREN)
        elif name == "media:group":
            self.walk(element, depth + 1, _GROUP_CHILDREN)
        elif name in _ITEM_IGNORED and not len(element):
            return
        else:
            raise _Doubt(name)


def _href(attrs: dict[str, str]) -> str | None:
    """feedparser's _enforce_href: url, uri or href, the first two removed when one is found."""
    href = attrs.get("url", attrs.get("uri", attrs.get("href")))
    if href:
        attrs.pop("url", None)
        attrs.pop("uri", None)
    return href


def _item(element: ET.Element) -> dict[str, Any]:
    item = _Item()
    item.walk(element, 4)
    return item.entry


def _channel(channel: ET.Element, meta: dict[str, Any]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for child in channel:
        tag = child.tag
        if tag == "item":
            if child.attrib:
                raise _Doubt("item attributes")
            entries.append(_item(child))
        elif tag in _CHANNEL_TEXT:
            if tag in seen:
                raise _Doubt(f"channel {tag} twice")
            seen.add(tag)
            value = _text(_leaf(child), uri=tag == "link")
            if tag == "link":
                value = _LINK_ENTITY_RE.sub(r"&\g<1>", value)
            meta["subtitle" if tag == "description" else tag] = value
        elif tag == "image":
            if "image" in seen or child.attrib:
                raise _Doubt("image")
            seen.add("image")
            image: dict[str, str] = {}
            for part in child:
                if part.tag not in _IMAGE_CHILDREN or part.tag in image:
                    raise _Doubt(f"image {part.tag}")
                image[part.tag] = _text(_leaf(part), uri=part.tag in ("url", "link"))
            meta["image"] = {"href": image["url"]} if "url" in image else {}
        elif tag == _ATOM + "link":
            # feedparser takes an alternate (the default rel) link, or one without href, as the feed's link.
            attrs = _media_attrs(child, children=frozenset())
            rel = attrs.setdefault("rel", "alternate")
            if not attrs.get("href") or rel == "alternate" or "url" in attrs or "uri" in attrs:
                raise _Doubt("atom:link")
            attrs["href"] = _urljoin("", attrs["href"])
            meta.setdefault("links", []).append(attrs)  # rel="self" and rel="hub": WebSub discovery
        elif tag not in _CHANNEL_IGNORED or len(child):
            raise _Doubt(tag)
    return entries


def fast_feed(*, body: bytes, headers: Mapping[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]], str] | None:
    """(feed values, entries, version) as feedparser gives them for a plain RSS 2.0 document, else None.

    ``headers`` are the response headers with lower-cased names. A bug here never fails a
    feed: it is logged and feedparser reads the document.
    """
    try:
        return _fast_feed(body=body, headers=headers)
    except (MemoryError, SoftTimeLimitExceeded):
        raise
    except Exception:
        log.exception("event=fast_feed_failed bytes=%d", len(body))
        return None


def _fast_feed(*, body: bytes, headers: Mapping[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]], str] | None:
    if headers.get("content-location"):
        return None
    result: dict[str, Any] = {}
    data = convert_to_utf8(dict(headers), body, result)
    if result.get("bozo") or not result.get("encoding") or _XML_ATTRS_RE.search(data):
        return None
    version, data, entities = replace_doctype(data)
    if version or entities or _DTD_RE.search(data):
        return None
    try:
        # No DTD is left in ``data``, so expat has no entity to expand and nothing external to load.
        root = ET.fromstring(data)  # noqa: S314
    except (ET.ParseError, ValueError):
        return None
    if root.tag != "rss" or not root.attrib.get("version", "").startswith("2.") or len(root) != 1:
        return None
    channel = root[0]
    if channel.tag != "channel" or channel.attrib:
        return None
    meta: dict[str, Any] = {}
    language = headers.get("content-language")
    if language:
        meta["language"] = language.replace("_", "-")
    try:
        entries = _channel(channel, meta)
    except _Doubt:
        return None
    return meta, entries, "rss20"
