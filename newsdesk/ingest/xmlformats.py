"""Two XML news formats that are not RSS, Atom or RDF, read by hand into parse.py's normalised items.

- NewsML 1.x (``<NewsML>``: NewsEnvelope, NewsItem, NewsComponent...), the format MSN's
  ingestion takes from publishers: one item per NewsItem.
- Slashdot's "backslash" (``<backslash><story><title>, <url>, <time>...``): one item per story.

parse_feed sends a document here only when its root element is one of these two (sniffed from
the first bytes after the prolog, checked again on the parsed tree); every other document takes
the RSS/Atom path unchanged. The document is read as fastfeed.py reads RSS: parse_feed has
already refused entity declarations and HTML pages and capped the size; the bytes are decoded
by feedparser's own encoding detection, any DOCTYPE is removed before expat sees the text, so
there is no entity to expand and no DTD to fetch. Everything a caller relies on (caps,
plain-text summaries, cleaned HTML, safe URLs, dedupe keys) comes from the same normaliser.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone

from feedparser.encodings import convert_to_utf8
from feedparser.sanitizer import replace_doctype

from .parse import MAX_REASON, FeedRejected, ParsedFeed, _language, _Normaliser
from .urls import url_safe

# Root element names (after an optional prolog) that this module reads.
ROOT_RE = re.compile(rb"<(NewsML|backslash)[\s/>]")

_DTD_RE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# ISO 8601, extended or basic (NewsML 1 uses 20201220T144405+0100), with a partial offset ("+01")
# allowed; a time without offset is UTC.
_ISO_RE = re.compile(
    r"(\d{4})-?(\d{2})-?(\d{2})(?:[T ](\d{1,2}):?(\d{2})(?::?(\d{2}))?(?:[.,]\d+)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$"
)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _safe_root(*, body: bytes, headers: Mapping[str, str]) -> ET.Element:
    """The parsed document, decoded as feedparser would and without any DTD; FeedRejected if ill-formed."""
    result: dict = {}
    data = convert_to_utf8(dict(headers), body, result)
    if not result.get("encoding"):
        raise FeedRejected("not a feed: the document's character encoding cannot be read")
    _version, data, entities = replace_doctype(data)
    if entities or _DTD_RE.search(data):
        raise FeedRejected("the document declares XML entities (<!ENTITY); refused to prevent entity expansion attacks")
    try:
        # No DTD is left in ``data``: expat has no entity to expand and nothing external to load.
        return ET.fromstring(data)  # noqa: S314
    except RecursionError as exc:
        raise FeedRejected("nesting too deep for the feed parser") from exc
    except (ET.ParseError, ValueError) as exc:
        raise FeedRejected(f"not a feed: ill-formed XML: {exc}"[:MAX_REASON]) from exc


def _iso_datetime(value: str) -> datetime | None:
    match = _ISO_RE.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, offset = match.groups()
    tz = UTC
    if offset and offset != "Z":
        digits = offset[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0)
        if minutes >= 24 * 60:
            return None
        tz = timezone(timedelta(minutes=minutes if offset[0] == "+" else -minutes))
    try:
        stamp = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=tz)
        return stamp.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _text(element: ET.Element | None) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


def _index(root: ET.Element) -> dict[str, ET.Element]:
    """The first descendant (document order) of each local name, in one pass over the subtree."""
    index: dict[str, ET.Element] = {}
    for element in root.iter():
        if element is not root:
            index.setdefault(_local(element.tag), element)
    return index


def _first_text(index: Mapping[str, ET.Element], *names: str) -> str:
    for name in names:
        text = _text(index.get(name))
        if text:
            return text
    return ""


def _content_text(element: ET.Element) -> Iterator[str]:
    """The text of a DataContent, leaving out embedded media (captions, rights notes)."""
    if _local(element.tag) == "media":
        return
    if element.text:
        yield element.text
    for child in element:
        yield from _content_text(child)
        if child.tail:
            yield child.tail


# --- NewsML 1.x ---------------------------------------------------------------------------------


def _newsml_guid(index: Mapping[str, ET.Element], link: str) -> str:
    public = _first_text(index, "PublicIdentifier")
    if public:
        return public
    item_id = _first_text(index, "NewsItemId")
    if item_id:
        parts = (_first_text(index, "ProviderId"), _first_text(index, "DateId"), item_id)
        return ":".join(part for part in parts if part)
    return link  # ProviderId alone names the publisher, not the item


def _newsml_language(item: ET.Element, index: Mapping[str, ET.Element]) -> str:
    language = index.get("Language")
    if language is not None and language.get("FormalName"):
        return language.get("FormalName", "")
    for element in item.iter():
        if element.get(_XML_LANG):
            return element.get(_XML_LANG, "")
    return ""


def _newsml_image(item: ET.Element) -> str:
    for element in item.iter():
        if _local(element.tag) == "media-reference" and element.get("mime-type", "").startswith("image/"):
            return element.get("source", "")
    return ""


def _newsml(root: ET.Element, *, base_url: str, limit: int) -> ParsedFeed:
    feed_language = _language(root.get(_XML_LANG, ""))
    service = next((e for e in root.iter() if _local(e.tag) == "NewsService"), None)
    link = url_safe(service.get("link-url", ""), base=base_url) if service is not None else ""
    normaliser = _Normaliser(base_url=base_url or link, feed_language=feed_language, limit=limit)
    items = [element for element in root.iter() if _local(element.tag) == "NewsItem"]
    for item in items:
        index = _index(item)
        item_link = _first_text(index, "DeriveredFrom", "DerivedFrom")
        body = "".join(
            "".join(_content_text(data)) for data in item.iter() if _local(data.tag) == "DataContent"
        ).strip()
        normaliser.add(
            title=_first_text(index, "HeadLine", "shortTitle"),
            title_is_html=True,
            link=item_link,
            guid=_newsml_guid(index, item_link),
            summary=_first_text(index, "Description", "SubHeadLine"),
            summary_is_html=True,
            content=body,
            content_is_html=True,
            author=_first_text(index, "ByLine", "Author"),
            language=_newsml_language(item, index),
            published=_iso_datetime(_first_text(index, "FirstCreated", "DateLine")),
            updated=_iso_datetime(_first_text(index, "ThisRevisionCreated")),
            image_url=_newsml_image(item),
        )
    return ParsedFeed(
        link=link,
        language=feed_language,
        items=normaliser.items,
        format="newsml",
        entries_total=len(items),
        entries_dropped=normaliser.dropped,
    )


# --- Slashdot backslash -------------------------------------------------------------------------


def _backslash(root: ET.Element, *, base_url: str, limit: int) -> ParsedFeed:
    normaliser = _Normaliser(base_url=base_url, feed_language="", limit=limit)
    stories = [element for element in root if _local(element.tag) == "story"]
    for story in stories:
        fields = {_local(child.tag): _text(child) for child in reversed(story)}  # the first of a repeated field
        topic = fields.get("topic", "")
        normaliser.add(
            title=fields.get("title", ""),
            title_is_html=True,
            link=fields.get("url", ""),
            guid="",
            summary="",
            summary_is_html=False,
            content="",
            content_is_html=False,
            author=fields.get("author", ""),
            # The topic is a number in Slashdot's own feed; the section ("news", "games") names it.
            category=topic if topic and not topic.isdigit() else fields.get("section", ""),
            published=_iso_datetime(fields.get("time", "")),  # "YYYY-MM-DD HH:MM:SS", UTC
        )
    return ParsedFeed(
        items=normaliser.items,
        format="backslash",
        entries_total=len(stories),
        entries_dropped=normaliser.dropped,
    )


def xml_format_parse(*, body: bytes, headers: Mapping[str, str], base_url: str, limit: int) -> ParsedFeed:
    """A NewsML or backslash document through parse.py's normaliser; FeedRejected when it is neither."""
    root = _safe_root(body=body, headers=headers)
    name = _local(root.tag)
    try:
        if name == "NewsML":
            return _newsml(root, base_url=base_url, limit=limit)
        if name == "backslash":
            return _backslash(root, base_url=base_url, limit=limit)
    except RecursionError as exc:
        raise FeedRejected("nesting too deep for the feed parser") from exc
    raise FeedRejected("not a feed: no RSS, Atom, JSON Feed, NewsML or backslash document found")
